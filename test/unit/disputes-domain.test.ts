import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allocate,
  planReinstatement,
  planWithdrawal,
  statusRank,
  DISPUTE_STATUSES,
  type DisputedOrder,
} from '../../src/disputes/domain.ts';
import { disputeFeeCharged, disputeReinstated, disputeWithdrawn } from '../../src/ledger/index.ts';
import { validateEntry } from '../../src/ledger/validate.ts';
import { interpretStripeEvent } from '../../src/psp/stripe/events.ts';

const minor = fc.bigInt({ min: 0n, max: 10_000_000n });

const ordersArb = fc.array(
  fc.record({
    seller: fc.constantFrom('s1', 's2', 's3'),
    amount: fc.bigInt({ min: 1n, max: 1_000_000n }),
    bearer: fc.constantFrom('seller' as const, 'platform' as const),
  }),
  { minLength: 1, maxLength: 5 },
);

function ordersOf(
  input: Array<{ seller: string; amount: bigint; bearer: 'seller' | 'platform' }>,
): DisputedOrder[] {
  return input.map((o, i) => ({
    paymentOrderId: `po${i}`,
    sellerAccount: o.seller,
    amountMinor: o.amount,
    feeBearer: o.bearer,
  }));
}

describe('dispute allocation (pure)', () => {
  it('allocate: the parts are never negative and add up to the total exactly', () => {
    fc.assert(
      fc.property(minor, fc.array(minor, { minLength: 1, maxLength: 8 }), (total, weights) => {
        const parts = allocate(total, weights);
        expect(parts).toHaveLength(weights.length);
        expect(parts.every((p) => p >= 0n)).toBe(true);
        expect(parts.reduce((a, b) => a + b, 0n)).toBe(total);
      }),
    );
  });

  it('the withdrawal takes amount + seller fee from the balances pending → available → reserved, never more than they hold, the rest as a receivable', () => {
    fc.assert(
      fc.property(
        ordersArb,
        minor,
        minor,
        fc.array(minor, { minLength: 9, maxLength: 9 }),
        (raw, amount, fee, b) => {
          const orders = ordersOf(raw);
          const balances = new Map(
            ['s1', 's2', 's3'].map((s, i) => [
              s,
              { pending: b[i * 3] ?? 0n, available: b[i * 3 + 1] ?? 0n, reserved: b[i * 3 + 2] ?? 0n },
            ]),
          );
          const plans = planWithdrawal(orders, amount, fee, balances);
          expect(plans.reduce((sum, p) => sum + p.amountMinor, 0n)).toBe(amount);
          expect(plans.reduce((sum, p) => sum + p.feeShareMinor, 0n)).toBe(fee);
          for (const seller of ['s1', 's2', 's3']) {
            const mine = plans.filter((p) => p.sellerAccount === seller);
            const have = balances.get(seller);
            const took = (k: 'pending' | 'available' | 'reserved') =>
              mine.reduce((sum, p) => sum + p.amountSplit[k] + p.feeSplit[k], 0n);
            expect(took('pending')).toBeLessThanOrEqual(have?.pending ?? 0n);
            expect(took('available')).toBeLessThanOrEqual(have?.available ?? 0n);
            expect(took('reserved')).toBeLessThanOrEqual(have?.reserved ?? 0n);
          }
          for (const p of plans) {
            const f = p.feeSplit;
            expect(f.pending + f.available + f.reserved + f.receivable).toBe(p.sellerFeeMinor);
            const a = p.amountSplit;
            expect(a.pending + a.available + a.reserved + a.receivable).toBe(p.amountMinor);
          }
          // The recipes accept the plan: balanced entries.
          if (amount > 0n) {
            validateEntry(
              disputeWithdrawn({
                disputeId: 'dsp_1',
                pspDisputeId: 'dp_1',
                currency: 'USD',
                amountMinor: amount,
                parts: plans.map((p) => ({ sellerId: p.sellerAccount, split: p.amountSplit })),
              }),
            );
          }
          if (fee > 0n) {
            validateEntry(
              disputeFeeCharged({
                disputeId: 'dsp_1',
                pspDisputeId: 'dp_1',
                currency: 'USD',
                feeMinor: fee,
                balanceTransactionId: 'txn_1',
                sellerParts: plans.map((p) => ({ sellerId: p.sellerAccount, split: p.feeSplit })),
              }),
            );
          }
        },
      ),
    );
  });

  it('the reinstatement gives back exactly what the PSP returned, cancelling receivables first and never above what is owed there', () => {
    fc.assert(
      fc.property(ordersArb, minor, fc.bigInt({ min: 0n, max: 5000n }), minor, (raw, amount, fee, owed) => {
        const orders = ordersOf(raw);
        const empty = new Map<string, { pending: bigint; available: bigint; reserved: bigint }>();
        const plans = planWithdrawal(orders, amount, fee, empty);
        const stored = plans.map((p) => ({
          paymentOrderId: p.paymentOrderId,
          sellerAccount: p.sellerAccount,
          amountMinor: p.amountMinor,
          sellerFeeMinor: p.sellerFeeMinor,
          fromPending: 0n,
          fromAvailable: 0n,
          fromReserved: 0n,
          fromReceivable: p.amountMinor + p.sellerFeeMinor,
        }));
        const receivables = new Map([['s1', owed]]);
        const plan = planReinstatement(stored, amount, fee, fee, receivables);
        const given = plan.gives.reduce(
          (sum, g) => sum + g.toReceivable + g.toPending + g.toAvailable + g.toReserved,
          plan.platformFeeBackMinor,
        );
        expect(given).toBe(amount + fee);
        const toS1 = plan.gives
          .filter((g) => g.sellerAccount === 's1')
          .reduce((s, g) => s + g.toReceivable, 0n);
        expect(toS1).toBeLessThanOrEqual(owed);
        expect(plan.gives.filter((g) => g.sellerAccount !== 's1').every((g) => g.toReceivable === 0n)).toBe(
          true,
        );
        if (amount + fee > 0n) {
          validateEntry(
            disputeReinstated({
              disputeId: 'dsp_1',
              pspDisputeId: 'dp_1',
              currency: 'USD',
              amountMinor: amount + fee,
              gives: plan.gives.map((g) => ({ ...g, sellerId: g.sellerAccount })),
              platformFeeBackMinor: plan.platformFeeBackMinor,
            }),
          );
        }
      }),
    );
  });

  it('statuses only rank forward to the final ones', () => {
    expect(statusRank('warning_needs_response')).toBeLessThan(statusRank('needs_response'));
    expect(statusRank('needs_response')).toBeLessThan(statusRank('under_review'));
    for (const s of ['won', 'lost', 'warning_closed', 'prevented'] as const) expect(statusRank(s)).toBe(3);
    expect(DISPUTE_STATUSES).toContain('warning_under_review');
  });
});

describe('Stripe dispute events', () => {
  const object = {
    id: 'dp_1',
    object: 'dispute',
    amount: 1000,
    currency: 'usd',
    charge: 'ch_1',
    payment_intent: 'pi_1',
    status: 'won',
    reason: 'fraudulent',
    created: 1_700_000_000,
    evidence_details: { due_by: 1_700_600_000 },
    balance_transactions: [
      { id: 'txn_w', amount: -1000, fee: 1500, currency: 'usd' },
      { id: 'txn_r', amount: 1000, fee: -1500, currency: 'usd' },
    ],
  };

  it('reads amount, status, fee withdrawn and returned from every charge.dispute.* event', () => {
    for (const type of [
      'charge.dispute.created',
      'charge.dispute.updated',
      'charge.dispute.closed',
      'charge.dispute.funds_withdrawn',
      'charge.dispute.funds_reinstated',
    ]) {
      const meaning = interpretStripeEvent({ type, object });
      expect(meaning).toMatchObject({
        subject: 'dispute',
        disputeId: 'dp_1',
        paymentId: 'pi_1',
        state: 'closed',
      });
      if (meaning.subject !== 'dispute') throw new Error('not a dispute');
      expect(meaning.dispute).toMatchObject({
        amountMinor: 1000n,
        currency: 'USD',
        chargeId: 'ch_1',
        withdrawn: { balanceTransactionId: 'txn_w', amountMinor: 1000n, feeMinor: 1500n },
        reinstated: { balanceTransactionId: 'txn_r', amountMinor: 1000n, feeMinor: 1500n },
      });
    }
  });

  it('an inquiry (no balance transaction) withdraws nothing', () => {
    const meaning = interpretStripeEvent({
      type: 'charge.dispute.created',
      object: { ...object, status: 'warning_needs_response', balance_transactions: [] },
    });
    if (meaning.subject !== 'dispute') throw new Error('not a dispute');
    expect(meaning.state).toBe('opened');
    expect(meaning.dispute?.withdrawn).toBeUndefined();
  });
});
