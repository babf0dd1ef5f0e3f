import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixedRatesProvider } from '../../src/fx/index.ts';
import { postEntry, pspFeeCharged } from '../../src/ledger/index.ts';
import { verifyLedger } from '../../src/ledger/service.ts';
import { withTransaction } from '../../src/db/tx.ts';
import { FEE_FETCH_ATTEMPTS } from '../../src/payins/psp-fee.ts';
import { followUpPspFees } from '../../src/payins/psp-fee-followup.ts';
import { processPspEvent, recordPspEvent } from '../../src/payins/psp-events.ts';
import type { PayinsRuntime } from '../../src/payins/runtime.ts';
import type { TestApp } from '../support/app.ts';
import { createPayinsTestApp } from '../support/payins-app.ts';
import { FakePsp } from '../support/payins-fake-psp.ts';
import { bearer, registerSellers, uid } from '../support/payins.ts';

/**
 * The PSP fee follow-up (docs/payins.md "The PSP's fee"): a hosted checkout whose success webhook arrives while the
 * PSP fails every fee look-up settles SUCCESS at once, with its fee marked pending in the same transaction; the
 * pay-in worker's `psp_fees` step books the fee later, once, under `psp_fee:<balance transaction>`, or gives up
 * after its bounded attempts and leaves the fee to reconciliation.
 */

const FEE = 175n;
const MAX_ATTEMPTS = 4;
const BASE_MS = 60_000;

let t: TestApp;
let psp: FakePsp;
let runtime: PayinsRuntime;

beforeAll(async () => {
  psp = new FakePsp();
  psp.feeMinor = FEE;
  t = await createPayinsTestApp({
    psp,
    payins: { feeMaxAttempts: MAX_ATTEMPTS, feeRetryBaseMs: BASE_MS, feeRetryMaxMs: 3 * BASE_MS },
    // Rates for the converted checkout (EUR paid, USD seller): ECB 1.0866, markup 100 bp.
    fx: { markupBps: 100 },
    fxRates: fixedRatesProvider({ USD: '1.0866' }, () => new Date().toISOString().slice(0, 10)),
  });
  runtime = t.modules.payins.runtime;
  await t.modules.fx.refresh();
  await registerSellers(t.db.pool, ['fu_one', 'fu_two']);
});

afterAll(async () => {
  await t.close();
});

beforeEach(() => {
  psp.lookupFailures = 0;
  psp.settlement = undefined;
});

interface Paid {
  checkoutId: string;
  sessionId: string;
  paymentId: string;
  subject: string;
  reference: string;
}

/** A hosted checkout of two orders, paid at the PSP, whose success webhook is stored but not processed yet. */
async function paidHostedCheckout(currency = 'USD'): Promise<{ paid: Paid; eventRowId: bigint }> {
  const checkoutId = uid('fu');
  const response = await t.app.inject({
    method: 'POST',
    url: '/v1/payments',
    headers: { ...bearer(t.key), 'idempotency-key': uid('idem') },
    payload: {
      checkout_id: checkoutId,
      buyer_info: { id: 'buyer_fu', country: 'US' },
      credit_card_info: { flow: 'hosted_page', return_url: 'https://shop.example/return' },
      payment_orders: [
        { payment_order_id: `${checkoutId}_a`, seller_account: 'fu_one', amount: '40.00', currency },
        { payment_order_id: `${checkoutId}_b`, seller_account: 'fu_two', amount: '9.50', currency },
      ],
    },
  });
  expect(response.statusCode).toBe(201);
  const row = await t.db.pool.query<{ psp_session_id: string }>(
    'SELECT psp_session_id FROM payins.payment_event WHERE checkout_id = $1',
    [checkoutId],
  );
  const sessionId = row.rows[0]?.psp_session_id ?? '';
  psp.setSessionState(sessionId, 'succeeded');
  const paymentId = `pi_${sessionId.slice(3)}`;
  const recorded = await recordPspEvent(runtime, 'fake', {
    id: uid('evt'),
    type: 'checkout.session.completed',
    createdAt: new Date(),
    object: { id: sessionId, object: 'checkout.session', payment_status: 'paid', payment_intent: paymentId },
  });
  expect(recorded).toBe(true);
  const event = await t.db.pool.query<{ id: bigint }>(
    `SELECT id FROM payins.psp_events WHERE payload -> 'object' ->> 'id' = $1`,
    [sessionId],
  );
  const eventRowId = event.rows[0]?.id;
  if (eventRowId === undefined) throw new Error('no event row');
  return {
    paid: {
      checkoutId,
      sessionId,
      paymentId,
      subject: `session:${sessionId}`,
      reference: `psp_fee:txn_${sessionId.slice(3)}`,
    },
    eventRowId,
  };
}

async function statuses(checkoutId: string): Promise<string[]> {
  const rows = await t.db.pool.query<{ s: string }>(
    'SELECT payment_order_status AS s FROM payins.payment_order WHERE checkout_id = $1 ORDER BY position',
    [checkoutId],
  );
  return rows.rows.map((row) => row.s);
}

async function feeEntries(reference: string): Promise<bigint[]> {
  const rows = await t.db.pool.query<{ debit: bigint }>(
    `SELECT sum(p.amount_minor) FILTER (WHERE NOT p.is_credit)::int8 AS debit
       FROM ledger.entries e JOIN ledger.postings p ON p.entry_id = e.id
      WHERE e.reference = $1 GROUP BY e.id`,
    [reference],
  );
  return rows.rows.map((row) => row.debit);
}

interface Mark {
  fee_attempts: number;
  gave_up: boolean;
  last_error: string | null;
  due_in_s: number;
}

async function markOf(subject: string): Promise<Mark | undefined> {
  const rows = await t.db.pool.query<Mark>(
    `SELECT fee_attempts, gave_up_at IS NOT NULL AS gave_up, last_error,
            round(extract(epoch FROM next_fee_attempt_at - now()))::int AS due_in_s
       FROM payins.psp_fee_pending WHERE subject = $1`,
    [subject],
  );
  return rows.rows[0];
}

/** Makes the mark due now (instead of waiting out its backoff). */
async function makeDue(subject: string): Promise<void> {
  await t.db.pool.query('UPDATE payins.psp_fee_pending SET next_fee_attempt_at = now() WHERE subject = $1', [
    subject,
  ]);
}

describe('PSP fee follow-up', () => {
  it('a success whose fee look-up keeps failing settles SUCCESS at once, and the worker step books the fee exactly once later, with doubling backoff between attempts', async () => {
    const { paid, eventRowId } = await paidHostedCheckout();
    // Every look-up of the webhook's processing fails, then the follow-up's first two.
    psp.lookupFailures = FEE_FETCH_ATTEMPTS + 2;
    expect(await processPspEvent(runtime, eventRowId)).toMatch(/^succeeded: 2 order/);
    expect(await statuses(paid.checkoutId)).toEqual(['SUCCESS', 'SUCCESS']);
    expect(await feeEntries(paid.reference)).toEqual([]);
    expect(await markOf(paid.subject)).toMatchObject({ fee_attempts: 0, gave_up: false });

    // Attempt 1 fails: the next is due after the base delay; attempt 2 fails: after twice that.
    expect(await followUpPspFees(runtime)).toBe(1);
    expect(await markOf(paid.subject)).toMatchObject({ fee_attempts: 1, due_in_s: BASE_MS / 1000 });
    expect(await followUpPspFees(runtime)).toBe(0); // not due yet: the PSP is not asked
    await makeDue(paid.subject);
    expect(await followUpPspFees(runtime)).toBe(1);
    expect(await markOf(paid.subject)).toMatchObject({ fee_attempts: 2, due_in_s: (2 * BASE_MS) / 1000 });
    expect((await markOf(paid.subject))?.last_error).toContain('503');

    // Attempt 3 reaches the PSP: the fee is booked and the mark cleared in one transaction.
    await makeDue(paid.subject);
    expect(await followUpPspFees(runtime)).toBe(1);
    expect(await markOf(paid.subject)).toBeUndefined();
    expect(await feeEntries(paid.reference)).toEqual([FEE]);
    expect(await followUpPspFees(runtime)).toBe(0);
    expect(await feeEntries(paid.reference)).toEqual([FEE]);
    expect((await verifyLedger(t.db.pool)).ok).toBe(true);
  });

  it('two workers following up at once ask the PSP once and book one fee entry', async () => {
    const { paid, eventRowId } = await paidHostedCheckout();
    psp.lookupFailures = FEE_FETCH_ATTEMPTS;
    await processPspEvent(runtime, eventRowId);
    expect(await markOf(paid.subject)).toMatchObject({ fee_attempts: 0 });
    const calls = psp.lookupCalls;
    const claimed = await Promise.all([followUpPspFees(runtime), followUpPspFees(runtime)]);
    expect(claimed.sort()).toEqual([0, 1]);
    expect(psp.lookupCalls - calls).toBe(1);
    expect(await feeEntries(paid.reference)).toEqual([FEE]);
    expect(await markOf(paid.subject)).toBeUndefined();
  });

  it('a fee booked meanwhile under the same reference (by reconciliation) is not booked again: the mark is cleared, one entry stays', async () => {
    const { paid, eventRowId } = await paidHostedCheckout();
    psp.lookupFailures = FEE_FETCH_ATTEMPTS;
    await processPspEvent(runtime, eventRowId);
    await withTransaction(t.db.pool, async (client) => {
      await postEntry(
        client,
        pspFeeCharged({
          currency: 'USD',
          feeId: paid.reference.slice('psp_fee:'.length),
          feeMinor: FEE,
          reason: 'booked by reconciliation from the settlement report',
        }),
      );
    });
    expect(await followUpPspFees(runtime)).toBe(1);
    expect(await markOf(paid.subject)).toBeUndefined();
    expect(await feeEntries(paid.reference)).toEqual([FEE]);
    expect((await verifyLedger(t.db.pool)).ok).toBe(true);
  });

  it('a fee the PSP never says is asked a bounded number of times, then flagged and left to reconciliation, with no fee entry', async () => {
    const { paid, eventRowId } = await paidHostedCheckout();
    psp.lookupFailures = 1_000;
    await processPspEvent(runtime, eventRowId);
    expect(await statuses(paid.checkoutId)).toEqual(['SUCCESS', 'SUCCESS']);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      await makeDue(paid.subject);
      expect(await followUpPspFees(runtime)).toBe(1);
      // The delay doubles up to its cap: 1, 2, then 3 (not 4) × base.
      if (attempt === 3) expect(await markOf(paid.subject)).toMatchObject({ due_in_s: (3 * BASE_MS) / 1000 });
    }
    expect(await markOf(paid.subject)).toMatchObject({ fee_attempts: MAX_ATTEMPTS, gave_up: true });
    const calls = psp.lookupCalls;
    await makeDue(paid.subject);
    expect(await followUpPspFees(runtime)).toBe(0);
    expect(psp.lookupCalls).toBe(calls);
    expect(await feeEntries(paid.reference)).toEqual([]);
    expect((await verifyLedger(t.db.pool)).ok).toBe(true);
  });

  it('a success whose fee comes with the first look-up books it in the settling transaction and marks nothing', async () => {
    const { paid, eventRowId } = await paidHostedCheckout();
    await processPspEvent(runtime, eventRowId);
    expect(await statuses(paid.checkoutId)).toEqual(['SUCCESS', 'SUCCESS']);
    expect(await feeEntries(paid.reference)).toEqual([FEE]);
    expect(await markOf(paid.subject)).toBeUndefined();
  });

  it('a converted charge whose first answer lacked its balance transaction gets its FX settlement booked by the follow-up, with the fee, once', async () => {
    // 49.50 EUR for two USD sellers; the PSP settles it in USD at 1.081167: 53.52 USD.
    psp.settlement = {
      currency: 'USD',
      rate: '1.081167',
      settledMinor: (amountMinor) => (amountMinor * 1_081_167n + 500_000n) / 1_000_000n,
    };
    const { paid, eventRowId } = await paidHostedCheckout('EUR');
    psp.lookupFailures = FEE_FETCH_ATTEMPTS;
    expect(await processPspEvent(runtime, eventRowId)).toMatch(/^succeeded: 2 order/);
    const settled = `fx_settled:txn_${paid.sessionId.slice(3)}`;
    expect(await feeEntries(settled)).toEqual([]);
    expect(await followUpPspFees(runtime)).toBe(1);
    expect(await feeEntries(paid.reference)).toEqual([FEE]);
    const entry = await t.db.pool.query<{ code: string; is_credit: boolean; amount: bigint }>(
      `SELECT a.code, p.is_credit, p.amount_minor AS amount FROM ledger.entries e
         JOIN ledger.postings p ON p.entry_id = e.id JOIN ledger.accounts a ON a.id = p.account_id
        WHERE e.reference = $1 ORDER BY a.code, p.is_credit`,
      [settled],
    );
    // EUR leaves clearing; 53.52 USD arrives against 53.78 USD booked at the mid rate (43.46 + 10.32: each order's
    // 40.00 and 9.50 EUR at 1.0866, rounded): a 0.26 loss.
    expect(entry.rows.map((r) => `${r.is_credit ? 'Cr' : 'Dr'} ${r.code} ${BigInt(r.amount)}`)).toEqual([
      'Dr platform:fx_gain_loss:USD 26',
      'Dr platform:fx_position:EUR 4950',
      'Cr platform:fx_position:USD 5378',
      'Cr platform:psp_clearing:EUR 4950',
      'Dr platform:psp_clearing:USD 5352',
    ]);
    expect(await followUpPspFees(runtime)).toBe(0);
    expect((await verifyLedger(t.db.pool)).ok).toBe(true);
  });
});
