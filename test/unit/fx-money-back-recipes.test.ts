import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitClawback, type ClawbackSplit } from '../../src/ledger/clawback.ts';
import {
  disputeReinstatedConverted,
  disputeWithdrawn,
  type SellerGiveBackConverted,
} from '../../src/ledger/recipes-dispute.ts';
import {
  fxSettled,
  fxSettledOut,
  realisedOnShare,
  refundConverted,
  refundReversedConverted,
} from '../../src/ledger/recipes-fx.ts';
import type { EntryInput } from '../../src/ledger/types.ts';
import { validateEntry } from '../../src/ledger/validate.ts';
import { convertMinor, parseRate, rateLessMarkup, type Rate } from '../../src/fx/rate.ts';

/**
 * The money-back recipes of converted orders (docs/currencies.md "Refunds and disputes"): a refund, its reversal,
 * a dispute withdrawn and reinstated, and the PSP's conversion of each (fxSettledOut / fxSettled). Every entry
 * balances per currency, a reversal or a won dispute gives back exactly what was taken in the same currencies,
 * and the FX positions close on the share credited in the settlement currency, leaving only the realised result.
 */

/** Debits − credits per currency (or per account), over the postings `filter` keeps. */
function net(entries: EntryInput[], key: (code: string, currency: string) => string | undefined) {
  const out = new Map<string, bigint>();
  for (const entry of entries)
    for (const p of entry.postings) {
      const k = key(p.account.code, p.account.currency);
      if (k === undefined) continue;
      out.set(k, (out.get(k) ?? 0n) + (p.direction === 'debit' ? p.amountMinor : -p.amountMinor));
    }
  return out;
}
const byCurrency = (code: string, currency: string) => currency;
const byAccount = (code: string) => code;
const nonZero = (values: Map<string, bigint>) => [...values].filter(([, v]) => v !== 0n);

const PAIRS = [
  ['EUR', 'USD'],
  ['EUR', 'GBP'],
  ['JPY', 'USD'],
  ['KWD', 'USD'],
  ['USD', 'JPY'],
] as const;
const arbRate = fc
  .tuple(fc.bigInt({ min: 1n, max: 10n ** 10n }), fc.integer({ min: 0, max: 10 }))
  .map(([coefficient, scale]): Rate => ({ coefficient, scale }));
const arbBuckets = fc.record({
  pending: fc.bigInt({ min: 0n, max: 10n ** 9n }),
  available: fc.bigInt({ min: 0n, max: 10n ** 9n }),
  reserved: fc.bigInt({ min: 0n, max: 10n ** 9n }),
});

function splitTotal(split: ClawbackSplit): bigint {
  return split.pending + split.available + split.reserved + split.receivable;
}

describe('money back on converted orders: ledger recipes', () => {
  it('the worked refund: 10.00 EUR back to the buyer, 10.76 USD from the seller at the order’s rate, then 10.92 USD paid by the PSP (a 0.16 loss)', () => {
    const refund = refundConverted({
      refundId: 'rf_1',
      pspRefundId: 're_1',
      paymentOrderId: 'po_1',
      sellerId: 's1',
      presentmentCurrency: 'EUR',
      amountMinor: 1_000n,
      settlementCurrency: 'USD',
      settledMinor: 1_076n,
      platformFeeBackMinor: 107n,
      split: { pending: 969n, available: 0n, reserved: 0n, receivable: 0n },
      rate: '1.075734',
    });
    expect(refund.reference).toBe('refund:re_1');
    expect(refund.postings.map((p) => `${p.direction} ${p.account.code} ${p.amountMinor}`).sort()).toEqual(
      [
        'debit platform:fx_position:EUR 1000',
        'credit platform:psp_clearing:EUR 1000',
        'debit seller:s1:pending:USD 969',
        'debit platform:fee_revenue:USD 107',
        'credit platform:fx_position:USD 1076',
      ].sort(),
    );
    const settled = fxSettledOut({
      settlementId: 'txn_r',
      presentmentCurrency: 'EUR',
      amountMinor: 1_000n,
      settlementCurrency: 'USD',
      settledMinor: 1_092n,
      realisedMinor: realisedOnShare({
        direction: 'out',
        settledMinor: 1_092n,
        totalMinor: 1_000n,
        shareMinor: 1_000n,
        bookedMinor: 1_076n,
      }),
      exchangeRate: '1.092033',
    });
    expect(settled.reference).toBe('fx_settled:txn_r');
    expect(settled.kind).toBe('fx.settled_out');
    const accounts = net([refund, settled], byAccount);
    // The positions close; PSP clearing is left with what the PSP took; the 0.16 is a realised loss.
    expect(accounts.get('platform:fx_position:EUR')).toBe(0n);
    expect(accounts.get('platform:fx_position:USD')).toBe(0n);
    expect(accounts.get('platform:psp_clearing:EUR')).toBe(0n);
    expect(accounts.get('platform:psp_clearing:USD')).toBe(-1_092n);
    expect(accounts.get('platform:fx_gain_loss:USD')).toBe(16n);
  });

  it('property: a converted refund and its reversal each balance per currency, and together give back exactly what was taken, in the same currencies', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 10n }),
        arbRate,
        fc.integer({ min: 0, max: 2000 }),
        fc.constantFrom(...PAIRS),
        arbBuckets,
        fc.bigInt({ min: 0n, max: 10n ** 9n }),
        (amount, mid, feeBps, [from, to], buckets, owedLater) => {
          const settled = convertMinor(amount, rateLessMarkup(mid, 100), from, to);
          fc.pre(settled > 0n && settled <= 10n ** 15n);
          const feeBack = (settled * BigInt(feeBps)) / 10_000n;
          const split = splitClawback(buckets, settled - feeBack);
          const facts = {
            refundId: 'rf_p',
            pspRefundId: 're_p',
            paymentOrderId: 'po_p',
            sellerId: 's1',
            presentmentCurrency: from,
            amountMinor: amount,
            settlementCurrency: to,
            settledMinor: settled,
            platformFeeBackMinor: feeBack,
            rate: '1',
          };
          const refund = refundConverted({ ...facts, split });
          const toReceivable = owedLater < split.receivable ? owedLater : split.receivable;
          const reversal = refundReversedConverted({ ...facts, toReceivableMinor: toReceivable });
          for (const entry of [refund, reversal]) {
            validateEntry(entry);
            expect(nonZero(net([entry], byCurrency))).toEqual([]);
          }
          // Every platform account is back where it was; the seller's money is all back (in their buckets).
          const after = net([refund, reversal], byAccount);
          for (const [code, value] of after)
            if (code.startsWith('platform:')) expect([code, value]).toEqual([code, 0n]);
          const seller = [...after].filter(([code]) => code.startsWith('seller:'));
          expect(seller.reduce((sum, [, value]) => sum + value, 0n)).toBe(0n);
          expect(seller.every(([code]) => code.endsWith(`:${to}`))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: the PSP’s conversion of money going back balances per currency, mirrors fxSettled, and realises booked − paid', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 11n }),
        fc.bigInt({ min: 1n, max: 10n ** 11n }),
        fc.bigInt({ min: 1n, max: 10n ** 11n }),
        fc.boolean(),
        (amount, paid, booked, shared) => {
          const realised = shared
            ? realisedOnShare({
                direction: 'out',
                settledMinor: paid,
                totalMinor: amount,
                shareMinor: amount,
                bookedMinor: booked,
              })
            : 0n;
          const input = {
            settlementId: 'txn_p',
            presentmentCurrency: 'EUR',
            amountMinor: amount,
            settlementCurrency: 'USD',
            settledMinor: paid,
            realisedMinor: realised,
            exchangeRate: '1.08',
          };
          const out = fxSettledOut(input);
          validateEntry(out);
          expect(nonZero(net([out], byCurrency))).toEqual([]);
          const accounts = net([out], byAccount);
          expect(accounts.get('platform:psp_clearing:EUR')).toBe(amount);
          expect(accounts.get('platform:psp_clearing:USD')).toBe(-paid);
          expect(-(accounts.get('platform:fx_gain_loss:USD') ?? 0n)).toBe(realised);
          if (shared) expect(accounts.get('platform:fx_position:USD')).toBe(booked);
          // Money in at the same amounts (a reinstatement, a refund failure) undoes it exactly.
          const back = fxSettled({
            ...input,
            realisedMinor: shared
              ? realisedOnShare({
                  direction: 'in',
                  settledMinor: paid,
                  totalMinor: amount,
                  shareMinor: amount,
                  bookedMinor: booked,
                })
              : 0n,
          });
          expect(nonZero(net([out, back], byAccount))).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: a dispute on a checkout of converted and unconverted orders balances per currency; won, it gives back exactly what it took, fee in the PSP’s currency', () => {
    const arbOrder = fc.record({
      amount: fc.bigInt({ min: 1n, max: 10n ** 9n }),
      to: fc.constantFrom('EUR', 'USD', 'GBP', 'JPY'),
      mid: arbRate,
      buckets: arbBuckets,
      feeShare: fc.bigInt({ min: 0n, max: 5_000n }),
    });
    fc.assert(
      fc.property(
        fc.array(arbOrder, { minLength: 1, maxLength: 4 }),
        fc.bigInt({ min: 0n, max: 5_000n }),
        (orders, platformFee) => {
          const P = 'EUR';
          const F = 'USD';
          const parts = orders.map((order, index) => {
            const converted =
              order.to === P ? undefined : { currency: order.to, presentmentMinor: order.amount };
            const seller =
              converted === undefined ? order.amount : convertMinor(order.amount, order.mid, P, order.to);
            return {
              sellerId: `s${index}`,
              split: splitClawback(order.buckets, seller),
              converted,
              // Only a seller credited in the fee's currency bears a part of it.
              fee: order.to === F ? order.feeShare : 0n,
            };
          });
          fc.pre(parts.every((part) => splitTotal(part.split) <= 10n ** 14n));
          const amount = orders.reduce((sum, order) => sum + order.amount, 0n);
          const common = { disputeId: 'dsp_1', pspDisputeId: 'dp_1', currency: P };
          const withdrawn = disputeWithdrawn({ ...common, amountMinor: amount, parts });
          validateEntry(withdrawn);
          expect(nonZero(net([withdrawn], byCurrency))).toEqual([]);
          const feeReturned = parts.reduce((sum, part) => sum + part.fee, platformFee);
          const gives: SellerGiveBackConverted[] = parts.map((part) => ({
            sellerId: part.sellerId,
            converted: part.converted,
            toReceivable: part.split.receivable,
            toPending: part.split.pending,
            toAvailable: part.split.available + part.fee,
            toReserved: part.split.reserved,
            feeBackMinor: part.fee,
          }));
          const reinstated = disputeReinstatedConverted({
            ...common,
            amountMinor: amount,
            gives,
            fee: { currency: F, returnedMinor: feeReturned, platformFeeBackMinor: platformFee },
          });
          validateEntry(reinstated);
          expect(nonZero(net([reinstated], byCurrency))).toEqual([]);
          // Withdrawn and reinstated: the FX positions and EUR clearing are back; only the fee returned is left
          // (in USD, on clearing, to psp_fees and the sellers who bore it), and each seller's money is back.
          const after = net([withdrawn, reinstated], byAccount);
          expect(after.get('platform:psp_clearing:EUR') ?? 0n).toBe(0n);
          for (const [code, value] of after)
            if (code.startsWith('platform:fx_position:')) expect([code, value]).toEqual([code, 0n]);
          expect(after.get('platform:psp_clearing:USD') ?? 0n).toBe(feeReturned);
          parts.forEach((part) => {
            const mine = [...after].filter(([code]) => code.startsWith(`seller:${part.sellerId}:`));
            expect(mine.reduce((sum, [, value]) => sum + value, 0n)).toBe(-part.fee);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a converted part in the dispute’s own currency, a seller’s fee back in another currency than the fee’s, and parts that do not add up', () => {
    const common = { disputeId: 'dsp_1', pspDisputeId: 'dp_1', currency: 'EUR' };
    const split = { pending: 100n, available: 0n, reserved: 0n, receivable: 0n };
    expect(() =>
      disputeWithdrawn({
        ...common,
        amountMinor: 90n,
        parts: [{ sellerId: 's', split, converted: { currency: 'EUR', presentmentMinor: 90n } }],
      }),
    ).toThrow(/another currency/);
    expect(() =>
      disputeWithdrawn({
        ...common,
        amountMinor: 91n,
        parts: [{ sellerId: 's', split, converted: { currency: 'USD', presentmentMinor: 90n } }],
      }),
    ).toThrow(/add up/);
    const give = { sellerId: 's', toReceivable: 0n, toPending: 0n, toAvailable: 110n, toReserved: 0n };
    expect(() =>
      disputeReinstatedConverted({
        ...common,
        amountMinor: 90n,
        gives: [{ ...give, converted: { currency: 'GBP', presentmentMinor: 90n }, feeBackMinor: 10n }],
        fee: { currency: 'USD', returnedMinor: 10n, platformFeeBackMinor: 0n },
      }),
    ).toThrow(/fee's currency/);
    expect(parseRate('1.0866')).toBeDefined();
  });
});
