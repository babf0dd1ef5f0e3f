import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  platformFeeBack,
  pspFeeShare,
  refundBooked,
  refundPspFee,
  refundReversed,
  splitClawback,
} from '../../src/ledger/index.ts';
import { validateEntry } from '../../src/ledger/validate.ts';
import { interpretStripeEvent } from '../../src/psp/stripe/index.ts';

function sums(entry: ReturnType<typeof refundBooked>) {
  let debit = 0n;
  let credit = 0n;
  for (const posting of entry.postings) {
    if (posting.direction === 'debit') debit += posting.amountMinor;
    else credit += posting.amountMinor;
  }
  return { debit, credit };
}

const facts = {
  refundId: 'rf_1',
  pspRefundId: 're_1',
  paymentOrderId: 'po_1',
  sellerId: 's1',
  currency: 'USD',
};

describe('refund recipes (pure)', () => {
  it('the worked example of docs/refunds.md: 100.00 sale, 10 % fee, refund 40.00 proportional, PSP fee 3.20 passed on', () => {
    const feeBack = platformFeeBack({
      policy: 'proportional',
      orderFeeMinor: 1000n,
      grossMinor: 10000n,
      bookedBeforeMinor: 0n,
      feeBackBeforeMinor: 0n,
      amountMinor: 4000n,
    });
    expect(feeBack).toBe(400n);
    const split = splitClawback({ pending: 2500n, available: 5000n, reserved: 0n }, 4000n - feeBack);
    expect(split).toEqual({ pending: 2500n, available: 1100n, reserved: 0n, receivable: 0n });
    const entry = refundBooked({ ...facts, amountMinor: 4000n, platformFeeBackMinor: feeBack, split });
    expect(entry.reference).toBe('refund:re_1');
    expect(entry.kind).toBe('refund');
    expect(sums(entry)).toEqual({ debit: 4000n, credit: 4000n });
    expect(pspFeeShare(320n, 10000n, 4000n)).toBe(128n);
    const fee = refundPspFee({
      ...facts,
      feeMinor: 128n,
      split: splitClawback({ pending: 0n, available: 3900n, reserved: 0n }, 128n),
    });
    expect(fee.kind).toBe('refund.psp_fee');
  });

  it('proportional fee back over any sequence of partial refunds adds up to the whole fee when fully refunded', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10_000_000n }),
        fc.bigInt({ min: 0n, max: 10_000n }),
        fc.array(fc.bigInt({ min: 1n, max: 1_000_000n }), { minLength: 1, maxLength: 8 }),
        (gross, bps, parts) => {
          const fee = (gross * bps) / 10_000n;
          let booked = 0n;
          let back = 0n;
          const amounts = [...parts.map((p) => (p % gross) + 1n)];
          for (const raw of amounts) {
            const amount = raw > gross - booked ? gross - booked : raw;
            if (amount <= 0n) break;
            const part = platformFeeBack({
              policy: 'proportional',
              orderFeeMinor: fee,
              grossMinor: gross,
              bookedBeforeMinor: booked,
              feeBackBeforeMinor: back,
              amountMinor: amount,
            });
            expect(part >= 0n && part <= amount).toBe(true);
            booked += amount;
            back += part;
          }
          const last = gross - booked;
          if (last > 0n) {
            back += platformFeeBack({
              policy: 'proportional',
              orderFeeMinor: fee,
              grossMinor: gross,
              bookedBeforeMinor: booked,
              feeBackBeforeMinor: back,
              amountMinor: last,
            });
          }
          expect(back).toBe(fee);
        },
      ),
    );
  });

  it('a booked refund and its reversal are balanced entries for any balances and amounts', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 1_000_000n }),
        fc.bigInt({ min: 0n, max: 100n }),
        fc.record({
          pending: fc.bigInt({ min: 0n, max: 1_000_000n }),
          available: fc.bigInt({ min: 0n, max: 1_000_000n }),
          reserved: fc.bigInt({ min: 0n, max: 1_000_000n }),
        }),
        (amount, pct, balances) => {
          const feeBack = (amount * pct) / 100n;
          const split = splitClawback(balances, amount - feeBack);
          const booked = refundBooked({
            ...facts,
            amountMinor: amount,
            platformFeeBackMinor: feeBack,
            split,
          });
          expect(() => validateEntry(booked)).not.toThrow();
          const reversed = refundReversed({
            ...facts,
            amountMinor: amount,
            platformFeeBackMinor: feeBack,
            toReceivableMinor: split.receivable,
          });
          expect(reversed.kind).toBe('refund.reversed');
          expect(() => validateEntry(reversed)).not.toThrow();
        },
      ),
    );
  });

  it('the Stripe adapter reads refund events: ours by metadata, final ones only, charge.refunded lists', () => {
    const meaning = interpretStripeEvent({
      type: 'charge.refunded',
      object: {
        id: 'ch_1',
        payment_intent: 'pi_1',
        refunds: {
          data: [
            {
              id: 're_1',
              amount: 500,
              currency: 'usd',
              status: 'succeeded',
              metadata: { bursar_refund_id: 'rf_x' },
            },
            { id: 're_2', amount: 100, currency: 'usd', status: 'pending', metadata: {} },
          ],
        },
      },
    });
    expect(meaning).toMatchObject({
      subject: 'refund',
      refundId: 're_1',
      refunds: [
        { refundId: 're_1', paymentId: 'pi_1', chargeId: 'ch_1', amountMinor: 500n, bursarRefundId: 'rf_x' },
      ],
    });
    expect(
      interpretStripeEvent({
        type: 'charge.refund.updated',
        object: {
          id: 're_3',
          amount: 1,
          currency: 'usd',
          status: 'failed',
          failure_reason: 'lost_or_stolen_card',
        },
      }),
    ).toMatchObject({
      subject: 'refund',
      state: 'failed',
      refunds: [{ failureReason: 'lost_or_stolen_card' }],
    });
  });
});
