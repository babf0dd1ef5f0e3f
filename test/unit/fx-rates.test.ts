import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  convertMinor,
  crossRate,
  formatRate,
  inverseRate,
  parseRate,
  rateLessMarkup,
  RATE_SIGNIFICANT_DIGITS,
  type Rate,
} from '../../src/fx/rate.ts';

function rate(text: string): Rate {
  const parsed = parseRate(text);
  if (!parsed) throw new Error(`bad rate ${text}`);
  return parsed;
}

/** |a/b − c/d| ≤ e/f, exactly, in integers. */
function within(a: bigint, b: bigint, c: bigint, d: bigint, e: bigint, f: bigint): boolean {
  const diff = a * d - c * b;
  const abs = diff < 0n ? -diff : diff;
  return abs * f <= e * b * d;
}

const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY', 'KWD', 'BHD', 'CHF'] as const;
const EXP: Record<string, number> = { USD: 2, EUR: 2, GBP: 2, JPY: 0, KWD: 3, BHD: 3, CHF: 2 };
const arbRate = fc
  .tuple(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.integer({ min: 0, max: 12 }))
  .map(([coefficient, scale]): Rate => ({ coefficient, scale }));

describe('exchange rate arithmetic (exact decimals, never floats)', () => {
  it('reads and writes decimal rates exactly, refusing anything that is not a positive decimal', () => {
    expect(formatRate(rate('1.0866'))).toBe('1.0866');
    expect(formatRate(rate('169.090'))).toBe('169.09');
    expect(formatRate(rate('0.000123'))).toBe('0.000123');
    for (const bad of ['', '0', '0.000', '-1.2', '1e3', '1,2', 'abc', '.5', 'NaN'])
      expect(parseRate(bad)).toBeUndefined();
  });

  it('derives cross rates through EUR to 10 significant digits, half-even (worked example of docs/currencies.md)', () => {
    // 1 EUR = 1.0866 USD = 0.85518 GBP  ⇒  1 USD = 0.85518 / 1.0866 GBP = 0.787023744…
    expect(formatRate(crossRate(rate('1.0866'), rate('0.85518')))).toBe('0.7870237438');
    // 1 USD = 169.09 / 1.0866 JPY = 155.6138413…
    expect(formatRate(crossRate(rate('1.0866'), rate('169.09')))).toBe('155.6138413');
    expect(formatRate(inverseRate(rate('1.0866')))).toBe('0.920301859');
    expect(formatRate(rateLessMarkup(rate('1.0866'), 100))).toBe('1.075734');
  });

  it('converts once, half-even, to the minor unit of the target (JPY 0, USD 2, KWD 3 decimals)', () => {
    expect(convertMinor(10_000n, rate('1.0866'), 'EUR', 'USD')).toBe(10_866n); // 100.00 EUR → 108.66 USD
    expect(convertMinor(1_000n, rate('169.09'), 'EUR', 'JPY')).toBe(1_691n); // 10.00 EUR → 1 690.9 → 1 691 JPY
    expect(convertMinor(1_000n, rate('0.0064'), 'JPY', 'USD')).toBe(640n); // 1 000 JPY → 6.40 USD
    expect(convertMinor(1_000n, rate('3.25'), 'KWD', 'USD')).toBe(325n); // 1.000 KWD → 3.25 USD
    expect(convertMinor(25n, rate('0.1'), 'USD', 'USD')).toBe(2n); // 2.5 → 2 (half to even)
    expect(convertMinor(35n, rate('0.1'), 'USD', 'USD')).toBe(4n); // 3.5 → 4 (half to even)
  });

  it('property: a conversion is within half a minor unit of the exact product', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 13n }),
        arbRate,
        fc.constantFrom(...CURRENCIES),
        fc.constantFrom(...CURRENCIES),
        (amount, r, from, to) => {
          const out = convertMinor(amount, r, from, to);
          const shift = (EXP[to] ?? 2) - (EXP[from] ?? 2);
          // exact = amount × coefficient × 10^shift / 10^scale, as a fraction num/den
          const num = amount * r.coefficient * (shift >= 0 ? 10n ** BigInt(shift) : 1n);
          const den = 10n ** BigInt(r.scale) * (shift < 0 ? 10n ** BigInt(-shift) : 1n);
          return within(out, 1n, num, den, 1n, 2n);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: derived rates keep 10 significant digits, within half a unit of the 10th digit', () => {
    fc.assert(
      fc.property(arbRate, arbRate, (a, b) => {
        const c = crossRate(a, b);
        expect(c.coefficient.toString().replace(/0+$/, '').length).toBeLessThanOrEqual(
          RATE_SIGNIFICANT_DIGITS,
        );
        // exact = b / a = (b.c × 10^a.s) / (a.c × 10^b.s); relative error ≤ 10^-9
        const num = b.coefficient * 10n ** BigInt(a.scale);
        const den = a.coefficient * 10n ** BigInt(b.scale);
        const got = c.coefficient;
        const gotDen = 10n ** BigInt(c.scale);
        const diff = got * den - num * gotDen;
        const abs = diff < 0n ? -diff : diff;
        return abs * 10n ** 9n <= num * gotDen;
      }),
      { numRuns: 500 },
    );
  });

  it('property: the markup never raises the rate, so the seller is never credited more than the mid value', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        arbRate,
        fc.integer({ min: 0, max: 9999 }),
        (amount, r, bps) => {
          const less = rateLessMarkup(r, bps);
          return convertMinor(amount, less, 'EUR', 'USD') <= convertMinor(amount, r, 'EUR', 'USD');
        },
      ),
      { numRuns: 300 },
    );
  });
});
