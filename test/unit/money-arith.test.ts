import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import {
  addMoney,
  allocate,
  basisPointsOf,
  divideRounded,
  money,
  percentOf,
  subtractMoney,
  sumMinor,
  sumMoney,
  type Money,
} from '../../src/money/index.ts';

const SETTINGS = { numRuns: 2_000, seed: 4217 };

function mismatchCode(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  return 'no error';
}

describe('adding and subtracting Money', () => {
  const usd = (amountMinor: bigint): Money => money(amountMinor, 'USD');

  it('adds and subtracts amounts of the same currency', () => {
    expect(addMoney(usd(1234n), usd(66n))).toEqual({ amountMinor: 1300n, currency: 'USD' });
    expect(subtractMoney(usd(1234n), usd(2000n))).toEqual({ amountMinor: -766n, currency: 'USD' });
  });

  it('refuses to combine different currencies with currency_mismatch', () => {
    expect(mismatchCode(() => addMoney(usd(1n), money(1n, 'EUR')))).toBe('currency_mismatch');
    expect(mismatchCode(() => subtractMoney(usd(1n), money(1n, 'JPY')))).toBe('currency_mismatch');
    expect(mismatchCode(() => sumMoney([usd(1n), money(1n, 'EUR')], 'USD'))).toBe('currency_mismatch');
  });

  it('money() checks the currency and refuses a number amount', () => {
    expect(mismatchCode(() => money(1n, 'usd'))).toBe('currency_not_uppercase');
    expect(mismatchCode(() => money(1n, 'ABC'))).toBe('currency_unknown');
    expect(() => money(1 as unknown as bigint, 'USD')).toThrow(TypeError);
  });

  it('sums lists, the empty list to zero', () => {
    expect(sumMinor([])).toBe(0n);
    expect(sumMinor([1n, 2n, -3n, 10n ** 15n])).toBe(10n ** 15n);
    expect(sumMoney([], 'JPY')).toEqual({ amountMinor: 0n, currency: 'JPY' });
    expect(sumMoney([usd(5n), usd(7n)], 'USD')).toEqual({ amountMinor: 12n, currency: 'USD' });
  });
});

describe('basis-point fees in integer arithmetic', () => {
  it('takes 2.9 % of 10.00 USD as 29 cents and 1 bp of 1.00 as one hundredth of a cent, rounded', () => {
    expect(basisPointsOf(1000n, 290n, 'half-even')).toBe(29n);
    expect(basisPointsOf(100n, 1n, 'floor')).toBe(0n);
    expect(basisPointsOf(100n, 1n, 'ceil')).toBe(1n);
    expect(basisPointsOf(100n, 1n, 'half-even')).toBe(0n);
  });

  it('rounds exact halves to the even neighbour under half-even', () => {
    // 50 bp of 100 = 0.5, of 300 = 1.5, of 500 = 2.5, of 700 = 3.5.
    expect(basisPointsOf(100n, 50n, 'half-even')).toBe(0n);
    expect(basisPointsOf(300n, 50n, 'half-even')).toBe(2n);
    expect(basisPointsOf(500n, 50n, 'half-even')).toBe(2n);
    expect(basisPointsOf(700n, 50n, 'half-even')).toBe(4n);
    // Just above and below a half go to the nearest.
    expect(basisPointsOf(101n, 50n, 'half-even')).toBe(1n);
    expect(basisPointsOf(99n, 50n, 'half-even')).toBe(0n);
  });

  it('rounds negative amounts (refunds) towards minus infinity for floor and plus infinity for ceil', () => {
    expect(basisPointsOf(-1001n, 290n, 'floor')).toBe(-30n); // -29.029
    expect(basisPointsOf(-1001n, 290n, 'ceil')).toBe(-29n);
    expect(basisPointsOf(-1001n, 290n, 'half-even')).toBe(-29n);
    expect(basisPointsOf(-300n, 50n, 'half-even')).toBe(-2n); // -1.5
    expect(basisPointsOf(-500n, 50n, 'half-even')).toBe(-2n); // -2.5
  });

  it('percentOf is basisPointsOf with one hundred basis points per percent', () => {
    expect(percentOf(1999n, 10n, 'half-even')).toBe(basisPointsOf(1999n, 1000n, 'half-even'));
    expect(percentOf(1999n, 10n, 'floor')).toBe(199n);
  });

  it('refuses number arguments so that no float reaches a fee', () => {
    expect(() => basisPointsOf(1000 as unknown as bigint, 290n, 'floor')).toThrow(TypeError);
    expect(() => basisPointsOf(1000n, 2.9 as unknown as bigint, 'floor')).toThrow(TypeError);
  });

  it('floor <= exact <= ceil, they differ by at most one, and half-even is within half a unit', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }),
        fc.bigInt({ min: 0n, max: 10_000n }),
        (a, b) => {
          const exact = a * b; // in units of 1/10000 minor unit
          const floor = basisPointsOf(a, b, 'floor');
          const ceil = basisPointsOf(a, b, 'ceil');
          const halfEven = basisPointsOf(a, b, 'half-even');
          expect(floor * 10_000n <= exact && exact <= ceil * 10_000n).toBe(true);
          expect(ceil - floor <= 1n).toBe(true);
          const distance = halfEven * 10_000n - exact;
          expect(distance <= 5_000n && distance >= -5_000n).toBe(true);
        },
      ),
      SETTINGS,
    );
  });

  it('divideRounded refuses a non-positive denominator', () => {
    expect(() => divideRounded(1n, 0n, 'floor')).toThrow(RangeError);
    expect(() => divideRounded(1n, -3n, 'floor')).toThrow(RangeError);
  });
});

describe('allocate splits an amount without losing or creating a minor unit', () => {
  it('splits 100 three ways as 34, 33, 33 and gives leftovers to the largest remainders', () => {
    expect(allocate(100n, [1n, 1n, 1n])).toEqual([34n, 33n, 33n]);
    expect(allocate(5n, [3n, 7n])).toEqual([2n, 3n]); // 1.5 and 3.5: tie goes to the earlier part
    expect(allocate(1000n, [290n, 9710n])).toEqual([29n, 971n]);
    expect(allocate(0n, [1n, 2n])).toEqual([0n, 0n]);
    expect(allocate(10n, [0n, 1n])).toEqual([0n, 10n]);
    expect(allocate(-100n, [1n, 1n, 1n])).toEqual([-34n, -33n, -33n]);
  });

  it('refuses empty, negative or all-zero weights', () => {
    expect(() => allocate(10n, [])).toThrow(RangeError);
    expect(() => allocate(10n, [1n, -1n])).toThrow(RangeError);
    expect(() => allocate(10n, [0n, 0n])).toThrow(RangeError);
  });

  it('parts always sum to the amount and each is within one unit of its exact share', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }),
        fc.array(fc.bigInt({ min: 0n, max: 1_000_000n }), { minLength: 1, maxLength: 12 }),
        (amount, weights) => {
          fc.pre(weights.some((weight) => weight > 0n));
          const parts = allocate(amount, weights);
          expect(sumMinor(parts)).toBe(amount);
          const totalWeight = sumMinor(weights);
          parts.forEach((part, index) => {
            const exactTimesTotal = amount * (weights[index] ?? 0n);
            const difference = part * totalWeight - exactTimesTotal;
            expect(difference < totalWeight && difference > -totalWeight).toBe(true);
          });
        },
      ),
      SETTINGS,
    );
  });
});
