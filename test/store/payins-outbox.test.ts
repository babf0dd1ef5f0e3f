import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dlqCommand } from '../../src/cli/dlq.ts';
import { listDeadLetters } from '../../src/jobs/dead-letters.ts';
import {
  DEFAULT_OUTBOX_MAX_ATTEMPTS,
  OUTBOX_DEAD_LETTER_QUEUE,
  OUTBOX_RETRY_POLICY,
  outboxRetryPolicy,
  publishOutbox,
  retrySpanMs,
  type OutboxMessage,
} from '../../src/payins/outbox.ts';
import { createWebhookSink } from '../../src/payins/webhook-sink.ts';
import { verifySignature } from '../../src/webhooks/signature.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const SECRET = 'whsec_outbox_test_secret';

interface Received {
  body: string;
  signature: string;
}

/** A marketplace endpoint that records what it gets and answers with the statuses it is told to. */
function startReceiver() {
  const received: Received[] = [];
  const statuses: number[] = [];
  let holdMs = 0;
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      received.push({ body, signature: String(request.headers['bursar-signature'] ?? '') });
      const status = statuses.shift() ?? 200;
      setTimeout(() => response.writeHead(status).end(), holdMs);
    });
  });
  return {
    received,
    failNext: (...codes: number[]) => statuses.push(...codes),
    hold: (ms: number) => {
      holdMs = ms;
    },
    listen: () =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () =>
          resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`),
        ),
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let db: TestDatabase;
const receiver = startReceiver();
let url = '';

beforeAll(async () => {
  db = await createTestDatabase();
  url = await receiver.listen();
});
afterAll(async () => {
  await receiver.close();
  await db.drop();
});
beforeEach(async () => {
  receiver.received.length = 0;
  receiver.hold(0);
  await db.pool.query(
    'UPDATE payins.outbox SET published_at = now() WHERE published_at IS NULL AND dead_lettered_at IS NULL',
  );
});

async function enqueue(topic: string, payload: Record<string, unknown>): Promise<bigint> {
  const row = await db.pool.query<{ id: bigint }>(
    'INSERT INTO payins.outbox (topic, payload) VALUES ($1, $2) RETURNING id',
    [topic, JSON.stringify(payload)],
  );
  const id = row.rows[0]?.id;
  if (id === undefined) throw new Error('no outbox row');
  return id;
}

describe('outgoing webhooks from the outbox', () => {
  it('delivers each message once, signed so the marketplace can verify it, and marks it published', async () => {
    const id = await enqueue('payment_order.succeeded', { payment_order_id: 'po_1', amount: '12.34' });
    const sink = createWebhookSink({ url, secret: SECRET, timeoutMs: 5000 });
    expect(await publishOutbox(db.pool, sink)).toEqual({ delivered: 1, failed: 0 });
    expect(receiver.received).toHaveLength(1);
    const [got] = receiver.received;
    expect(
      verifySignature(got?.body ?? '', got?.signature ?? '', SECRET, Math.floor(Date.now() / 1000)),
    ).toBe(true);
    expect(
      verifySignature(got?.body ?? '', got?.signature ?? '', 'whsec_other', Math.floor(Date.now() / 1000)),
    ).toBe(false);
    expect(JSON.parse(got?.body ?? '{}')).toMatchObject({
      id: `evt_${id.toString()}`,
      type: 'payment_order.succeeded',
      data: { payment_order_id: 'po_1', amount: '12.34' },
    });
    expect(await publishOutbox(db.pool, sink)).toEqual({ delivered: 0, failed: 0 });
    expect(receiver.received).toHaveLength(1);
  });

  it('retries a failed delivery after a backoff, with the same event id, until the endpoint takes it', async () => {
    const id = await enqueue('payment_order.failed', { payment_order_id: 'po_2' });
    const sink = createWebhookSink({ url, secret: SECRET, timeoutMs: 5000 });
    receiver.failNext(500);
    expect(await publishOutbox(db.pool, sink)).toEqual({ delivered: 0, failed: 1 });
    const row = await db.pool.query<{ attempts: number; due_in_ms: number; last_error: string }>(
      `SELECT attempts, (extract(epoch FROM next_attempt_at - now()) * 1000)::int AS due_in_ms, last_error
         FROM payins.outbox WHERE id = $1`,
      [id],
    );
    expect(row.rows[0]?.attempts).toBe(1);
    expect(row.rows[0]?.due_in_ms).toBeGreaterThan(0);
    expect(row.rows[0]?.last_error).toContain('500');
    // Not due yet: nothing is sent again.
    expect(await publishOutbox(db.pool, sink)).toEqual({ delivered: 0, failed: 0 });
    await db.pool.query('UPDATE payins.outbox SET next_attempt_at = now() WHERE id = $1', [id]);
    expect(await publishOutbox(db.pool, sink)).toEqual({ delivered: 1, failed: 0 });
    const ids = receiver.received.map((r) => (JSON.parse(r.body) as { id: string }).id);
    expect(ids).toEqual([`evt_${id.toString()}`, `evt_${id.toString()}`]);
  });

  it('a refused connection is a failed delivery, not an error of the publisher', async () => {
    await enqueue('payment_order.succeeded', { payment_order_id: 'po_3' });
    const sink = createWebhookSink({ url: 'http://127.0.0.1:9/none', secret: SECRET, timeoutMs: 2000 });
    expect(await publishOutbox(db.pool, sink)).toEqual({ delivered: 0, failed: 1 });
  });

  it('two publishers at once deliver every message exactly once between them', async () => {
    for (let i = 0; i < 10; i++) await enqueue('payment_order.succeeded', { payment_order_id: `po_c${i}` });
    receiver.hold(20);
    const sink = createWebhookSink({ url, secret: SECRET, timeoutMs: 5000 });
    const [a, b] = await Promise.all([publishOutbox(db.pool, sink), publishOutbox(db.pool, sink)]);
    expect((a?.delivered ?? 0) + (b?.delivered ?? 0)).toBe(10);
    const ids = receiver.received.map((r) => (JSON.parse(r.body) as { id: string }).id);
    expect(new Set(ids).size).toBe(10);
    expect(ids).toHaveLength(10);
  });
});

/** Makes every waiting message due now, as if its backoff had passed (no sleeping in tests). */
async function makeDue(): Promise<void> {
  await db.pool.query('UPDATE payins.outbox SET next_attempt_at = now() WHERE published_at IS NULL');
}

describe('bounded delivery: the dead letter at the end', () => {
  it('gives up after BURSAR_WEBHOOK_MAX_ATTEMPTS, by default about three days of backoff', () => {
    expect(OUTBOX_RETRY_POLICY.maxAttempts).toBe(DEFAULT_OUTBOX_MAX_ATTEMPTS);
    expect(OUTBOX_RETRY_POLICY.maxAttempts).toBeLessThan(Number.MAX_SAFE_INTEGER);
    const days = retrySpanMs(OUTBOX_RETRY_POLICY) / 86_400_000;
    expect(days).toBeGreaterThan(2.75);
    expect(days).toBeLessThan(3.25);
    expect(outboxRetryPolicy({ BURSAR_WEBHOOK_MAX_ATTEMPTS: '5' }).maxAttempts).toBe(5);
    expect(outboxRetryPolicy({}).maxAttempts).toBe(DEFAULT_OUTBOX_MAX_ATTEMPTS);
    expect(() => outboxRetryPolicy({ BURSAR_WEBHOOK_MAX_ATTEMPTS: '0' })).toThrow(
      /BURSAR_WEBHOOK_MAX_ATTEMPTS/,
    );
    expect(() => outboxRetryPolicy({ BURSAR_WEBHOOK_MAX_ATTEMPTS: 'lots' })).toThrow(
      /BURSAR_WEBHOOK_MAX_ATTEMPTS/,
    );
  });

  it('an endpoint that always fails ends in the dead-letter queue after N attempts; replaying it delivers it', async () => {
    const retry = { ...OUTBOX_RETRY_POLICY, maxAttempts: 3 };
    const id = await enqueue('payment_order.failed', { payment_order_id: 'po_dead' });
    const sink = createWebhookSink({ url, secret: SECRET, timeoutMs: 5000 });
    const dead: string[] = [];
    receiver.failNext(500, 500, 500);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const result = await publishOutbox(db.pool, sink, {
        retry,
        onDeadLetter: (letter) => dead.push(letter.subject),
      });
      expect(result.failed).toBe(1);
      await makeDue();
    }
    expect(dead).toEqual([id.toString()]);
    expect(receiver.received).toHaveLength(3);
    // Dead: no publisher takes it again, however long one waits.
    expect(await publishOutbox(db.pool, sink, { retry })).toEqual({ delivered: 0, failed: 0 });
    const letters = (await listDeadLetters(db.pool)).filter(
      (letter) => letter.queue === OUTBOX_DEAD_LETTER_QUEUE,
    );
    expect(letters).toHaveLength(1);
    const [letter] = letters;
    expect(letter).toMatchObject({ subject: id.toString(), attempts: 3 });
    expect(letter?.reason).toContain('answered 500');

    const lines: string[] = [];
    expect(await dlqCommand(['replay', letter?.id ?? ''], db, (line) => lines.push(line))).toBe(0);
    expect(lines).toEqual([`replayed ${letter?.id ?? ''} (${OUTBOX_DEAD_LETTER_QUEUE} ${id.toString()})`]);
    expect(await publishOutbox(db.pool, sink, { retry })).toEqual({ delivered: 1, failed: 0 });
    expect(receiver.received).toHaveLength(4);
    const row = await db.pool.query<{ published_at: Date | null; dead_lettered_at: Date | null }>(
      'SELECT published_at, dead_lettered_at FROM payins.outbox WHERE id = $1',
      [id],
    );
    expect(row.rows[0]?.published_at).not.toBeNull();
    expect(row.rows[0]?.dead_lettered_at).toBeNull();
  });

  it('one poisoned message (its sink throws, even a non-Error) never keeps the others from being delivered', async () => {
    const first = await enqueue('payment_order.succeeded', { payment_order_id: 'po_ok_1' });
    const poison = await enqueue('payment_order.succeeded', { payment_order_id: 'po_poison' });
    const last = await enqueue('payment_order.succeeded', { payment_order_id: 'po_ok_2' });
    const delivered: bigint[] = [];
    const sink = async (message: OutboxMessage) => {
      if (message.id === poison) throw 'not even an Error';
      delivered.push(message.id);
    };
    const retry = { ...OUTBOX_RETRY_POLICY, maxAttempts: 2 };
    expect(await publishOutbox(db.pool, sink, { retry })).toEqual({ delivered: 2, failed: 1 });
    expect(delivered).toEqual([first, last]);
    await makeDue();
    expect(await publishOutbox(db.pool, sink, { retry })).toEqual({
      delivered: 0,
      failed: 1,
      deadLettered: 1,
    });
    const letter = (await listDeadLetters(db.pool)).find((l) => l.subject === poison.toString());
    expect(letter?.reason).toContain('not even an Error');
  });
});
