import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RatesProvider } from '../../src/fx/index.ts';
import { verifyLedger } from '../../src/ledger/index.ts';
import { reconcileFiles, sandboxReportFetcher } from '../../src/reconciliation/index.ts';
import { savedMethodBody, uid, waitFor } from '../support/payins.ts';
import { startPayinsStack, type PayinsStack } from '../support/payins-stack.ts';

/**
 * Money back on converted orders end to end (docs/currencies.md "Refunds and disputes"): Bursar's app and
 * workers, the sandbox PSP through the Stripe adapter, rates from the sandbox's ECB-format file. Buyers pay in
 * EUR; the sellers are paid in USD; the sandbox settles in USD, buying EUR back for refunds and disputes at its
 * reference rate plus 50 bp. Refunds and disputes come back at each order's own rate, in USD, through the FX
 * positions; what the PSP really took or gave back is booked as its conversion with the FX gain or loss; every
 * balance is checked per currency, and so is `ledger verify`; reconciliation of the sandbox's report compares the
 * refund and dispute lines in both currencies.
 *
 * The numbers: ECB EUR→USD 1.0866; the platform's markup 100 bp (the order's rate 1.075734); the sandbox settles
 * charges at 1.081167 and buys EUR back at 1.092033; platform fee 10 %; the sandbox's dispute fee 15.00 USD.
 */

let stack: PayinsStack;
let startedAt: Date;

const sandboxRates: RatesProvider = {
  source: 'ecb:sandbox',
  fetch: async () => (await fetch(`${stack.sandbox.url}/v1/fx/eurofxref-daily.xml`)).text(),
};

beforeAll(async () => {
  startedAt = new Date(Date.now() - 60_000);
  stack = await startPayinsStack({
    sandbox: { settlementCurrency: 'USD', fxSpreadBps: 50, refundDelayMs: 300 },
    compose: {
      fxRates: sandboxRates,
      fx: { markupBps: 100 },
      platformFee: { basisPoints: 1000n, fixedMinor: 0n },
      refunds: { tickIntervalMs: 100, leaseMs: 3_000, pollAfterMs: 2_000 },
    },
  });
  await stack.modules.fx.refresh();
  for (const id of ['fxb_refund', 'fxb_fail', 'fxb_lost', 'fxb_won', 'fxb_gbp']) {
    const gbp = id === 'fxb_gbp';
    const created = await stack.post('/v1/sellers', {
      seller_account: id,
      name: id,
      currency: gbp ? 'GBP' : 'USD',
      payout: gbp
        ? { iban: 'GB82WEST12345698765432', bic: 'WESTGB2L', schedule: { interval: 'daily' } }
        : { iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', schedule: { interval: 'daily' } },
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
  }
  await stack.modules.refunds.worker.start();
});

afterAll(async () => {
  await stack?.modules.refunds.worker.stop();
  await stack?.close();
});

/** Balances (normal side) of the accounts whose code is LIKE `pattern`, by code. */
async function accounts(pattern: string): Promise<Map<string, bigint>> {
  const rows = await stack.db.pool.query<{ code: string; balance: bigint }>(
    `SELECT code, (CASE WHEN type IN ('asset', 'expense') THEN debits_minor - credits_minor
                        ELSE credits_minor - debits_minor END)::int8 AS balance
       FROM ledger.accounts WHERE code LIKE $1`,
    [pattern],
  );
  return new Map(rows.rows.map((row) => [row.code, BigInt(row.balance)]));
}

/** The seller's balances in every currency, by code without the seller prefix (`pending:USD`, …); zeros left out. */
async function seller(id: string): Promise<Record<string, bigint>> {
  const found = await accounts(`seller:${id}:%`);
  return Object.fromEntries(
    [...found].filter(([, v]) => v !== 0n).map(([code, v]) => [code.slice(`seller:${id}:`.length), v]),
  );
}

/** What an entry posted, as `direction account amount` lines, sorted. */
async function postings(reference: string): Promise<{ kind: string; lines: string[] } | undefined> {
  const rows = await stack.db.pool.query<{ kind: string; code: string; is_credit: boolean; amount: bigint }>(
    `SELECT e.kind, a.code, p.is_credit, p.amount_minor AS amount
       FROM ledger.entries e JOIN ledger.postings p ON p.entry_id = e.id JOIN ledger.accounts a ON a.id = p.account_id
      WHERE e.reference = $1`,
    [reference],
  );
  const first = rows.rows[0];
  if (first === undefined) return undefined;
  return {
    kind: first.kind,
    lines: rows.rows.map((r) => `${r.is_credit ? 'Cr' : 'Dr'} ${r.code} ${BigInt(r.amount)}`).sort(),
  };
}

async function waitEntry(reference: string): Promise<{ kind: string; lines: string[] }> {
  return await waitFor(() => postings(reference), 20_000, `entry ${reference}`);
}

/** Pays `amount` EUR to `sellerId` with `paymentMethod`; returns the order id and the PSP payment id. */
async function payEur(sellerId: string, amount: string, paymentMethod = 'pm_card_visa') {
  const body = savedMethodBody([sellerId], { amount, currency: 'EUR' });
  body.credit_card_info = { payment_method: paymentMethod };
  const answer = await stack.pay(body, uid('idem'));
  expect(answer.status, JSON.stringify(answer.json)).toBe(201);
  const orderId = `${body.checkout_id}_po0`;
  await stack.waitForStatus(orderId, 'SUCCESS');
  const row = await stack.db.pool.query<{ psp_payment_id: string }>(
    'SELECT psp_payment_id FROM payins.payment_order WHERE payment_order_id = $1',
    [orderId],
  );
  return { orderId, paymentId: row.rows[0]?.psp_payment_id ?? '' };
}

/** The balance transaction of a refund at the sandbox (what it took from the USD balance). */
async function refundTxn(pspRefundId: string): Promise<string> {
  const refund = await stack.sandbox.stripe.refunds.retrieve(pspRefundId);
  return String(refund.balance_transaction);
}

async function waitRefund(id: string, status: string): Promise<Record<string, unknown>> {
  return await waitFor(
    async () => {
      const answer = await stack.get(`/v1/refunds/${id}`);
      return answer.json.status === status ? answer.json : undefined;
    },
    20_000,
    `refund ${id} ${status}`,
  );
}

/** Opens a dispute at the sandbox on the payment and waits for Bursar to have booked its withdrawal. */
async function openDispute(paymentId: string): Promise<Record<string, unknown>> {
  const opened = (await stack.sandbox.admin('POST', `/v1/sandbox/charges/${paymentId}/dispute`)) as {
    id: string;
  };
  return await waitDispute(opened.id, (d) => d.amount_withdrawn !== null);
}

async function waitDispute(
  pspDisputeId: string,
  until: (dispute: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  return await waitFor(
    async () => {
      const list = await stack.get('/v1/disputes?limit=100');
      const found = (list.json.data as Array<Record<string, unknown>>).find(
        (d) => d.psp_dispute_id === pspDisputeId,
      );
      return found !== undefined && until(found) ? found : undefined;
    },
    20_000,
    `dispute ${pspDisputeId}`,
  );
}

async function answerDispute(id: string, text: string): Promise<void> {
  const answered = await stack.post(
    `/v1/disputes/${id}/evidence`,
    { evidence: { uncategorized_text: text } },
    { 'idempotency-key': uid('ev') },
  );
  expect(answered.status, JSON.stringify(answered.json)).toBe(200);
}

async function ledgerVerified(): Promise<void> {
  const verified = await verifyLedger(stack.db.pool);
  expect(verified.failures).toEqual([]);
  expect(verified.ok).toBe(true);
}

/** Balance transactions to alter at the sandbox before its report is read (the PSP's report differs). */
const reportShifts: Array<{ txn: string; byMinor: bigint }> = [];

describe('refunds and disputes of converted orders, over the sandbox PSP', () => {
  it('a partial refund of a EUR checkout for a USD seller: the buyer gets EUR back, the seller gives USD back at the order’s rate, the PSP’s USD cost is booked with its FX loss', async () => {
    const { orderId } = await payEur('fxb_refund', '100.00');
    // 100.00 EUR at 1.075734 → 107.57 USD, fee 10.76: 96.81 pending.
    expect(await seller('fxb_refund')).toEqual({ 'pending:USD': 9_681n });
    const made = await stack.post(
      '/v1/refunds',
      { payment_order_id: orderId, amount: '10.00' },
      { 'idempotency-key': uid('rk') },
    );
    expect(made.status, JSON.stringify(made.json)).toBe(201);
    const done = await waitRefund(String(made.json.id), 'succeeded');
    const pspRefundId = String(done.psp_refund_id);
    // 10.00 EUR at the order's rate: 10.76 USD from the seller (policy keep: the platform keeps its fee).
    expect(await waitEntry(`refund:${pspRefundId}`)).toEqual({
      kind: 'refund',
      lines: [
        'Cr platform:fx_position:USD 1076',
        'Cr platform:psp_clearing:EUR 1000',
        'Dr platform:fx_position:EUR 1000',
        'Dr seller:fxb_refund:pending:USD 1076',
      ],
    });
    expect(await seller('fxb_refund')).toEqual({ 'pending:USD': 8_605n });
    // The PSP bought 10.00 EUR back at 1.092033: 10.92 USD left the balance, 0.16 more than the seller gave back.
    const txn = await refundTxn(pspRefundId);
    expect(await waitEntry(`fx_settled:${txn}`)).toEqual({
      kind: 'fx.settled_out',
      lines: [
        'Cr platform:fx_position:EUR 1000',
        'Cr platform:psp_clearing:USD 1092',
        'Dr platform:fx_gain_loss:USD 16',
        'Dr platform:fx_position:USD 1076',
        'Dr platform:psp_clearing:EUR 1000',
      ],
    });
    // Settled by its webhook (which names the balance transaction only by id), then followed up: nothing left due.
    const due = await stack.db.pool.query<{ fx_due: boolean }>(
      'SELECT fx_due FROM refunds.refunds WHERE id = $1',
      [made.json.id],
    );
    expect(due.rows[0]?.fx_due).toBe(false);
    reportShifts.push({ txn, byMinor: 1n });
    await ledgerVerified();
  });

  it('a refund for a GBP seller (a third currency) comes back in GBP at the order’s rate; the PSP’s USD cost stays on the FX positions, nothing realised', async () => {
    const { orderId } = await payEur('fxb_gbp', '100.00');
    // 100.00 EUR at 0.8553 × 0.99 = 0.846747 → 84.67 GBP, fee 8.47: 76.20 pending.
    expect(await seller('fxb_gbp')).toEqual({ 'pending:GBP': 7_620n });
    const made = await stack.post(
      '/v1/refunds',
      { payment_order_id: orderId, amount: '10.00' },
      { 'idempotency-key': uid('rk') },
    );
    expect(made.status).toBe(201);
    const pspRefundId = String((await waitRefund(String(made.json.id), 'succeeded')).psp_refund_id);
    expect((await waitEntry(`refund:${pspRefundId}`)).lines).toEqual([
      'Cr platform:fx_position:GBP 847',
      'Cr platform:psp_clearing:EUR 1000',
      'Dr platform:fx_position:EUR 1000',
      'Dr seller:fxb_gbp:pending:GBP 847',
    ]);
    expect(await seller('fxb_gbp')).toEqual({ 'pending:GBP': 6_773n });
    // The PSP paid 10.92 USD for the 10.00 EUR: USD is sold, GBP bought back — an open position, no gain or loss.
    expect(await waitEntry(`fx_settled:${await refundTxn(pspRefundId)}`)).toEqual({
      kind: 'fx.settled_out',
      lines: [
        'Cr platform:fx_position:EUR 1000',
        'Cr platform:psp_clearing:USD 1092',
        'Dr platform:fx_position:USD 1092',
        'Dr platform:psp_clearing:EUR 1000',
      ],
    });
    await ledgerVerified();
  });

  it('a converted refund that fails after succeeding is reversed exactly, in USD, and the PSP’s money coming back undoes its FX loss', async () => {
    const { orderId } = await payEur('fxb_fail', '20.00', 'pm_card_refundFailsLater');
    const before = await seller('fxb_fail');
    // 20.00 EUR → 21.51 USD, fee 2.15.
    expect(before).toEqual({ 'pending:USD': 1_936n });
    const lossBefore = (await accounts('platform:fx_gain_loss:USD')).get('platform:fx_gain_loss:USD') ?? 0n;
    const made = await stack.post(
      '/v1/refunds',
      { payment_order_id: orderId, amount: '5.00' },
      { 'idempotency-key': uid('rk') },
    );
    expect(made.status).toBe(201);
    const failed = await waitRefund(String(made.json.id), 'failed');
    const pspRefundId = String(failed.psp_refund_id);
    // Taken 5.38 USD (5.00 EUR at 1.075734) from pending, given back to available.
    expect(await waitEntry(`refund:${pspRefundId}:reversed`)).toEqual({
      kind: 'refund.reversed',
      lines: [
        'Cr platform:fx_position:EUR 500',
        'Cr seller:fxb_fail:available:USD 538',
        'Dr platform:fx_position:USD 538',
        'Dr platform:psp_clearing:EUR 500',
      ],
    });
    const refund = await stack.sandbox.stripe.refunds.retrieve(pspRefundId);
    const back = await waitEntry(`fx_settled:${String(refund.failure_balance_transaction)}`);
    expect(back.kind).toBe('fx.settled');
    expect(back.lines).toContain('Dr platform:psp_clearing:USD 546');
    expect(await seller('fxb_fail')).toEqual({ 'pending:USD': 1_398n, 'available:USD': 538n });
    // 5.46 USD out at 1.092033 and 5.46 back: the 0.08 loss is undone by a 0.08 gain.
    expect((await accounts('platform:fx_gain_loss:USD')).get('platform:fx_gain_loss:USD')).toBe(lossBefore);
    await ledgerVerified();
  });

  it('a dispute lost on a EUR checkout for a USD seller: the seller’s share is taken at the order’s rate in USD, the fee in USD, and the PSP’s USD withdrawal with its FX loss', async () => {
    const { paymentId } = await payEur('fxb_lost', '50.00');
    // 50.00 EUR → 53.79 USD, fee 5.38: 48.41 pending.
    expect(await seller('fxb_lost')).toEqual({ 'pending:USD': 4_841n });
    const opened = await openDispute(paymentId);
    expect(opened).toMatchObject({
      currency: 'EUR',
      amount: '50.00',
      amount_withdrawn: '50.00',
      fee: '15.00',
      fee_currency: 'USD',
      fee_bearer: 'seller',
    });
    expect((opened.payment_orders as Array<Record<string, unknown>>)[0]).toMatchObject({
      amount: '50.00',
      currency: 'USD',
      seller_amount: '53.79',
      seller_fee: '15.00',
      taken_from: { pending: '48.41', available: '0.00', reserved: '0.00', receivable: '20.38' },
    });
    const pspDisputeId = String(opened.psp_dispute_id);
    expect(await waitEntry(`chargeback:${pspDisputeId}`)).toEqual({
      kind: 'chargeback',
      lines: [
        'Cr platform:fx_position:USD 5379',
        'Cr platform:psp_clearing:EUR 5000',
        'Dr platform:fx_position:EUR 5000',
        'Dr seller:fxb_lost:pending:USD 4841',
        'Dr seller:fxb_lost:receivable:USD 538',
      ],
    });
    // The PSP bought 50.00 EUR back at 1.092033: 54.60 USD, 0.81 more than the seller's 53.79.
    const sandboxDispute = await stack.sandbox.stripe.disputes.retrieve(pspDisputeId);
    const withdrawal = sandboxDispute.balance_transactions[0];
    expect(withdrawal).toMatchObject({
      amount: -5_460,
      fee: 1_500,
      currency: 'usd',
      exchange_rate: 1.092033,
    });
    const txn = withdrawal?.id ?? '';
    expect(await waitEntry(`fx_settled:${txn}`)).toEqual({
      kind: 'fx.settled_out',
      lines: [
        'Cr platform:fx_position:EUR 5000',
        'Cr platform:psp_clearing:USD 5460',
        'Dr platform:fx_gain_loss:USD 81',
        'Dr platform:fx_position:USD 5379',
        'Dr platform:psp_clearing:EUR 5000',
      ],
    });
    expect((await postings(`psp_fee:${txn}`))?.lines).toEqual([
      'Cr platform:psp_clearing:USD 1500',
      'Dr seller:fxb_lost:receivable:USD 1500',
    ]);
    await answerDispute(String(opened.id), 'losing_evidence');
    await waitDispute(pspDisputeId, (d) => d.status === 'lost');
    // The seller owes what the balance did not cover: 5.38 of the share and the 15.00 fee, in USD only.
    expect(await seller('fxb_lost')).toEqual({ 'receivable:USD': 2_038n });
    reportShifts.push({ txn, byMinor: -50n });
    await ledgerVerified();
  });

  it('a dispute won on a EUR checkout for a USD seller gives back exactly what it took, in USD; the PSP’s reinstatement undoes its FX loss and returns the fee', async () => {
    const { paymentId } = await payEur('fxb_won', '80.00');
    const before = await seller('fxb_won');
    // 80.00 EUR → 86.06 USD, fee 8.61: 77.45 pending.
    expect(before).toEqual({ 'pending:USD': 7_745n });
    const fxBefore = await accounts('platform:%');
    const opened = await openDispute(paymentId);
    expect(await seller('fxb_won')).toEqual({ 'receivable:USD': 861n + 1_500n });
    await answerDispute(String(opened.id), 'winning_evidence');
    const won = await waitDispute(
      String(opened.psp_dispute_id),
      (d) => d.status === 'won' && d.amount_reinstated !== null,
    );
    expect(won).toMatchObject({ amount_reinstated: '80.00', fee_returned: '15.00', fee_currency: 'USD' });
    const pspDisputeId = String(opened.psp_dispute_id);
    expect(await waitEntry(`dispute_reinstated:${pspDisputeId}`)).toEqual({
      kind: 'dispute.reinstated',
      lines: [
        'Cr platform:fx_position:EUR 8000',
        'Cr seller:fxb_won:pending:USD 7745',
        'Cr seller:fxb_won:receivable:USD 2361',
        'Dr platform:fx_position:USD 8606',
        'Dr platform:psp_clearing:EUR 8000',
        'Dr platform:psp_clearing:USD 1500',
      ],
    });
    // The seller is whole again, in USD only; every platform account is back where it was before the dispute.
    expect(await seller('fxb_won')).toEqual(before);
    const fxAfter = await accounts('platform:%');
    for (const [code, balance] of fxAfter) expect([code, balance]).toEqual([code, fxBefore.get(code) ?? 0n]);
    await ledgerVerified();
  });

  it('reconciles the sandbox’s report: refund and dispute lines are matched in EUR and their USD conversion compared — a refund 0.01 off booked as FX gain, a withdrawal 0.50 off filed as fx_difference', async () => {
    // The PSP's report says the refund took 0.01 USD less (within 10 bp of 10.92) and the withdrawal 0.50 more.
    for (const shift of reportShifts)
      await stack.sandbox.pool.query(
        `UPDATE sandbox.objects SET data = data || jsonb_build_object('amount', (data ->> 'amount')::bigint + $2,
                                                                     'net', (data ->> 'net')::bigint + $2)
          WHERE id = $1 AND object = 'balance_transaction'`,
        [shift.txn, shift.byMinor.toString()],
      );
    const [refundShift, disputeShift] = reportShifts;
    expect([refundShift?.byMinor, disputeShift?.byMinor]).toEqual([1n, -50n]);
    const interval = { start: startedAt, end: new Date(Date.now() + 60_000) };
    const report = await sandboxReportFetcher({
      secretKey: stack.sandbox.secretKey,
      webhookSecret: stack.webhookSecret,
      host: '127.0.0.1',
      port: stack.sandbox.port,
      protocol: 'http',
    })(interval);
    const run = await reconcileFiles(
      stack.modules.reconciliation.runtime,
      { psp: [report] },
      { trigger: 'test', origin: 'psp_fetch', intervalStart: interval.start, intervalEnd: interval.end },
    ).finally(() => report.cleanup?.());
    const fxLines = run.fx_lines as Record<string, number>;
    expect(fxLines, JSON.stringify(run)).toMatchObject({ fx_difference_booked: 1, fx_difference: 1 });
    expect(Object.keys(fxLines).sort()).toEqual(['fx_difference', 'fx_difference_booked', 'fx_matched']);
    const byCategory = await stack.db.pool.query<{ reporting_category: string; kind: string; n: number }>(
      `SELECT reporting_category, kind, count(*)::int AS n FROM recon.fx_lines WHERE run_id = $1
        GROUP BY 1, 2 ORDER BY 1, 2`,
      [run.run_id],
    );
    // Every charge, refund, refund failure, dispute and reversal of a converted charge is compared.
    expect(byCategory.rows.map((r) => r.reporting_category)).toEqual(
      expect.arrayContaining(['charge', 'refund', 'refund_failure', 'dispute', 'dispute_reversal']),
    );
    const filed = await stack.db.pool.query<{ kind: string; dedupe_key: string; amount_minor: bigint }>(
      'SELECT kind, dedupe_key, amount_minor FROM recon.exceptions WHERE run_id = $1',
      [run.run_id],
    );
    expect(filed.rows.map((r) => [r.kind, r.dedupe_key, BigInt(r.amount_minor)])).toEqual([
      ['fx_difference', `fx_difference:${disputeShift?.txn ?? ''}`, -50n],
    ]);
    // The refund's difference: the PSP took 0.01 less than booked, a gain.
    expect(await postings(`fx_difference:${refundShift?.txn ?? ''}`)).toEqual({
      kind: 'fx.settlement_difference',
      lines: ['Cr platform:fx_gain_loss:USD 1', 'Dr platform:psp_clearing:USD 1'],
    });
    expect(await postings(`fx_difference:${disputeShift?.txn ?? ''}`)).toBeUndefined();
    await ledgerVerified();
  });
});
