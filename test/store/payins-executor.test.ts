import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPLAY_HOOKS } from '../../src/cli/dlq.ts';
import { listDeadLetters, replayDeadLetter } from '../../src/jobs/dead-letters.ts';
import { getBalances, verifyLedger } from '../../src/ledger/service.ts';
import { executeOrder } from '../../src/payins/executor.ts';
import { pollOnce } from '../../src/payins/poller.ts';
import { processPspEvent, recordPspEvent } from '../../src/payins/psp-events.ts';
import type { PayinsRuntime } from '../../src/payins/runtime.ts';
import { getHistory, getOrder } from '../../src/payins/store.ts';
import { sweepOnce } from '../../src/payins/sweeper.ts';
import type { TestApp } from '../support/app.ts';
import { createPayinsTestApp } from '../support/payins-app.ts';
import { FakePsp } from '../support/payins-fake-psp.ts';
import { bearer, registerSellers, savedMethodBody, uid } from '../support/payins.ts';
import { SwitchPsp } from '../support/switch-psp.ts';
import { NO_JOBS } from '../support/jobs.ts';

let t: TestApp;
let psp: FakePsp;
let switchable: SwitchPsp;
let runtime: PayinsRuntime;

const RETRY = { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 1_000, jitterRatio: 0.5 };

beforeAll(async () => {
  psp = new FakePsp();
  switchable = new SwitchPsp(psp);
  t = await createPayinsTestApp({
    psp: switchable,
    payins: { retry: RETRY },
    platformFee: { basisPoints: 250n, fixedMinor: 0n },
  });
  runtime = t.modules.payins.runtime;
  await registerSellers(t.db.pool, ['s_one', 's_two']);
});

afterAll(async () => {
  await t.close();
});

async function createCheckout(body: Record<string, unknown>): Promise<string[]> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/v1/payments',
    headers: { ...bearer(t.key), 'idempotency-key': uid('idem') },
    payload: body,
  });
  expect(response.statusCode).toBe(201);
  return (response.json() as { payment_orders: Array<{ payment_order_id: string }> }).payment_orders.map(
    (o) => o.payment_order_id,
  );
}

async function entriesFor(orderId: string): Promise<number> {
  const result = await t.db.pool.query(`SELECT 1 FROM ledger.entries WHERE reference = $1`, [
    `payin:${orderId}:succeeded`,
  ]);
  return result.rowCount ?? 0;
}

/** Whether the order is in the executor's queue, and for how long after the statement that queued it. */
async function queueOf(orderId: string): Promise<{ queued: boolean; inMs: number | null }> {
  const row = await t.db.pool.query<{ queued: boolean; in_ms: number | null }>(
    `SELECT execute_at IS NOT NULL AS queued,
            round(extract(epoch FROM execute_at - updated_at) * 1000)::float8 AS in_ms
       FROM payins.payment_order WHERE payment_order_id = $1`,
    [orderId],
  );
  return { queued: row.rows[0]?.queued ?? false, inMs: row.rows[0]?.in_ms ?? null };
}

describe('payment executor (saved method)', () => {
  it('charges once and commits SUCCESS, the ledger entry, the ledger/wallet flags, history and outbox together', async () => {
    const [a, b] = await createCheckout(savedMethodBody(['s_one', 's_two'], { amount: '100.00' }));
    expect(await executeOrder(runtime, a ?? '')).toEqual({ outcome: 'settled', status: 'SUCCESS' });
    const order = await getOrder(t.db.pool, a ?? '');
    expect(order).toMatchObject({
      status: 'SUCCESS',
      ledgerUpdated: true,
      walletUpdated: true,
      feeMinor: 250n,
      attempts: 1,
    });
    expect(await entriesFor(a ?? '')).toBe(1);
    const balances = await getBalances(t.db.pool, ['seller:s_one:pending:USD', 'platform:fee_revenue:USD']);
    expect(balances.get('seller:s_one:pending:USD')?.balanceMinor).toBe(9750n);
    expect(balances.get('platform:fee_revenue:USD')?.balanceMinor).toBe(250n);
    expect((await getHistory(t.db.pool, a ?? '')).map((h) => h.to)).toEqual([
      'NOT_STARTED',
      'EXECUTING',
      'SUCCESS',
    ]);
    // The checkout is not done until its second order is final.
    const done = async () =>
      (
        await t.db.pool.query<{ d: boolean }>(
          'SELECT is_payment_done AS d FROM payins.payment_event WHERE checkout_id = $1',
          [order?.checkoutId],
        )
      ).rows[0]?.d;
    expect(await done()).toBe(false);
    await executeOrder(runtime, b ?? '');
    expect(await done()).toBe(true);
    const outbox = await t.db.pool.query<{ topic: string }>(
      `SELECT type AS topic FROM events.events WHERE data->'object'->>'checkout_id' = $1 ORDER BY seq`,
      [order?.checkoutId],
    );
    expect(outbox.rows.map((r) => r.topic)).toEqual([
      'payment_order.executing',
      'payment_order.succeeded',
      'payment_order.executing',
      'payment_order.succeeded',
      'checkout.completed',
    ]);
    // Running the job again changes nothing and charges nothing.
    const calls = psp.chargeCalls;
    expect((await executeOrder(runtime, a ?? '')).outcome).toBe('skipped');
    expect(psp.chargeCalls).toBe(calls);
  });

  it('fails a hard decline with the decline code and does not retry', async () => {
    const [id] = await createCheckout(savedMethodBody(['s_one']));
    psp.script({ decline: 'insufficient_funds' });
    const calls = psp.chargeCalls;
    expect(await executeOrder(runtime, id ?? '')).toEqual({ outcome: 'settled', status: 'FAILED' });
    expect(psp.chargeCalls).toBe(calls + 1);
    expect(await getOrder(t.db.pool, id ?? '')).toMatchObject({
      status: 'FAILED',
      declineCode: 'insufficient_funds',
      statusReason: 'insufficient_funds',
    });
    // No retry was scheduled: the claim took the order out of the executor's queue and nothing put it back.
    expect(await queueOf(id ?? '')).toEqual({ queued: false, inMs: null });
    expect(await entriesFor(id ?? '')).toBe(0);
  });

  it('retries a transient failure after the documented backoff (exponential, jittered, capped) and honours Retry-After', async () => {
    const [id] = await createCheckout(savedMethodBody(['s_one']));
    psp.script('transient', { transient: true, retryAfterSeconds: 3 });
    const first = await executeOrder(runtime, id ?? '', { random: () => 0 });
    // Attempt 1 failed: ceiling 200 ms, half of it jittered; random 0 gives the lower bound.
    expect(first).toEqual({ outcome: 'retry_scheduled', attempt: 1, delayMs: 100 });
    const second = await executeOrder(runtime, id ?? '', { random: () => 1 });
    // Attempt 2: ceiling 400 ms, but the PSP asked for 3 s.
    expect(second).toEqual({ outcome: 'retry_scheduled', attempt: 2, delayMs: 3000 });
    // Queued again 3 s from the retry's own statement, on the database's clock.
    const scheduled = await queueOf(id ?? '');
    expect(scheduled.queued).toBe(true);
    expect(scheduled.inMs).toBeGreaterThanOrEqual(2_900);
    expect(await executeOrder(runtime, id ?? '')).toEqual({ outcome: 'settled', status: 'SUCCESS' });
    expect(await getOrder(t.db.pool, id ?? '')).toMatchObject({ attempts: 3, status: 'SUCCESS' });
    expect(psp.payments.size).toBeGreaterThan(0);
  });

  it('dead-letters an order whose attempts run out, and a replay (safe to run twice) then succeeds once', async () => {
    const [id] = await createCheckout(savedMethodBody(['s_one']));
    psp.script('transient', 'transient', 'transient');
    expect((await executeOrder(runtime, id ?? '')).outcome).toBe('retry_scheduled');
    expect((await executeOrder(runtime, id ?? '')).outcome).toBe('retry_scheduled');
    expect(await executeOrder(runtime, id ?? '')).toEqual({ outcome: 'dead_lettered', attempt: 3 });
    expect(await getOrder(t.db.pool, id ?? '')).toMatchObject({ status: 'EXECUTING', needsAttention: true });
    // A late job for a dead-lettered order does nothing.
    expect((await executeOrder(runtime, id ?? '')).outcome).toBe('skipped');
    const letter = (await listDeadLetters(t.db.pool)).find((l) => l.subject === id);
    expect(letter).toBeDefined();
    const [r1, r2] = await Promise.all([
      replayDeadLetter(t.db.pool, NO_JOBS, letter?.id ?? '', REPLAY_HOOKS),
      replayDeadLetter(t.db.pool, NO_JOBS, letter?.id ?? '', REPLAY_HOOKS),
    ]);
    expect([r1.outcome, r2.outcome].sort()).toEqual(['already_replayed', 'replayed']);
    // The replay queued the order for the executor at once (and sent no job: NO_JOBS would have thrown).
    expect(await queueOf(id ?? '')).toEqual({ queued: true, inMs: 0 });
    expect(await executeOrder(runtime, id ?? '')).toEqual({ outcome: 'settled', status: 'SUCCESS' });
    expect(await executeOrder(runtime, id ?? '')).toMatchObject({ outcome: 'skipped' });
    expect(await entriesFor(id ?? '')).toBe(1);
  });

  it('settles an order whose charge succeeded but whose response was lost, with exactly one charge', async () => {
    const [id] = await createCheckout(savedMethodBody(['s_one']));
    psp.script('lose_response');
    const before = psp.payments.size;
    expect(await executeOrder(runtime, id ?? '')).toEqual({ outcome: 'settled', status: 'SUCCESS' });
    expect(psp.payments.size).toBe(before + 1);
    expect(await entriesFor(id ?? '')).toBe(1);
  });
});

describe('sweeper', () => {
  it('settles an order left EXECUTING after the PSP charged (a crash before our commit) without charging again', async () => {
    const [id] = await createCheckout(savedMethodBody(['s_one']));
    // Simulate the crash: claim and charge, but never record the result.
    await t.db.pool.query(
      `UPDATE payins.payment_order SET payment_order_status = 'EXECUTING', attempts = 1, next_sweep_at = now() - interval '1 second'
       WHERE payment_order_id = $1`,
      [id],
    );
    const order = await getOrder(t.db.pool, id ?? '');
    await psp.charge({
      idempotencyKey: `bursar:po:${id}`,
      amountMinor: 1234n,
      currency: 'USD',
      paymentMethod: 'pm',
      metadata: {},
    });
    const calls = psp.chargeCalls;
    const report = await sweepOnce(runtime);
    expect(report.settled).toBeGreaterThanOrEqual(1);
    expect(psp.chargeCalls).toBe(calls);
    expect(await getOrder(t.db.pool, id ?? '')).toMatchObject({ status: 'SUCCESS', ledgerUpdated: true });
    expect(order?.status).toBe('EXECUTING');
    expect(await entriesFor(id ?? '')).toBe(1);
    expect((await verifyLedger(t.db.pool)).ok).toBe(true);
  });

  it('hands an order the PSP never saw back to the executor instead of guessing', async () => {
    const [id] = await createCheckout(savedMethodBody(['s_one']));
    await t.db.pool.query(
      `UPDATE payins.payment_order SET payment_order_status = 'EXECUTING', execute_at = NULL,
         next_sweep_at = now() - interval '1 second' WHERE payment_order_id = $1`,
      [id],
    );
    const report = await sweepOnce(runtime);
    expect(report.requeued).toBeGreaterThanOrEqual(1);
    expect(await queueOf(id ?? '')).toEqual({ queued: true, inMs: 0 });
    expect(await getOrder(t.db.pool, id ?? '')).toMatchObject({ status: 'EXECUTING', sweepCount: 1 });
  });
});

describe('hosted page: poller and webhook events', () => {
  async function hostedCheckout(): Promise<{
    checkoutId: string;
    orders: string[];
    sessionId: string;
    redirect: string;
  }> {
    const body = {
      ...savedMethodBody(['s_one', 's_two']),
      credit_card_info: { flow: 'hosted_page', return_url: 'https://shop.example/return' },
    };
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/payments',
      headers: { ...bearer(t.key), 'idempotency-key': uid('idem') },
      payload: body,
    });
    expect(response.statusCode).toBe(201);
    const json = response.json() as {
      status: string;
      next_action: { redirect_url: string };
      payment_orders: Array<{ payment_order_id: string; status: string }>;
    };
    expect(json.status).toBe('requires_action');
    expect(json.payment_orders.map((o) => o.status)).toEqual(['EXECUTING', 'EXECUTING']);
    const row = await t.db.pool.query<{ psp_session_id: string }>(
      'SELECT psp_session_id FROM payins.payment_event WHERE checkout_id = $1',
      [body.checkout_id],
    );
    return {
      checkoutId: String(body.checkout_id),
      orders: json.payment_orders.map((o) => o.payment_order_id),
      sessionId: row.rows[0]?.psp_session_id ?? '',
      redirect: json.next_action.redirect_url,
    };
  }

  it('stores the session before answering and polls it to SUCCESS for every order in one transaction', async () => {
    const { checkoutId, orders, sessionId, redirect } = await hostedCheckout();
    expect(redirect).toContain(sessionId);
    psp.setSessionState(sessionId, 'succeeded');
    await t.db.pool.query(
      `UPDATE payins.payment_event SET next_poll_at = now() - interval '1 second' WHERE checkout_id = $1`,
      [checkoutId],
    );
    const report = await pollOnce(runtime);
    expect(report.settled).toBeGreaterThanOrEqual(1);
    for (const id of orders) {
      expect(await getOrder(t.db.pool, id)).toMatchObject({ status: 'SUCCESS', ledgerUpdated: true });
      expect(await entriesFor(id)).toBe(1);
    }
  });

  it('processes a webhook event once; duplicates and out-of-order events change nothing more', async () => {
    const { orders, sessionId } = await hostedCheckout();
    const completed = {
      id: uid('evt'),
      type: 'checkout.session.completed',
      createdAt: new Date(),
      object: { id: sessionId, payment_status: 'paid', payment_intent: 'pi_x' },
    };
    expect(await recordPspEvent(runtime, 'stripe', completed)).toBe(true);
    expect(await recordPspEvent(runtime, 'stripe', completed)).toBe(false);
    const stored = await t.db.pool.query<{ id: bigint }>(
      'SELECT id FROM payins.psp_events WHERE event_id = $1',
      [completed.id],
    );
    const rowId = stored.rows[0]?.id ?? 0n;
    expect(await processPspEvent(runtime, rowId)).toContain('2 order(s) moved');
    expect(await processPspEvent(runtime, rowId)).toBe('already_processed');
    const expired = {
      id: uid('evt'),
      type: 'checkout.session.expired',
      createdAt: new Date(),
      object: { id: sessionId },
    };
    await recordPspEvent(runtime, 'stripe', expired);
    const expiredRow = await t.db.pool.query<{ id: bigint }>(
      'SELECT id FROM payins.psp_events WHERE event_id = $1',
      [expired.id],
    );
    expect(await processPspEvent(runtime, expiredRow.rows[0]?.id ?? 0n)).toContain('0 order(s) moved');
    for (const id of orders) {
      expect(await getOrder(t.db.pool, id)).toMatchObject({ status: 'SUCCESS' });
      expect(await entriesFor(id)).toBe(1);
    }
  });

  it('keeps orders PENDING with the reason on an asynchronous payment, then fails them on async failure', async () => {
    const { orders, sessionId } = await hostedCheckout();
    for (const [type, extra] of [
      ['checkout.session.completed', { payment_status: 'unpaid' }],
      ['checkout.session.async_payment_failed', {}],
    ] as const) {
      const event = { id: uid('evt'), type, createdAt: new Date(), object: { id: sessionId, ...extra } };
      await recordPspEvent(runtime, 'stripe', event);
      const row = await t.db.pool.query<{ id: bigint }>(
        'SELECT id FROM payins.psp_events WHERE event_id = $1',
        [event.id],
      );
      await processPspEvent(runtime, row.rows[0]?.id ?? 0n);
      if (type === 'checkout.session.completed') {
        expect(await getOrder(t.db.pool, orders[0] ?? '')).toMatchObject({
          status: 'PENDING',
          statusReason: 'awaiting_async_payment',
        });
      }
    }
    expect(await getOrder(t.db.pool, orders[1] ?? '')).toMatchObject({
      status: 'FAILED',
      statusReason: 'async_payment_failed',
    });
  });

  it('answers 429 request_in_progress with Retry-After while the PSP call of the same key is in flight', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = new FakePsp();
    const original = slow.createHostedSession.bind(slow);
    slow.createHostedSession = async (request) => {
      await gate;
      return await original(request);
    };
    switchable.use(slow);
    try {
      const key = uid('idem');
      const body = {
        ...savedMethodBody(['s_one']),
        credit_card_info: { flow: 'hosted_page', return_url: 'https://shop.example/r' },
      };
      const send = () =>
        t.app.inject({
          method: 'POST',
          url: '/v1/payments',
          headers: { ...bearer(t.key), 'idempotency-key': key },
          payload: body,
        });
      const first = send();
      // Wait until the first request has committed its in-progress key.
      for (let i = 0; i < 200; i++) {
        const row = await t.db.pool.query('SELECT 1 FROM idempotency.keys WHERE idempotency_key = $1', [key]);
        if (row.rowCount === 1) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const second = await send();
      expect(second.statusCode).toBe(429);
      expect((second.json() as { error: { code: string } }).error.code).toBe('request_in_progress');
      expect(Number(second.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      release();
      const done = await first;
      expect(done.statusCode).toBe(201);
      const replay = await send();
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.json()).toEqual(done.json());
    } finally {
      release();
      switchable.use(psp);
    }
  });
});
