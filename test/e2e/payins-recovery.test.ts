import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dlqCommand } from '../../src/cli/dlq.ts';
import { uid, waitFor } from '../support/payins.ts';
import { startPayinsStack, type PayinsStack } from '../support/payins-stack.ts';
import { runBursar } from '../support/process.ts';

/**
 * Saved-method pay-ins recovering from the PSP's faults, over real HTTP with the sandbox: PSP webhooks settling
 * orders the executor left PENDING, transient failures retried on the documented schedule until the dead-letter
 * queue, sweeps running out, and the operator's `bursar dlq` (the real CLI, as a child process) replaying them.
 */

const SELLER = 'rc_one';
const RETRY = { maxAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 4_000, jitterRatio: 0.5 };

let stack: PayinsStack;

beforeAll(async () => {
  stack = await startPayinsStack({ config: { retry: RETRY } });
  await stack.registerSellers([SELLER]);
});

afterAll(async () => {
  await stack?.close();
});

afterEach(() => {
  stack.sandbox.resetFaults();
  stack.configure({ sweepAfterMs: 60_000, sweepBaseDelayMs: 60_000, sweepMaxDelayMs: 60_000, maxSweeps: 12 });
});

/** A one-order saved-method checkout; returns the order id. */
async function charge(paymentMethod: string, amount = '9.99'): Promise<string> {
  const checkoutId = uid('rc');
  const answer = await stack.pay(
    {
      checkout_id: checkoutId,
      buyer_info: { id: 'buyer_recovery' },
      credit_card_info: { payment_method: paymentMethod },
      payment_orders: [
        { payment_order_id: `${checkoutId}_po`, seller_account: SELLER, amount, currency: 'USD' },
      ],
    },
    uid('idem'),
  );
  expect(answer.status).toBe(201);
  return `${checkoutId}_po`;
}

async function pspPaymentIdOf(orderId: string): Promise<string> {
  const rows = await stack.db.pool.query<{ psp_payment_id: string | null }>(
    'SELECT psp_payment_id FROM payins.payment_order WHERE payment_order_id = $1',
    [orderId],
  );
  const id = rows.rows[0]?.psp_payment_id;
  if (!id) throw new Error(`order ${orderId} has no PSP payment id`);
  return id;
}

async function openDeadLetterOf(orderId: string): Promise<{ id: string; reason: string } | undefined> {
  const rows = await stack.db.pool.query<{ id: string; reason: string }>(
    `SELECT id, reason FROM jobs.dead_letters WHERE subject = $1 AND replayed_at IS NULL`,
    [orderId],
  );
  return rows.rows[0];
}

/** The same command in this process: cheaper where the separate process is not the point. */
/**
 * Reads the order's scheduled retries while it is retried: after each failed attempt the order is queued again at
 * `execute_at`, set in the same statement as `updated_at`, until the next claim takes it (at least Retry-After's 1 s
 * here, so a read every 25 ms sees each one). The delay of each, by the attempt that failed.
 */
function watchRetries(orderId: string): { delays: Promise<Map<number, number>>; stop: () => void } {
  let watching = true;
  const seen = new Map<number, number>();
  const delays = (async () => {
    while (watching) {
      const due = await stack.db.pool.query<{ attempts: number; delay_ms: number }>(
        `SELECT attempts, (extract(epoch FROM execute_at - updated_at) * 1000)::float8 AS delay_ms
           FROM payins.payment_order WHERE payment_order_id = $1 AND execute_at > updated_at`,
        [orderId],
      );
      for (const row of due.rows) seen.set(row.attempts, Math.round(row.delay_ms));
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return seen;
  })();
  return { delays, stop: () => (watching = false) };
}

async function dlqInProcess(...args: string[]): Promise<string> {
  const lines: string[] = [];
  expect(await dlqCommand(args, { pool: stack.db.pool }, (line) => lines.push(line))).toBe(0);
  return lines.join('\n');
}

/** `npx bursar dlq …` against the stack's database, as an operator runs it. */
async function dlq(...args: string[]): Promise<{ code: number | null; output: string }> {
  return await runBursar(['dlq', ...args], { DATABASE_URL: stack.db.url, LOG_LEVEL: 'error' });
}

describe('payment_intent webhooks for saved-method orders', () => {
  it('an order the executor left PENDING (payment in review) is settled SUCCESS by payment_intent.succeeded, once', async () => {
    const id = await charge('pm_card_sandbox_review');
    expect(await stack.waitForStatus(id, 'PENDING')).toMatchObject({ ledger_updated: false });
    const before = await stack.pendingMinor(SELLER);
    await stack.sandbox.admin('POST', `/v1/sandbox/payment_intents/${await pspPaymentIdOf(id)}/settle`, {
      outcome: 'succeed',
    });
    await stack.waitForStatus(id, 'SUCCESS');
    expect((await stack.settledBy(id)).at(-1)).toEqual({ to: 'SUCCESS', by: 'webhook' });
    expect(await stack.successEntries(id)).toBe(1);
    expect(await stack.chargesAtPsp(id)).toBe(1);
    const share = (await stack.successEntry(id))?.postings.find((p) =>
      p.accountCode.startsWith(`seller:${SELLER}:`),
    );
    expect(await stack.pendingMinor(SELLER)).toBe(before + (share?.amountMinor ?? 0n));
    expect(await stack.ledgerOk()).toBe(true);
  });

  it('an order in review that the PSP refuses is failed by payment_intent.payment_failed with the decline code, no entry', async () => {
    const id = await charge('pm_card_sandbox_review');
    await stack.waitForStatus(id, 'PENDING');
    await stack.sandbox.admin('POST', `/v1/sandbox/payment_intents/${await pspPaymentIdOf(id)}/settle`, {
      outcome: 'fail',
    });
    expect(await stack.waitForStatus(id, 'FAILED')).toMatchObject({
      status_reason: 'generic_decline',
      decline_code: 'generic_decline',
    });
    expect((await stack.settledBy(id)).at(-1)).toEqual({ to: 'FAILED', by: 'webhook' });
    expect(await stack.successEntries(id)).toBe(0);
  });
});

describe('retries, dead letters and replays', () => {
  it('a PSP answering 503: retried on the documented schedule, dead-lettered when attempts run out, then `bursar dlq replay` charges once', async () => {
    stack.sandbox.setFaults({
      rules: [{ match: 'POST /v1/payment_intents', errorRate: 1, errorStatuses: [503] }],
    });
    const id = await charge('pm_card_visa', '15.00');
    const retries = watchRetries(id);
    const letter = await waitFor(() => openDeadLetterOf(id), 20_000, `a dead letter for ${id}`).finally(
      retries.stop,
    );
    expect(letter.reason).toMatch(/^transient: /);
    const order = await stack.order(id);
    expect(order).toMatchObject({ status: 'EXECUTING', needs_attention: true });
    expect(await stack.chargesAtPsp(id)).toBe(0);

    // The delays actually scheduled (the order queued again at `execute_at`, set with `updated_at` by the retry),
    // against docs/payins.md: after attempt n, min(base × 2^(n−1), cap) with its top half jittered, never sooner
    // than Retry-After (1 s here). The last attempt schedules none: it dead-letters.
    const delays = await retries.delays;
    expect([...delays.keys()]).toEqual([1, 2]);
    for (let attempt = 1; attempt < RETRY.maxAttempts; attempt++) {
      const ceiling = Math.min(RETRY.baseDelayMs * 2 ** (attempt - 1), RETRY.maxDelayMs);
      const delay = delays.get(attempt) ?? -1;
      expect(delay).toBeGreaterThanOrEqual(Math.max(ceiling / 2, 1_000));
      expect(delay).toBeLessThanOrEqual(Math.max(ceiling, 1_000));
    }
    const attempts = await stack.db.pool.query<{ attempts: number }>(
      'SELECT attempts FROM payins.payment_order WHERE payment_order_id = $1',
      [id],
    );
    expect(attempts.rows[0]?.attempts).toBe(RETRY.maxAttempts);

    stack.sandbox.resetFaults();
    expect(await dlqInProcess('list')).toContain(
      `${letter.id}  payins-execute  ${id}  attempts=${RETRY.maxAttempts}  open`,
    );
    const replayed = await dlq('replay', letter.id);
    expect(replayed).toMatchObject({ code: 0 });
    expect(replayed.output).toContain(`replayed ${letter.id} (payins-execute ${id})`);
    expect(await stack.waitForStatus(id, 'SUCCESS')).toMatchObject({ needs_attention: false });
    expect(await stack.chargesAtPsp(id)).toBe(1);
    expect(await stack.successEntries(id)).toBe(1);
    // Replaying again sends nothing.
    expect(await dlqInProcess('replay', letter.id)).toBe(`${letter.id} was already replayed`);
    expect(await stack.chargesAtPsp(id)).toBe(1);
    expect(await stack.successEntries(id)).toBe(1);
    expect(await stack.ledgerOk()).toBe(true);
  });

  it('an order the PSP keeps pending and whose webhooks are lost: sweeps run out into the dead-letter queue; after the PSP settles, a replay lets the sweeper settle it once', async () => {
    stack.configure({ sweepAfterMs: 200, sweepBaseDelayMs: 100, sweepMaxDelayMs: 200, maxSweeps: 3 });
    stack.sandbox.setFaults({ webhooks: { dropRate: 1 } });
    const id = await charge('pm_card_sandbox_review');
    const letter = await waitFor(() => openDeadLetterOf(id), 20_000, `a dead letter for ${id}`);
    expect(letter.reason).toBe('sweeps exhausted: sweep: still pending at the PSP');
    expect(await stack.order(id)).toMatchObject({ status: 'PENDING', needs_attention: true });
    const sweeps = await stack.db.pool.query<{ sweep_count: number }>(
      'SELECT sweep_count FROM payins.payment_order WHERE payment_order_id = $1',
      [id],
    );
    expect(sweeps.rows[0]?.sweep_count).toBe(3);

    await stack.sandbox.admin('POST', `/v1/sandbox/payment_intents/${await pspPaymentIdOf(id)}/settle`, {
      outcome: 'succeed',
    });
    // Flagged orders are left alone: nothing settles it until a person replays the dead letter.
    expect((await stack.order(id)).status).toBe('PENDING');
    expect((await dlq('replay', letter.id)).code).toBe(0);
    expect(await stack.waitForStatus(id, 'SUCCESS')).toMatchObject({ needs_attention: false });
    expect((await stack.settledBy(id)).at(-1)).toEqual({ to: 'SUCCESS', by: 'sweeper' });
    expect(await stack.chargesAtPsp(id)).toBe(1);
    expect(await stack.successEntries(id)).toBe(1);
    expect(await stack.ledgerOk()).toBe(true);
  });
});
