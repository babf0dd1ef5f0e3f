import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { succeededRefundsBetween } from '../../src/refunds/index.ts';
import { getBalances, sellerAccount, sellerReceivable } from '../../src/ledger/index.ts';
import {
  findPayoutsByIds,
  payoutStatusesPage,
  releaseDueHolds,
  runPayouts,
  settlePayout,
} from '../../src/payouts/index.ts';
import { addDays, isoDateOf } from '../../src/payouts/settings.ts';
import { fetchAndReconcile } from '../../src/reconciliation/daily.ts';
import { createReconciliation, payoutSideOf, sandboxReportFetcher } from '../../src/reconciliation/index.ts';
import { idleProvider, registerDailySeller } from '../support/debt.ts';
import { savedMethodBody, uid, waitFor } from '../support/payins.ts';
import { startPayinsStack, type HttpAnswer, type PayinsStack } from '../support/payins-stack.ts';

/**
 * Refunds end to end over HTTP: Bursar's app and workers, the sandbox PSP (asynchronous refunds, signed
 * webhooks) through the Stripe adapter. Balances are read from the ledger at every step.
 */

const SELLERS = ['rf_one', 'rf_two'] as const;
const startedAt = new Date(Date.now() - 60_000);
let stack: PayinsStack;

beforeAll(async () => {
  stack = await startPayinsStack({
    sandbox: { refundDelayMs: 300 },
    compose: {
      // 10 % platform fee, so the fee policy shows in the numbers.
      platformFee: { basisPoints: 1000n, fixedMinor: 0n },
      refunds: { tickIntervalMs: 100, leaseMs: 3_000, pollAfterMs: 2_000 },
    },
  });
  await stack.registerSellers([...SELLERS, 'rf_policy']);
  await stack.modules.refunds.worker.start();
});

afterAll(async () => {
  await stack?.modules.refunds.worker.stop();
  await stack?.close();
});

interface Buckets {
  pending: bigint;
  available: bigint;
  reserved: bigint;
  receivable: bigint;
}

async function buckets(seller: string): Promise<Buckets> {
  const codes = {
    pending: sellerAccount(seller, 'pending', 'USD').code,
    available: sellerAccount(seller, 'available', 'USD').code,
    reserved: sellerAccount(seller, 'reserved', 'USD').code,
    receivable: sellerReceivable(seller, 'USD').code,
  };
  const found = await getBalances(stack.db.pool, Object.values(codes));
  const of = (code: string) => found.get(code)?.balanceMinor ?? 0n;
  return {
    pending: of(codes.pending),
    available: of(codes.available),
    reserved: of(codes.reserved),
    receivable: of(codes.receivable),
  };
}

async function paySaved(seller: string, amount: string, paymentMethod = 'pm_card_visa'): Promise<string> {
  const body = savedMethodBody([seller], { amount });
  body.credit_card_info = { payment_method: paymentMethod };
  const answer = await stack.pay(body, uid('idem'));
  expect(answer.status).toBe(201);
  const orderId = `${body.checkout_id}_po0`;
  await stack.waitForStatus(orderId, 'SUCCESS');
  return orderId;
}

function refund(body: Record<string, unknown>, key = uid('rk')): Promise<HttpAnswer> {
  return stack.post('/v1/refunds', body, { 'idempotency-key': key });
}

async function waitRefund(id: string, status: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  return await waitFor(
    async () => {
      const answer = await stack.get(`/v1/refunds/${id}`);
      return answer.json.status === status ? answer.json : undefined;
    },
    timeoutMs,
    `refund ${id} ${status}`,
  );
}

async function refundsAtPsp(orderId: string): Promise<number> {
  const row = await stack.db.pool.query<{ psp_payment_id: string }>(
    'SELECT psp_payment_id FROM payins.payment_order WHERE payment_order_id = $1',
    [orderId],
  );
  const paymentId = row.rows[0]?.psp_payment_id ?? '';
  return (await stack.sandbox.stripe.refunds.list({ payment_intent: paymentId, limit: 100 })).data.length;
}

describe('refunds end to end over HTTP with the sandbox PSP', () => {
  it('partial refund, second partial, an attempt beyond the remainder refused, then the rest: balances at each step, ledger verified', async () => {
    const seller = SELLERS[0];
    const orderId = await paySaved(seller, '100.00');
    // 100.00 paid, 10.00 platform fee: the seller is owed 90.00, pending.
    expect(await buckets(seller)).toMatchObject({ pending: 9000n, available: 0n, receivable: 0n });

    const first = await refund({
      payment_order_id: orderId,
      amount: '30.00',
      reason: 'requested_by_customer',
    });
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ status: 'pending', amount: '30.00', source: 'api' });
    const firstDone = await waitRefund(String(first.json.id), 'succeeded');
    expect((firstDone.status_history as Array<{ to: string }>).map((c) => c.to)).toEqual([
      'pending',
      'succeeded',
    ]);
    // Policy keep: the seller bears the whole 30.00.
    expect(await buckets(seller)).toMatchObject({ pending: 6000n, receivable: 0n });
    expect(await stack.order(orderId)).toMatchObject({
      status: 'SUCCESS',
      amount_refunded: '30.00',
      refund_status: 'partially_refunded',
    });

    const second = await refund({ payment_order_id: orderId, amount: '50.00' });
    expect(second.status).toBe(201);
    await waitRefund(String(second.json.id), 'succeeded');
    expect(await buckets(seller)).toMatchObject({ pending: 1000n, receivable: 0n });

    const beyond = await refund({ payment_order_id: orderId, amount: '25.00' });
    expect(beyond.status).toBe(422);
    expect((beyond.json.error as { code: string }).code).toBe('refund_exceeds_remaining');
    expect(await buckets(seller)).toMatchObject({ pending: 1000n, receivable: 0n });

    // Without an amount: what is left (20.00); the seller's 10.00 pending covers half, the rest is owed.
    const rest = await refund({ payment_order_id: orderId });
    expect(rest.json).toMatchObject({ amount: '20.00' });
    await waitRefund(String(rest.json.id), 'succeeded');
    expect(await buckets(seller)).toMatchObject({ pending: 0n, available: 0n, receivable: 1000n });
    expect(await stack.order(orderId)).toMatchObject({
      status: 'SUCCESS',
      amount_refunded: '100.00',
      refund_status: 'refunded',
    });
    const listed = await stack.get(`/v1/payments/${orderId}/refunds`);
    expect((listed.json.data as unknown[]).length).toBe(3);
    expect(await refundsAtPsp(orderId)).toBe(3);
    expect(await stack.ledgerOk()).toBe(true);
  });

  it('50 concurrent identical refund POSTs with one key: one refund, one PSP refund', async () => {
    const orderId = await paySaved(SELLERS[1], '40.00');
    const key = uid('rk50');
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => refund({ payment_order_id: orderId, amount: '15.00' }, key)),
    );
    const created = answers.filter((a) => a.status === 201);
    expect(created.length).toBeGreaterThan(0);
    for (const answer of answers) expect([201, 429]).toContain(answer.status);
    const ids = new Set(created.map((a) => a.json.id));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    await waitRefund(String(id), 'succeeded');
    const rows = await stack.db.pool.query('SELECT 1 FROM refunds.refunds WHERE payment_order_id = $1', [
      orderId,
    ]);
    expect(rows.rowCount).toBe(1);
    expect(await refundsAtPsp(orderId)).toBe(1);
    expect(await stack.ledgerOk()).toBe(true);
  });

  it('a refund the PSP reports failed after it succeeded is reversed in the ledger (refund.reversed)', async () => {
    const seller = SELLERS[1];
    const before = await buckets(seller);
    const orderId = await paySaved(seller, '20.00', 'pm_card_refundFailsLater');
    const made = await refund({ payment_order_id: orderId, amount: '5.00' });
    expect(made.status).toBe(201);
    const failed = await waitRefund(String(made.json.id), 'failed');
    expect((failed.status_history as Array<{ to: string }>).map((c) => c.to)).toEqual([
      'pending',
      'succeeded',
      'failed',
    ]);
    expect(failed.failure_reason).toBe('expired_or_canceled_card');
    const entries = await stack.db.pool.query<{ kind: string }>(
      `SELECT kind FROM ledger.entries WHERE metadata ->> 'refundId' = $1 ORDER BY id`,
      [made.json.id],
    );
    expect(entries.rows.map((r) => r.kind)).toEqual(['refund', 'refund.reversed']);
    // The seller has the sale's 18.00 again (the reversal credits available).
    const after = await buckets(seller);
    expect(after.pending + after.available - (before.pending + before.available)).toBe(1800n);
    expect(await stack.order(orderId)).toMatchObject({ amount_refunded: '0.00', refund_status: 'none' });
    expect(await stack.ledgerOk()).toBe(true);
  });

  it('a refund made at the PSP (its dashboard) is recognised, booked by the same recipe and shown as source psp', async () => {
    const seller = SELLERS[0];
    const orderId = await paySaved(seller, '12.00');
    const before = await buckets(seller);
    const row = await stack.db.pool.query<{ psp_payment_id: string }>(
      'SELECT psp_payment_id FROM payins.payment_order WHERE payment_order_id = $1',
      [orderId],
    );
    await stack.sandbox.stripe.refunds.create({
      payment_intent: row.rows[0]?.psp_payment_id ?? '',
      amount: 400,
    });
    const listed = await waitFor(
      async () => {
        const answer = await stack.get(`/v1/payments/${orderId}/refunds`);
        const data = answer.json.data as Array<Record<string, unknown>>;
        return data.length === 1 && data[0]?.status === 'succeeded' ? data : undefined;
      },
      20_000,
      'the PSP-made refund',
    );
    expect(listed[0]).toMatchObject({ source: 'psp', amount: '4.00', status: 'succeeded' });
    const after = await buckets(seller);
    expect(before.pending - after.pending + (after.receivable - before.receivable)).toBe(400n);
    expect(await stack.ledgerOk()).toBe(true);
  });

  it('a full checkout refund across two sellers in the hosted flow: one refund per order against the one charge, each with its own PSP key', async () => {
    const checkoutId = uid('rfh');
    const orderIds = [`${checkoutId}_a`, `${checkoutId}_b`];
    const paid = await stack.pay(
      {
        checkout_id: checkoutId,
        buyer_info: { id: 'buyer_rf', country: 'US' },
        credit_card_info: { flow: 'hosted_page', return_url: 'http://127.0.0.1:9/back' },
        payment_orders: orderIds.map((id, index) => ({
          payment_order_id: id,
          seller_account: SELLERS[index],
          amount: index === 0 ? '30.00' : '10.00',
          currency: 'USD',
        })),
      },
      uid('idem'),
    );
    expect(paid.status).toBe(201);
    const page = await fetch((paid.json.next_action as { redirect_url: string }).redirect_url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        card_number: '4242424242424242',
        expiry: '12/40',
        cvc: '123',
        name: 'Buyer',
      }).toString(),
      redirect: 'manual',
    });
    expect(page.status).toBe(303);
    for (const id of orderIds) await stack.waitForStatus(id, 'SUCCESS');
    const before = await Promise.all(SELLERS.map((seller) => buckets(seller)));

    const key = uid('rkco');
    const answer = await stack.post(`/v1/checkouts/${checkoutId}/refunds`, {}, { 'idempotency-key': key });
    expect(answer.status).toBe(201);
    const made = answer.json.data as Array<{ id: string; payment_order_id: string; amount: string }>;
    expect(made.map((r) => [r.payment_order_id, r.amount])).toEqual([
      [orderIds[0], '30.00'],
      [orderIds[1], '10.00'],
    ]);
    const again = await stack.post(`/v1/checkouts/${checkoutId}/refunds`, {}, { 'idempotency-key': key });
    expect(again.json).toEqual(answer.json);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    for (const r of made) await waitRefund(r.id, 'succeeded');
    // Both against the one charge of the session: two refunds at the PSP, one per order (its own key).
    expect(await refundsAtPsp(orderIds[0] ?? '')).toBe(2);
    const after = await Promise.all(SELLERS.map((seller) => buckets(seller)));
    const taken = (i: number) =>
      (before[i]?.pending ?? 0n) -
      (after[i]?.pending ?? 0n) +
      ((after[i]?.receivable ?? 0n) - (before[i]?.receivable ?? 0n)) +
      ((before[i]?.available ?? 0n) - (after[i]?.available ?? 0n));
    expect([taken(0), taken(1)]).toEqual([3000n, 1000n]);
    for (const id of orderIds) expect(await stack.order(id)).toMatchObject({ refund_status: 'refunded' });
    const nothingLeft = await stack.post(
      `/v1/checkouts/${checkoutId}/refunds`,
      {},
      { 'idempotency-key': uid('rk') },
    );
    expect((nothingLeft.json.error as { code: string }).code).toBe('payment_not_refundable');
    expect(await stack.ledgerOk()).toBe(true);
  });

  it('the worked example: proportional platform fee and the PSP fee passed to the seller (seller override)', async () => {
    const seller = 'rf_policy';
    const put = await stack.put(`/v1/sellers/${seller}/refund-policy`, {
      platform_fee: 'proportional',
      psp_fee: 'seller',
    });
    expect(put.status).toBe(200);
    const orderId = await paySaved(seller, '100.00');
    expect(await buckets(seller)).toMatchObject({ pending: 9000n });
    const made = await refund({ payment_order_id: orderId, amount: '40.00' });
    const done = await waitRefund(String(made.json.id), 'succeeded');
    const pspId = String(done.psp_refund_id);
    const entries = async () =>
      (
        await stack.db.pool.query<{ reference: string; account: string; is_credit: boolean; amount: bigint }>(
          `SELECT e.reference, a.code AS account, p.is_credit, p.amount_minor AS amount
             FROM ledger.entries e JOIN ledger.postings p ON p.entry_id = e.id JOIN ledger.accounts a ON a.id = p.account_id
            WHERE e.reference IN ($1, $2) ORDER BY e.id, p.line`,
          [`refund:${pspId}`, `refund_psp_fee:${pspId}`],
        )
      ).rows;
    const rows = await waitFor(async () => {
      const found = await entries();
      return found.some((row) => row.reference.startsWith('refund_psp_fee:')) ? found : undefined;
    });
    // 10.00 × 40/100 = 4.00 of the fee back; the seller bears 36.00 and 3.20 × 40/100 = 1.28 of the PSP fee.
    expect(rows).toContainEqual({
      reference: `refund:${pspId}`,
      account: 'platform:fee_revenue:USD',
      is_credit: false,
      amount: 400n,
    });
    expect(rows).toContainEqual({
      reference: `refund_psp_fee:${pspId}`,
      account: 'platform:psp_fees:USD',
      is_credit: true,
      amount: 128n,
    });
    expect(await buckets(seller)).toMatchObject({ pending: 5272n, receivable: 0n });
    expect(await stack.ledgerOk()).toBe(true);
  });

  it(
    'a refund after the seller was paid out: a negative balance_due, recovered from the next sales as they become available; the payout run waits until it is covered',
    { timeout: 240_000 },
    async () => {
      const seller = 'rf_debt';
      await registerDailySeller(stack.db.pool, seller, 'EUR', 71);
      const wallet = async () => {
        const answer = await stack.get(`/v1/sellers/${seller}/balance`);
        expect(answer.status).toBe(200);
        const w = answer.json;
        return [w.pending, w.available, w.in_transit, w.balance_due];
      };
      const releaseAll = () => releaseDueHolds(stack.db.pool, addDays(isoDateOf(new Date()), 30));
      const runOn = (days: number) =>
        runPayouts(
          { pool: stack.db.pool, log: stack.ctx.log, provider: idleProvider, now: new Date() },
          addDays(isoDateOf(new Date()), days),
        );
      const sale = async (amount: string) => {
        const body = savedMethodBody([seller], { amount, currency: 'EUR' });
        expect((await stack.pay(body, uid('idem'))).status).toBe(201);
        const orderId = `${body.checkout_id}_po0`;
        await stack.waitForStatus(orderId, 'SUCCESS');
        return orderId;
      };

      // 100.00 sold, 10.00 platform fee: 90.00 pending, then available, then paid out.
      const first = await sale('100.00');
      expect(await wallet()).toEqual(['90.00', '0.00', '0.00', '0.00']);
      await releaseAll();
      expect(await wallet()).toEqual(['0.00', '90.00', '0.00', '0.00']);
      expect((await runOn(1)).outcomes.paid).toBeGreaterThanOrEqual(1);
      expect(await wallet()).toEqual(['0.00', '0.00', '90.00', '0.00']);

      // The buyer is refunded 30.00 after the payout: nothing covers it, the seller owes 30.00.
      const made = await refund({ payment_order_id: first, amount: '30.00' });
      expect(made.status).toBe(201);
      await waitRefund(String(made.json.id), 'succeeded');
      expect(await wallet()).toEqual(['0.00', '0.00', '90.00', '-30.00']);
      expect((await buckets(seller)).receivable).toBe(0n); // USD buckets: the debt is in EUR only
      const payoutRefused = await stack.post(
        '/v1/payouts',
        { seller_account: seller, amount: '1.00', currency: 'EUR' },
        { 'idempotency-key': uid('po') },
      );
      expect(payoutRefused.status).toBe(422);
      expect((payoutRefused.json.error as { code: string }).code).toBe('seller_has_debt');
      expect(await stack.ledgerOk()).toBe(true);

      // The next sale (20.00 → 18.00 for the seller) pays part of the debt when it becomes available; the run waits.
      await sale('20.00');
      expect(await wallet()).toEqual(['18.00', '0.00', '90.00', '-30.00']);
      await releaseAll();
      expect(await wallet()).toEqual(['0.00', '0.00', '90.00', '-12.00']);
      expect((await runOn(2)).outcomes.in_debt).toBeGreaterThanOrEqual(1);
      expect(await wallet()).toEqual(['0.00', '0.00', '90.00', '-12.00']);

      // One more (50.00 → 45.00): 12.00 settles the debt, 33.00 is the seller's, and the run pays it.
      await sale('50.00');
      await releaseAll();
      expect(await wallet()).toEqual(['0.00', '33.00', '90.00', '0.00']);
      const paid = await runOn(3);
      expect(paid.outcomes.paid).toBeGreaterThanOrEqual(1);
      expect(await wallet()).toEqual(['0.00', '0.00', '123.00', '0.00']);
      const recovered = await stack.db.pool.query<{ amount: string }>(
        `SELECT p.amount_minor::text AS amount FROM ledger.entries e JOIN ledger.postings p ON p.entry_id = e.id
         JOIN ledger.accounts a ON a.id = p.account_id
        WHERE e.kind = 'debt.recovered' AND a.code = $1 ORDER BY e.id`,
        [`seller:${seller}:receivable:EUR`],
      );
      expect(recovered.rows.map((row) => row.amount)).toEqual(['1800', '1200']);
      expect(await stack.ledgerOk()).toBe(true);
    },
  );

  it("reconciling the sandbox's settlement report matches every refund and refund failure: no exception", async () => {
    const recon = createReconciliation({
      ctx: stack.ctx,
      // No settlement window: every succeeded refund of ours must have its line in the report by now.
      config: { settlementWindowHours: 0 },
      refunds: { succeededBetween: succeededRefundsBetween },
      payins: stack.modules.payins,
      payouts: payoutSideOf({ findPayoutsByIds, payoutStatusesPage, settlePayout }),
      fetchReport: sandboxReportFetcher({
        secretKey: stack.sandbox.secretKey,
        webhookSecret: stack.webhookSecret,
        host: '127.0.0.1',
        port: stack.sandbox.port,
        protocol: 'http',
      }),
    }).runtime;
    const report = await fetchAndReconcile(
      recon,
      { start: startedAt, end: new Date(Date.now() + 60_000) },
      'test',
      true,
    );
    const exceptions = await stack.db.pool.query<{ kind: string; cause: string }>(
      'SELECT kind, cause FROM recon.exceptions ORDER BY seq',
    );
    expect(exceptions.rows).toEqual([]);
    expect(report).toMatchObject({ queued: { finance: 0, investigation: 0 } });
    // The check for refunds missing at the PSP had every succeeded refund of this file to look at.
    const ours = await succeededRefundsBetween(stack.db.pool, startedAt, new Date(), 100);
    expect(ours.length).toBeGreaterThanOrEqual(8);
  });
});
