/** How a fractional minor unit is resolved. Half-even (banker's rounding) has no bias over many fees. */
export type Rounding = 'half-even' | 'floor' | 'ceil';

export const BASIS_POINTS_PER_WHOLE = 10_000n;

/**
 * `numerator / denominator` rounded as asked, in integers only. `floor` and `ceil` go towards minus and plus
 * infinity, so they stay correct for negative amounts (refunds); `half-even` sends exact halves to the even
 * neighbour. The denominator must be positive.
 */
export function divideRounded(numerator: bigint, denominator: bigint, rounding: Rounding): bigint {
  if (denominator <= 0n) throw new RangeError('divideRounded needs a positive denominator');
  // BigInt division truncates towards zero; move to floor first so that the remainder is never negative.
  let quotient = numerator / denominator;
  let remainder = numerator % denominator;
  if (remainder < 0n) {
    quotient -= 1n;
    remainder += denominator;
  }
  if (remainder === 0n) return quotient;
  switch (rounding) {
    case 'floor':
      return quotient;
    case 'ceil':
      return quotient + 1n;
    case 'half-even': {
      const twice = remainder * 2n;
      if (twice < denominator) return quotient;
      if (twice > denominator) return quotient + 1n;
      return quotient % 2n === 0n ? quotient : quotient + 1n;
    }
  }
}

/** `bps` basis points (1 bp = 0.01 %) of an amount, rounded as asked: a 2.9 % fee is `basisPointsOf(x, 290n, …)`. */
export function basisPointsOf(amountMinor: bigint, bps: bigint, rounding: Rounding): bigint {
  assertBigInt(amountMinor, 'amountMinor');
  assertBigInt(bps, 'bps');
  return divideRounded(amountMinor * bps, BASIS_POINTS_PER_WHOLE, rounding);
}

/** Whole `percent` of an amount, rounded as asked; the same as `basisPointsOf(amountMinor, percent * 100n, …)`. */
export function percentOf(amountMinor: bigint, percent: bigint, rounding: Rounding): bigint {
  assertBigInt(percent, 'percent');
  return basisPointsOf(amountMinor, percent * 100n, rounding);
}

/**
 * Splits an amount into parts proportional to `weights` (for example basis points, or order totals) so that the
 * parts sum to exactly the amount. Each part is first rounded down; the minor units left over go one each to
 * the parts with the largest remainders, ties to the earlier part. A negative amount is split as its magnitude
 * and every part negated, so a refund splits the same way as the charge it reverses.
 */
export function allocate(amountMinor: bigint, weights: readonly bigint[]): bigint[] {
  assertBigInt(amountMinor, 'amountMinor');
  if (weights.length === 0) throw new RangeError('allocate needs at least one weight');
  let totalWeight = 0n;
  for (const weight of weights) {
    assertBigInt(weight, 'weight');
    if (weight < 0n) throw new RangeError('allocate weights must not be negative');
    totalWeight += weight;
  }
  if (totalWeight === 0n) throw new RangeError('allocate needs at least one positive weight');

  const negative = amountMinor < 0n;
  const magnitude = negative ? -amountMinor : amountMinor;
  const parts = weights.map((weight) => (magnitude * weight) / totalWeight);
  const remainders = weights.map((weight, index) => ({
    index,
    remainder: (magnitude * weight) % totalWeight,
  }));
  let leftOver = magnitude - parts.reduce((sum, part) => sum + part, 0n);
  remainders.sort((a, b) =>
    a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1,
  );
  // The leftover is below the number of parts, because each part lost less than one unit to rounding down.
  for (const { index } of remainders) {
    if (leftOver === 0n) break;
    parts[index] = (parts[index] ?? 0n) + 1n;
    leftOver -= 1n;
  }
  return negative ? parts.map((part) => -part) : parts;
}

function assertBigInt(value: unknown, name: string): void {
  if (typeof value !== 'bigint') throw new TypeError(`${name} must be a bigint, got ${typeof value}`);
}
