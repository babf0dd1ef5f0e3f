import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signPayload } from '../../sandbox/index.ts';
import { LOOP_FAILURES_METRIC } from '../../src/jobs/loops.ts';
import { getBalances, sellerAccount, sellerReceivable } from '../../src/ledger/index.ts';
import { discoverRefundsOnce } from '../../src/refunds/index.ts';
import { savedMethodBody, uid, waitFor } from '../support/payins.ts';
import { startPayinsStack, type PayinsStack } from '../support/payins-stack.ts';

/**
 * Refund discovery end to end over HTTP: the sandbox drops every webhook while refunds are made (in its dashboard,
 * i.e. straight at its API, and through Bursar), and the refund worker's discovery (GET /v1/refunds created[gte],
 * every 200 ms here) finds and applies them exactly as their webhooks would have, once.
 */

const SELLER = 'rd_one';
let stack: PayinsStack;

beforeAll(async () => {
  stack = await startPayinsStack({
    sandbox: { refundDelayMs: 200 },
    compose: {
      platformFee: { basisPoints: 1000n, fixedMinor: 0n },
      // The poller waits ten minutes: here only discovery can settle a refund whose webhooks were dropped.
      refunds: { tickIntervalMs: 100, discoverEveryMs: 200, pollAfterMs: 600_000, leaseMs: 60_000 },
    },
  });
  await stack.registerSellers([SELLER]);
  await stack.modules.refunds.worker.start();
});

afterEach(() => {
  stack?.sandbox.resetFaults();
});

afterAll(async () => {
  await stack?.modules.refunds.worker.stop();
  await stack?.close();
});

function dropAllWebhooks(): void {
  stack.sandbox.setFaults({ webhooks: { dropRate: 1 } });
}

async function sellerOwes(): Promise<bigint> {
  const pending = sellerAccount(SELLER, 'pending', 'USD').code;
  const available = sellerAccount(SELLER, 'available', 'USD').code;
  const receivable = sellerReceivable(SELLER, 'USD').code;
  const found = await getBalances(stack.db.pool, [pending, available, receivable]);
  const of = (code: string) => found.get(code)?.balanceMinor ?? 0n;
  // What the seller holds, net of what the seller owes.
  return of(pending) + of(available) - of(receivable);
}

async function paySaved(
  amount: string,
  paymentMethod = 'pm_card_visa',
): Promise<{ orderId: string; pi: string }> {
  const body = savedMethodBody([SELLER], { amount });
  body.credit_card_info = { payment_method: paymentMethod };
  const answer = await stack.pay(body, uid('idem'));
  expect(answer.status).toBe(201);
  const orderId = `${body.checkout_id}_po0`;
  await stack.waitForStatus(orderId, 'SUCCESS');
  const row = await stack.db.pool.query<{ psp_payment_id: string }>(
    'SELECT psp_payment_id FROM payins.payment_order WHERE payment_order_id = $1',
    [orderId],
  );
  return { orderId, pi: row.rows[0]?.psp_payment_id ?? '' };
}

async function refundsOf(orderId: string): Promise<Array<Record<string, unknown>>> {
  return (await stack.get(`/v1/payments/${orderId}/refunds`)).json.data as Array<Record<string, unknown>>;
}

/** Ledger entries booked for a PSP refund (the refund, and its reversal). */
async function entriesOf(pspRefundId: string): Promise<string[]> {
  const rows = await stack.db.pool.query<{ reference: string }>(
    'SELECT reference FROM ledger.entries WHERE reference LIKE $1 ORDER BY id',
    [`refund:${pspRefundId}%`],
  );
  return rows.rows.map((row) => row.reference);
}

/** Who settled each status change of a refund (`via` in the history's details). */
async function settledVia(refundId: string): Promise<Array<{ to: string; via: string | null }>> {
  const rows = await stack.db.pool.query<{ to_status: string; via: string | null }>(
    `SELECT to_status, details ->> 'via' AS via FROM refunds.status_history WHERE refund_id = $1 ORDER BY id`,
    [refundId],
  );
  return rows.rows.map((row) => ({ to: row.to_status, via: row.via }));
}

/** The PSP's webhook events about a refund, raw and signed as its dispatcher signs them. */
async function signedEventsOf(pspRefundId: string): Promise<Array<{ type: string; body: string }>> {
  const events = await stack.sandbox.stripe.events.list({ limit: 100 });
  const about = events.data.filter((event) => {
    const object = event.data.object as { id?: string; object?: string };
    return object.object === 'refund' && object.id === pspRefundId;
  });
  return await Promise.all(
    about.map(async (event) => {
      const raw = await fetch(`${stack.sandbox.url}/v1/events/${event.id}`, {
        headers: { authorization: `Bearer ${stack.sandbox.secretKey}` },
      });
      return { type: event.type, body: await raw.text() };
    }),
  );
}

/** Waits until `count` webhook events about the PSP refund are stored and processed; their outcomes. */
async function processedOutcomes(pspRefundId: string, count: number): Promise<string[]> {
  return await waitFor(
    async () => {
      const rows = await stack.db.pool.query<{ processed: boolean; outcome: string | null }>(
        `SELECT processed_at IS NOT NULL AS processed, outcome FROM payins.psp_events
          WHERE payload -> 'object' ->> 'id' = $1`,
        [pspRefundId],
      );
      const done = rows.rows.length >= count && rows.rows.every((row) => row.processed);
      return done ? rows.rows.map((row) => row.outcome ?? '') : undefined;
    },
    20_000,
    `${count} webhook events about ${pspRefundId} processed`,
  );
}

/** Failures the discovery step counted (`bursar_background_loop_failures_total{loop="refund_discover"}`). */
async function discoverFailures(): Promise<number> {
  const metric = await stack.ctx.metrics.getSingleMetricAsString(LOOP_FAILURES_METRIC);
  const line = metric.split('\n').find((l) => l.includes('loop="refund_discover"'));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

async function deliver(body: string): Promise<number> {
  const response = await fetch(`${stack.baseUrl}/v1/webhooks/psp/stripe`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'stripe-signature': signPayload(body, stack.webhookSecret, Math.floor(Date.now() / 1000)),
    },
    body,
  });
  await response.text();
  return response.status;
}

describe('refund discovery end to end with every refund webhook dropped', () => {
  it('a refund made in the PSP dashboard is discovered and booked once; its webhook arriving later books nothing more', async () => {
    const { orderId, pi } = await paySaved('30.00');
    const before = await sellerOwes();
    dropAllWebhooks();
    const made = await stack.sandbox.stripe.refunds.create({ payment_intent: pi, amount: 700 });
    const listed = await waitFor(
      async () => {
        const data = await refundsOf(orderId);
        return data.length === 1 && data[0]?.status === 'succeeded' ? data : undefined;
      },
      20_000,
      'the dashboard refund discovered',
    );
    expect(listed[0]).toMatchObject({ source: 'psp', amount: '7.00', psp_refund_id: made.id });
    expect(await settledVia(String(listed[0]?.id))).toEqual([
      { to: 'pending', via: null },
      { to: 'succeeded', via: 'discovery' },
    ]);
    expect(await entriesOf(made.id)).toEqual([`refund:${made.id}`]);
    // Policy keep: the seller bears the whole 7.00.
    expect(before - (await sellerOwes())).toBe(700n);

    stack.sandbox.resetFaults();
    // Those that carry the refund's final state (refund.created carries it pending).
    const late = (await signedEventsOf(made.id)).filter((event) => event.type !== 'refund.created');
    expect(late.map((event) => event.type)).toContain('refund.updated');
    for (const event of late) expect(await deliver(event.body)).toBe(200);
    const outcomes = await processedOutcomes(made.id, late.length);
    expect(outcomes).toHaveLength(late.length);
    for (const outcome of outcomes) expect(outcome).toMatch(/already succeeded/);
    expect(await refundsOf(orderId)).toHaveLength(1);
    expect(await entriesOf(made.id)).toEqual([`refund:${made.id}`]);
    expect(before - (await sellerOwes())).toBe(700n);
    expect(await stack.ledgerOk()).toBe(true);
  });

  it('our refund whose every webhook was dropped is settled by discovery, not left to the sweeper', async () => {
    const { orderId } = await paySaved('20.00');
    const before = await sellerOwes();
    dropAllWebhooks();
    const made = await stack.post(
      '/v1/refunds',
      { payment_order_id: orderId, amount: '5.00' },
      { 'idempotency-key': uid('rk') },
    );
    expect(made.status).toBe(201);
    const id = String(made.json.id);
    const done = await waitFor(
      async () => {
        const answer = await stack.get(`/v1/refunds/${id}`);
        return answer.json.status === 'succeeded' ? answer.json : undefined;
      },
      20_000,
      'our refund settled',
    );
    expect(done.source).toBe('api');
    expect((await settledVia(id)).at(-1)).toEqual({ to: 'succeeded', via: 'discovery' });
    expect(await entriesOf(String(done.psp_refund_id))).toHaveLength(1);
    expect(before - (await sellerOwes())).toBe(500n);
    expect(await stack.ledgerOk()).toBe(true);
  });

  it('our refund that fails at the PSP after succeeding, its webhooks dropped, is reversed by discovery', async () => {
    const { orderId } = await paySaved('20.00', 'pm_card_refundFailsLater');
    const before = await sellerOwes();
    dropAllWebhooks();
    const made = await stack.post(
      '/v1/refunds',
      { payment_order_id: orderId, amount: '4.00' },
      { 'idempotency-key': uid('rk') },
    );
    expect(made.status).toBe(201);
    const id = String(made.json.id);
    const failed = await waitFor(
      async () => {
        const answer = await stack.get(`/v1/refunds/${id}`);
        return answer.json.status === 'failed' ? answer.json : undefined;
      },
      20_000,
      'our refund reversed',
    );
    expect(failed.failure_reason).toBe('expired_or_canceled_card');
    expect((await settledVia(id)).map((step) => step.to)).toEqual(['pending', 'succeeded', 'failed']);
    expect((await settledVia(id)).at(-1)?.via).toBe('discovery');
    const pspId = String(failed.psp_refund_id);
    expect(await entriesOf(pspId)).toEqual([`refund:${pspId}`, `refund:${pspId}:reversed`]);
    expect(await sellerOwes()).toBe(before);
    expect(await stack.ledgerOk()).toBe(true);
  });

  it('discoveries and webhooks racing on one dashboard refund book it once (the advisory lock on its PSP id)', async () => {
    await stack.modules.refunds.worker.stop();
    try {
      const { orderId, pi } = await paySaved('15.00');
      const before = await sellerOwes();
      dropAllWebhooks();
      const made = await stack.sandbox.stripe.refunds.create({ payment_intent: pi, amount: 300 });
      await waitFor(
        async () =>
          (await stack.sandbox.stripe.refunds.retrieve(made.id)).status === 'succeeded' ? true : undefined,
        20_000,
        'the PSP refund succeeded',
      );
      stack.sandbox.resetFaults();
      const events = await signedEventsOf(made.id);
      const rt = stack.modules.refunds.runtime;
      const failuresBefore = await discoverFailures();
      await Promise.all([
        discoverRefundsOnce(rt),
        ...events.map((event) => deliver(event.body)),
        discoverRefundsOnce(rt),
        discoverRefundsOnce(rt),
      ]);
      const outcomes = await processedOutcomes(made.id, events.length);
      // No side lost a race to an error (a unique violation, retried later): each waited for the other.
      expect(await discoverFailures()).toBe(failuresBefore);
      expect(outcomes.filter((o) => !/made at the PSP|already succeeded|no final refund/.test(o))).toEqual(
        [],
      );
      const refunds = await refundsOf(orderId);
      expect(refunds).toHaveLength(1);
      expect(refunds[0]).toMatchObject({ source: 'psp', status: 'succeeded', amount: '3.00' });
      expect(await entriesOf(made.id)).toEqual([`refund:${made.id}`]);
      expect(before - (await sellerOwes())).toBe(300n);
      expect(await stack.ledgerOk()).toBe(true);
    } finally {
      await stack.modules.refunds.worker.start();
    }
  });

  it('the sandbox lists refunds by created[gte] page by page, and the adapter follows every page', async () => {
    const since = Math.floor(Date.now() / 1000) - 3600;
    const paged = await stack.sandbox.stripe.refunds
      .list({ created: { gte: since }, limit: 2 })
      .autoPagingToArray({ limit: 1000 });
    expect(paged.length).toBeGreaterThan(2);
    expect(new Set(paged.map((r) => r.id)).size).toBe(paged.length);
    const viaPort = await stack.modules.refunds.runtime.psp.listRefunds?.(since);
    expect(viaPort?.map((f) => f.refundId)).toEqual(paged.map((r) => r.id));
    expect(await stack.sandbox.stripe.refunds.list({ created: { gte: since + 7200 } })).toMatchObject({
      data: [],
    });
  });
});
