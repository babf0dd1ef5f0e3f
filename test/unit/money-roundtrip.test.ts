import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CURRENCY_CODES,
  MAX_AMOUNT_MINOR,
  exponentOf,
  formatAmount,
  parseAmount,
  parseReportAmount,
} from '../../src/money/index.ts';

// A fixed seed keeps the suite deterministic; a failure prints the counterexample to reproduce it.
const SETTINGS = { numRuns: 5_000, seed: 4217 };

const currency = fc.constantFrom(...CURRENCY_CODES);
// Small amounts and huge ones are where padding and overflow bugs live; mix both on purpose.
const amountMinor = fc.oneof(
  fc.bigInt({ min: 0n, max: 100_000n }),
  fc.bigInt({ min: 0n, max: MAX_AMOUNT_MINOR }),
  fc.constantFrom(0n, 1n, 9n, 10n, 99n, 100n, 999n, 1000n, 10_000n, MAX_AMOUNT_MINOR - 1n, MAX_AMOUNT_MINOR),
);

describe('formatting and parsing round-trip exactly', () => {
  it('parseAmount(formatAmount(x)) === x for every currency and every amount in 0..MAX', () => {
    fc.assert(
      fc.property(currency, amountMinor, (code, minor) => {
        expect(parseAmount(formatAmount(minor, code), code, { allowZero: true })).toBe(minor);
      }),
      SETTINGS,
    );
  });

  it('parseReportAmount(formatAmount(x)) === x for negative amounts down to -MAX', () => {
    fc.assert(
      fc.property(currency, amountMinor, (code, minor) => {
        expect(parseReportAmount(formatAmount(-minor, code), code)).toBe(-minor);
      }),
      SETTINGS,
    );
  });

  it('formatAmount always writes exactly the currency exponent of decimals, with no leading zeros', () => {
    fc.assert(
      fc.property(currency, amountMinor, (code, minor) => {
        const text = formatAmount(minor, code);
        const exponent = exponentOf(code);
        const pattern = exponent === 0 ? /^(0|[1-9]\d*)$/ : new RegExp(`^(0|[1-9]\\d*)\\.\\d{${exponent}}$`);
        expect(text).toMatch(pattern);
      }),
      SETTINGS,
    );
  });

  it('a valid wire string normalises to itself padded with zeros to the currency exponent', () => {
    // Build valid strings from parts: an integer part without leading zeros, and 0..exponent decimals.
    const validText = currency.chain((code) =>
      fc
        .record({
          integer: fc.bigInt({ min: 0n, max: 10n ** BigInt(15 - exponentOf(code)) - 1n }),
          decimals: fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: exponentOf(code) }),
        })
        .map(({ integer, decimals }) => ({
          code,
          text: decimals === '' ? `${integer}` : `${integer}.${decimals}`,
          decimals,
          integer,
        })),
    );
    fc.assert(
      fc.property(validText, ({ code, text, decimals, integer }) => {
        const exponent = exponentOf(code);
        const formatted = formatAmount(parseAmount(text, code, { allowZero: true }), code);
        const expected = exponent === 0 ? `${integer}` : `${integer}.${decimals.padEnd(exponent, '0')}`;
        expect(formatted).toBe(expected);
      }),
      SETTINGS,
    );
  });

  it('no string outside the canonical shape parses: arbitrary text either is refused or formats back to itself after padding', () => {
    fc.assert(
      fc.property(currency, fc.string({ maxLength: 12 }), (code, text) => {
        let minor: bigint;
        try {
          minor = parseReportAmount(text, code);
        } catch {
          return;
        }
        // Whatever parsed has only digits, at most one point and an optional leading minus.
        expect(text).toMatch(/^-?(0|[1-9]\d*)(\.\d+)?$/);
        expect(parseReportAmount(formatAmount(minor, code), code)).toBe(minor);
      }),
      SETTINGS,
    );
  });
});

describe('formatAmount examples', () => {
  it('writes the examples from the design', () => {
    expect(formatAmount(1234n, 'USD')).toBe('12.34');
    expect(formatAmount(5n, 'USD')).toBe('0.05');
    expect(formatAmount(0n, 'USD')).toBe('0.00');
    expect(formatAmount(1200n, 'JPY')).toBe('1200');
    expect(formatAmount(0n, 'JPY')).toBe('0');
    expect(formatAmount(1234n, 'KWD')).toBe('1.234');
    expect(formatAmount(1n, 'CLF')).toBe('0.0001');
    expect(formatAmount(-1234n, 'USD')).toBe('-12.34');
    expect(formatAmount(-5n, 'KWD')).toBe('-0.005');
    expect(formatAmount(-7n, 'JPY')).toBe('-7');
  });

  it('refuses a number amount instead of formatting a float', () => {
    expect(() => formatAmount(12.34 as unknown as bigint, 'USD')).toThrow(TypeError);
  });
});
