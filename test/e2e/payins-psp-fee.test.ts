import type Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fetchAndReconcile } from '../../src/reconciliation/daily.ts';
import { contentInput } from '../../src/reconciliation/input.ts';
import { sandboxReportFetcher } from '../../src/reconciliation/psp-fetch.ts';
import { findPayoutsByIds, payoutStatusesPage, settlePayout } from '../../src/payouts/index.ts';
import { createReconciliation, payoutSideOf } from '../../src/reconciliation/index.ts';
import type { ReconRuntime } from '../../src/reconciliation/runtime.ts';
import { reconcileFiles } from '../../src/reconciliation/service.ts';
import { savedMethodBody, uid } from '../support/payins.ts';
import { startPayinsStack, type PayinsStack } from '../support/payins-stack.ts';
import { writeReport } from '../support/recon.ts';

/**
 * The PSP's fee is booked with the pay-in's success, in the same transaction, under the reference reconciliation
 * books a missing fee under (`psp_fee:<balance transaction>`): over the real flow — Bursar's app and worker, the
 * sandbox PSP through the Stripe adapter, signed webhooks — a saved-method charge and a hosted checkout each book
 * their fee once, and reconciling the sandbox's settlement report of the day files no exception at all.
 */

const SELLERS = ['fee_one', 'fee_two'] as const;

let stack: PayinsStack;
let recon: ReconRuntime;
const startedAt = new Date(Date.now() - 60_000);

beforeAll(async () => {
  stack = await startPayinsStack();
  await stack.registerSellers([...SELLERS]);
  recon = createReconciliation({
    ctx: stack.ctx,
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
});

afterAll(async () => {
  await stack?.close();
});

afterEach(() => {
  stack.sandbox.resetFaults();
  stack.configure({ pollAfterMs: 60_000, pollBaseDelayMs: 60_000, pollMaxDelayMs: 60_000 });
});

interface FeeEntry {
  reference: string;
  currency: string;
  debitMinor: bigint;
}

/** The PSP fee entries booked for a checkout (the pay-in flow names the checkout in the entry's metadata). */
async function feeEntries(checkoutId: string): Promise<FeeEntry[]> {
  const rows = await stack.db.pool.query<{ reference: string; currency: string; debit: bigint }>(
    `SELECT e.reference, min(p.currency) AS currency,
            sum(p.amount_minor) FILTER (WHERE NOT p.is_credit)::int8 AS debit
       FROM ledger.entries e JOIN ledger.postings p ON p.entry_id = e.id
      WHERE e.reference LIKE 'psp_fee:%' AND e.metadata ->> 'checkoutId' = $1
      GROUP BY e.reference ORDER BY e.reference`,
    [checkoutId],
  );
  return rows.rows.map((row) => ({
    reference: row.reference,
    currency: row.currency,
    debitMinor: row.debit,
  }));
}

/** The balance transaction of the PSP's payment, as the PSP holds it. */
async function balanceTransactionOf(paymentId: string): Promise<Stripe.BalanceTransaction> {
  const intent = await stack.sandbox.stripe.paymentIntents.retrieve(paymentId, {
    expand: ['latest_charge.balance_transaction'],
  });
  const charge = intent.latest_charge as Stripe.Charge | null;
  const txn = charge?.balance_transaction;
  if (typeof txn !== 'object' || txn === null) throw new Error(`${paymentId} has no balance transaction`);
  return txn;
}

async function paymentIdOf(paymentOrderId: string): Promise<string> {
  const row = await stack.db.pool.query<{ psp_payment_id: string | null }>(
    'SELECT psp_payment_id FROM payins.payment_order WHERE payment_order_id = $1',
    [paymentOrderId],
  );
  const id = row.rows[0]?.psp_payment_id;
  if (id === null || id === undefined) throw new Error(`${paymentOrderId} has no PSP payment`);
  return id;
}

async function payHosted(): Promise<{ checkoutId: string; orderIds: string[] }> {
  const checkoutId = uid('feeh');
  const orderIds = [`${checkoutId}_a`, `${checkoutId}_b`];
  const answer = await stack.pay(
    {
      checkout_id: checkoutId,
      buyer_info: { id: 'buyer_fee', country: 'US' },
      credit_card_info: { flow: 'hosted_page', return_url: 'http://127.0.0.1:9/back' },
      payment_orders: orderIds.map((id, index) => ({
        payment_order_id: id,
        seller_account: SELLERS[index],
        amount: index === 0 ? '41.00' : '8.99',
        currency: 'USD',
      })),
    },
    uid('idem'),
  );
  expect(answer.status).toBe(201);
  const redirectUrl = (answer.json.next_action as { redirect_url: string }).redirect_url;
  const paid = await fetch(redirectUrl, {
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
  expect(paid.status).toBe(303);
  for (const id of orderIds) await stack.waitForStatus(id, 'SUCCESS');
  return { checkoutId, orderIds };
}

async function paySaved(amount: string): Promise<{ checkoutId: string; orderId: string }> {
  const body = savedMethodBody([SELLERS[0]], { amount });
  const answer = await stack.pay(body, uid('idem'));
  expect(answer.status).toBe(201);
  const orderId = `${body.checkout_id}_po0`;
  await stack.waitForStatus(orderId, 'SUCCESS');
  return { checkoutId: body.checkout_id, orderId };
}

describe('the PSP fee is booked at pay-in success', () => {
  it('a saved-method charge books its PSP fee with its success: one entry, psp_fee:<balance transaction>, the PSP’s amount', async () => {
    const { checkoutId, orderId } = await paySaved('23.45');
    const txn = await balanceTransactionOf(await paymentIdOf(orderId));
    expect(txn.fee).toBeGreaterThan(0);
    expect(await feeEntries(checkoutId)).toEqual([
      { reference: `psp_fee:${txn.id}`, currency: 'USD', debitMinor: BigInt(txn.fee) },
    ]);
    expect(await stack.ledgerOk()).toBe(true);
  });

  it('a hosted checkout of two orders books the fee of its one charge once, when the webhook settles it', async () => {
    const { checkoutId, orderIds } = await payHosted();
    const txn = await balanceTransactionOf(await paymentIdOf(orderIds[0] ?? ''));
    expect(await feeEntries(checkoutId)).toEqual([
      { reference: `psp_fee:${txn.id}`, currency: 'USD', debitMinor: BigInt(txn.fee) },
    ]);
    for (const id of orderIds)
      expect((await stack.settledBy(id)).at(-1)).toEqual({ to: 'SUCCESS', by: 'webhook' });
  });

  it('a hosted checkout settled by the poller (every webhook dropped) books its fee too', async () => {
    stack.configure({ pollAfterMs: 300, pollBaseDelayMs: 200, pollMaxDelayMs: 400 });
    stack.sandbox.setFaults({ webhooks: { dropRate: 1 } });
    const { checkoutId, orderIds } = await payHosted();
    const txn = await balanceTransactionOf(await paymentIdOf(orderIds[0] ?? ''));
    expect(await feeEntries(checkoutId)).toEqual([
      { reference: `psp_fee:${txn.id}`, currency: 'USD', debitMinor: BigInt(txn.fee) },
    ]);
    for (const id of orderIds)
      expect((await stack.settledBy(id)).at(-1)).toEqual({ to: 'SUCCESS', by: 'poller' });
  });

  it("a clean day over the real flow: reconciling the sandbox's settlement report files no exception at all", async () => {
    await paySaved('5.00');
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
    // Every charge of this file so far (1 + 1 + 1 + 1) is a line, matched, with its fee found booked.
    expect(report).toMatchObject({
      lines_read: 4,
      matched: 4,
      auto_fixed: 0,
      queued: { finance: 0, investigation: 0 },
    });
    expect(await stack.ledgerOk()).toBe(true);
  });

  it('a fee booked at success that the report disagrees with is still a finance fee_mismatch', async () => {
    const { checkoutId, orderId } = await paySaved('61.00');
    const paymentId = await paymentIdOf(orderId);
    const txn = await balanceTransactionOf(paymentId);
    // The report says the PSP took one cent more than its answer at charge time did.
    const doctored = writeReport([
      {
        txn: txn.id,
        category: 'charge',
        currency: 'USD',
        grossMinor: 6100n,
        feeMinor: BigInt(txn.fee) + 1n,
        sourceId: typeof txn.source === 'string' ? txn.source : '',
        paymentIntentId: paymentId,
        created: new Date(),
        metadata: { checkout_id: checkoutId, payment_order_id: orderId },
      },
    ]);
    const report = await reconcileFiles(
      recon,
      { psp: [contentInput('doctored.csv', doctored)] },
      { trigger: 'test', origin: 'api' },
    );
    expect(report).toMatchObject({ matched: 1, exceptions_by_kind: { fee_mismatch: 1 } });
    const filed = await stack.db.pool.query<{ class: string; kind: string; amount_minor: bigint }>(
      `SELECT class, kind, amount_minor FROM recon.exceptions WHERE run_id = $1`,
      [String(report.run_id)],
    );
    expect(filed.rows).toEqual([{ class: 'finance', kind: 'fee_mismatch', amount_minor: 1n }]);
    // The booked fee stays what the PSP answered; a person decides.
    expect(await feeEntries(checkoutId)).toEqual([
      { reference: `psp_fee:${txn.id}`, currency: 'USD', debitMinor: BigInt(txn.fee) },
    ]);
  });
});
