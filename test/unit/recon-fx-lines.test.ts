import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fxSettlementDifference } from '../../src/ledger/index.ts';
import {
  classifyFxLine,
  convertedSide,
  withinTolerance,
} from '../../src/reconciliation/domain/classify-fx.ts';
import { classifyPspLine, type PspLineContext } from '../../src/reconciliation/domain/classify-psp.ts';
import { readHeader, readLine, type PspLine } from '../../src/reconciliation/psp-report/reader.ts';

/**
 * Reconciliation of converted charges (docs/currencies.md "Reconciliation"): the tolerance is exact bigint
 * arithmetic, the outcome of a line follows from the settled and booked amounts alone, a booked difference
 * balances per currency, and a converted line is matched to its orders in the currency the buyer paid.
 */

const line = (
  gross: bigint,
  facing = { currency: 'EUR', amountMinor: 10_000n },
): PspLine & { importId: string } => ({
  importId: 'rimp_test',
  line: 2,
  balanceTransactionId: 'txn_fx',
  category: 'charge',
  currency: 'USD',
  grossMinor: gross,
  feeMinor: 0n,
  netMinor: gross,
  createdAt: undefined,
  availableOn: undefined,
  sourceId: 'ch_fx',
  description: undefined,
  chargeId: 'ch_fx',
  paymentIntentId: 'pi_fx',
  payoutId: undefined,
  payoutEffectiveAt: undefined,
  disputeReason: undefined,
  metadata: { payment_order_id: 'po_fx' },
  customerFacing: facing,
});

const amount = fc.bigInt({ min: 1n, max: 10n ** 15n });
const bps = fc.integer({ min: 0, max: 10_000 });

describe('the FX tolerance, in bigint', () => {
  it('is |d| × 10 000 ≤ bps × booked, exactly: the largest difference within it is floor(bps × booked / 10 000)', () => {
    fc.assert(
      fc.property(amount, bps, (booked, tolerance) => {
        const largest = (BigInt(tolerance) * booked) / 10_000n;
        expect(withinTolerance(largest, booked, tolerance)).toBe(true);
        expect(withinTolerance(-largest, booked, tolerance)).toBe(true);
        expect(withinTolerance(largest + 1n, booked, tolerance)).toBe(false);
        expect(withinTolerance(-(largest + 1n), booked, tolerance)).toBe(false);
      }),
    );
  });

  it('is symmetric in sign and monotone in the tolerance', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), amount, bps, bps, (d, booked, a, b) => {
        expect(withinTolerance(d, booked, a)).toBe(withinTolerance(-d, booked, a));
        if (withinTolerance(d, booked, Math.min(a, b)))
          expect(withinTolerance(d, booked, Math.max(a, b))).toBe(true);
      }),
    );
  });

  it('a zero tolerance admits only no difference; 10 000 bp admits up to the booked amount itself', () => {
    expect(withinTolerance(0n, 1n, 0)).toBe(true);
    expect(withinTolerance(1n, 10n ** 18n, 0)).toBe(false);
    expect(withinTolerance(500n, 500n, 10_000)).toBe(true);
    expect(withinTolerance(501n, 500n, 10_000)).toBe(false);
    expect(() => withinTolerance(1n, 0n, 10)).toThrow(RangeError);
    expect(() => withinTolerance(1n, 1n, 10_001)).toThrow(RangeError);
    expect(() => withinTolerance(1n, 1n, 1.5)).toThrow(RangeError);
  });
});

describe('a converted charge line, against the booked conversion', () => {
  it('is matched, booked within the tolerance, or an fx_difference beyond it; the difference is settled − booked', () => {
    fc.assert(
      fc.property(amount, fc.bigInt({ min: -(10n ** 6n), max: 10n ** 6n }), bps, (booked, d, tolerance) => {
        fc.pre(booked + d > 0n);
        const outcome = classifyFxLine(
          line(booked + d),
          { settledMinor: booked, currency: 'USD' },
          tolerance,
          {},
        );
        expect(outcome?.differenceMinor).toBe(d);
        const expected =
          d === 0n
            ? 'fx_matched'
            : withinTolerance(d, booked, tolerance)
              ? 'fx_difference_booked'
              : 'fx_difference';
        expect(outcome?.kind).toBe(expected);
        expect(outcome?.bookMinor).toBe(expected === 'fx_difference_booked' ? d : undefined);
        expect(outcome?.finding?.kind).toBe(expected === 'fx_difference' ? 'fx_difference' : undefined);
      }),
    );
  });

  it('with no conversion booked is fx_settlement_unbooked, for finance, keyed by the balance transaction', () => {
    const outcome = classifyFxLine(line(10_812n), undefined, 10, {});
    expect(outcome).toMatchObject({
      kind: 'fx_settlement_unbooked',
      bookedMinor: undefined,
      reportedMinor: 10_812n,
    });
    expect(outcome?.finding).toMatchObject({
      kind: 'fx_settlement_unbooked',
      dedupeKey: 'fx_settlement_unbooked:txn_fx',
      currency: 'USD',
      amountMinor: 10_812n,
    });
  });

  it('is not an FX line when it settled in the currency charged, or carries no customer-facing amount', () => {
    expect(convertedSide(line(100n, { currency: 'USD', amountMinor: 100n }))).toBeUndefined();
    expect(classifyFxLine({ ...line(100n), customerFacing: undefined }, undefined, 10, {})).toBeUndefined();
  });
});

describe('fxSettlementDifference', () => {
  it('balances in the settlement currency, moving PSP clearing and FX gain/loss by the difference', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }).filter((d) => d !== 0n),
        (d) => {
          const entry = fxSettlementDifference({
            balanceTransactionId: 'txn_fx',
            presentmentCurrency: 'EUR',
            settlementCurrency: 'USD',
            differenceMinor: d,
          });
          const signed = entry.postings.map((p) =>
            p.direction === 'debit' ? p.amountMinor : -p.amountMinor,
          );
          expect(signed.reduce((a, b) => a + b, 0n)).toBe(0n);
          expect(entry.postings.every((p) => p.account.currency === 'USD')).toBe(true);
          const clearing = entry.postings.find((p) => p.account.code === 'platform:psp_clearing:USD');
          expect(
            clearing?.direction === 'debit' ? clearing.amountMinor : -(clearing?.amountMinor ?? 0n),
          ).toBe(d);
          expect(entry.reference).toBe('fx_difference:txn_fx');
        },
      ),
    );
    expect(() =>
      fxSettlementDifference({
        balanceTransactionId: 't',
        presentmentCurrency: 'EUR',
        settlementCurrency: 'USD',
        differenceMinor: 0n,
      }),
    ).toThrow();
  });
});

describe('the report line of a converted charge', () => {
  it('is read with its customer-facing amount in the presentment currency, and refused with only half of it', () => {
    const header = readHeader(
      [
        'balance_transaction_id',
        'currency',
        'gross',
        'fee',
        'net',
        'reporting_category',
        'customer_facing_amount',
        'customer_facing_currency',
      ],
      1,
    );
    const read = readLine(header, ['txn_1', 'usd', '108.12', '3.44', '104.68', 'charge', '10000', 'jpy'], 2);
    expect(read.customerFacing).toEqual({ currency: 'JPY', amountMinor: 10_000n });
    expect(() => readLine(header, ['txn_1', 'usd', '1.00', '0', '1.00', 'charge', '1.00', ''], 3)).toThrow(
      /customer_facing_amount/,
    );
    expect(
      readLine(header, ['txn_1', 'usd', '1.00', '0', '1.00', 'payout', '', ''], 4).customerFacing,
    ).toBeUndefined();
  });

  it('matches its orders in the currency the buyer paid, and carries the FX outcome', () => {
    const ctx: PspLineContext = {
      seenBefore: undefined,
      orders: [
        {
          paymentOrderId: 'po_fx',
          checkoutId: 'co_fx',
          amountMinor: 10_000n,
          currency: 'EUR',
          status: 'SUCCESS',
          pspPaymentId: 'pi_fx',
        },
      ],
      matchedBy: 'payment_order_id',
      ordersMatchedByOther: undefined,
      feeBookedMinor: undefined,
      bookedEntryMinor: undefined,
      fxSettled: { settledMinor: 10_810n, currency: 'USD' },
      fxToleranceBps: 10,
    };
    const result = classifyPspLine(line(10_812n), ctx);
    expect(result.matched).toBe(true);
    expect(result.findings).toEqual([]);
    expect(result.fx).toMatchObject({ kind: 'fx_difference_booked', bookMinor: 2n });
    const other = classifyPspLine(line(10_812n, { currency: 'EUR', amountMinor: 9_999n }), ctx);
    expect(other.findings.map((f) => f.kind)).toEqual(['amount_mismatch']);
    expect(other.fx).toBeUndefined();
  });
});

describe('the report lines of refunds and disputes of a converted charge', () => {
  const ctx = (over: Partial<PspLineContext>): PspLineContext => ({
    seenBefore: undefined,
    orders: [],
    matchedBy: undefined,
    ordersMatchedByOther: undefined,
    feeBookedMinor: undefined,
    bookedEntryMinor: undefined,
    fxToleranceBps: 10,
    ...over,
  });
  const moneyBack = (
    category: string,
    gross: bigint,
    facing: bigint,
    fee = 0n,
  ): PspLine & { importId: string } => ({
    ...line(gross, { currency: 'EUR', amountMinor: facing }),
    balanceTransactionId: `txn_${category}`,
    category,
    sourceId: category.startsWith('refund') ? 're_fx' : 'dp_fx',
    feeMinor: fee,
    netMinor: gross - fee,
  });

  it('a refund is matched in EUR against its entry, and what the PSP took in USD against its conversion: a cent less is a gain within the tolerance', () => {
    const refund = moneyBack('refund', -1_091n, -1_000n);
    const result = classifyPspLine(
      refund,
      ctx({ bookedEntryMinor: 1_000n, fxSettled: { settledMinor: -1_092n, currency: 'USD' } }),
    );
    expect(result).toMatchObject({ matched: true, findings: [] });
    expect(result.fx).toMatchObject({
      kind: 'fx_difference_booked',
      category: 'refund',
      presentmentMinor: 1_000n,
      reportedMinor: 1_091n,
      bookedMinor: 1_092n,
      differenceMinor: -1n,
      bookMinor: 1n,
    });
    const beyond = classifyPspLine(
      moneyBack('refund', -1_142n, -1_000n),
      ctx({ bookedEntryMinor: 1_000n, fxSettled: { settledMinor: -1_092n, currency: 'USD' } }),
    );
    expect(beyond.findings.map((f) => [f.kind, f.dedupeKey, f.amountMinor])).toEqual([
      ['fx_difference', 'fx_difference:txn_refund', -50n],
    ]);
    const unbooked = classifyPspLine(refund, ctx({ bookedEntryMinor: 1_000n }));
    expect(unbooked.findings.map((f) => f.kind)).toEqual(['fx_settlement_unbooked']);
  });

  it('a refund whose EUR amount differs from its entry is an amount_mismatch in EUR, its conversion not compared', () => {
    const result = classifyPspLine(
      moneyBack('refund', -1_092n, -1_000n),
      ctx({ bookedEntryMinor: 900n, fxSettled: { settledMinor: -1_092n, currency: 'USD' } }),
    );
    expect(result.findings.map((f) => [f.kind, f.currency, f.amountMinor])).toEqual([
      ['amount_mismatch', 'EUR', 100n],
    ]);
    expect(result.fx).toBeUndefined();
  });

  it('a dispute and its reversal: the amount in EUR, the fee in USD, the conversion both ways', () => {
    const withdrawal = classifyPspLine(
      moneyBack('dispute', -5_460n, -5_000n, 1_500n),
      ctx({
        bookedEntryMinor: 5_000n,
        feeBookedMinor: 1_500n,
        fxSettled: { settledMinor: -5_460n, currency: 'USD' },
      }),
    );
    expect(withdrawal).toMatchObject({ matched: true, findings: [], fx: { kind: 'fx_matched' } });
    const reversal = moneyBack('dispute_reversal', 5_460n, 5_000n, -1_500n);
    const won = classifyPspLine(
      reversal,
      ctx({
        bookedEntryMinor: 5_000n,
        bookedFeeReturnedMinor: 1_500n,
        fxSettled: { settledMinor: 5_460n, currency: 'USD' },
      }),
    );
    expect(won).toMatchObject({ matched: true, findings: [], fx: { kind: 'fx_matched' } });
    const feeOff = classifyPspLine(
      reversal,
      ctx({
        bookedEntryMinor: 5_000n,
        bookedFeeReturnedMinor: 0n,
        fxSettled: { settledMinor: 5_460n, currency: 'USD' },
      }),
    );
    expect(feeOff.findings.map((f) => [f.kind, f.amountMinor])).toEqual([['fee_mismatch', 1_500n]]);
  });
});
