import { describe, expect, it } from 'vitest';
import { AppError, type ErrorCode } from '../../src/errors.ts';
import {
  CURRENCY_CODES,
  CURRENCY_EXPONENTS,
  MAX_AMOUNT_MINOR,
  assertCurrency,
  exponentOf,
  parseAmount,
  parseMoney,
  parseReportAmount,
} from '../../src/money/index.ts';

function codeOf(action: () => unknown): ErrorCode | 'no error' {
  try {
    action();
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  return 'no error';
}

describe('the currency table', () => {
  it('holds the ISO 4217 exponents the issue names', () => {
    // prettier-ignore
    const expected: Record<string, number> = {
      JPY: 0, USD: 2, EUR: 2, GBP: 2, KWD: 3, BHD: 3, JOD: 3, OMR: 3, TND: 3, LYD: 3, IQD: 3, CLF: 4, UYW: 4,
      ISK: 0, KRW: 0, VND: 0, XAF: 0, XOF: 0, XPF: 0, CLP: 0, PYG: 0, UGX: 0, RWF: 0, BIF: 0, DJF: 0, GNF: 0,
      KMF: 0, VUV: 0, UYI: 0,
    };
    for (const [code, exponent] of Object.entries(expected)) {
      expect(exponentOf(assertCurrency(code)), code).toBe(exponent);
    }
  });

  it('is a full table of well-formed three-letter codes, without units that have no minor units', () => {
    expect(CURRENCY_CODES.length).toBeGreaterThanOrEqual(150);
    for (const code of CURRENCY_CODES) expect(code).toMatch(/^[A-Z]{3}$/);
    for (const code of ['XAU', 'XAG', 'XPT', 'XPD', 'XDR', 'XTS', 'XXX', 'XBA', 'XSU', 'XUA']) {
      expect(Object.hasOwn(CURRENCY_EXPONENTS, code), code).toBe(false);
    }
  });

  it('refuses withdrawn codes, invented codes, inherited object keys and non-strings as currency_unknown', () => {
    for (const code of [
      'HRK',
      'ZWL',
      'VEF',
      'ABC',
      '',
      ' USD',
      'USD ',
      'US',
      'USDD',
      'constructor',
      '__proto__',
    ]) {
      expect(
        codeOf(() => assertCurrency(code)),
        code,
      ).toBe('currency_unknown');
    }
    for (const value of [null, undefined, 840, {}]) {
      expect(codeOf(() => assertCurrency(value))).toBe('currency_unknown');
    }
  });

  it('refuses a known code in lower or mixed case as currency_not_uppercase', () => {
    for (const code of ['usd', 'Usd', 'uSD', 'jpy']) {
      expect(
        codeOf(() => assertCurrency(code)),
        code,
      ).toBe('currency_not_uppercase');
    }
  });
});

describe('parseAmount accepts digits with at most the currency exponent of decimals', () => {
  const valid: [string, string, bigint][] = [
    ['JPY', '0', 0n],
    ['JPY', '1200', 1200n],
    ['KRW', '1', 1n],
    ['USD', '12', 1200n],
    ['USD', '12.3', 1230n],
    ['USD', '12.34', 1234n],
    ['USD', '0.01', 1n],
    ['USD', '0.5', 50n],
    ['USD', '10', 1000n],
    ['USD', '100.00', 10000n],
    ['KWD', '1.234', 1234n],
    ['KWD', '1.2', 1200n],
    ['BHD', '0.001', 1n],
    ['CLF', '1.2345', 12345n],
    ['UYW', '0.0001', 1n],
    ['CLF', '7', 70000n],
  ];
  for (const [currency, text, minor] of valid) {
    it(`reads ${currency} "${text}" as ${minor} minor units`, () => {
      expect(parseAmount(text, currency, { allowZero: true })).toBe(minor);
    });
  }

  it('accepts exactly the maximum and refuses one minor unit above it as amount_too_large', () => {
    expect(parseAmount('10000000000000.00', 'USD')).toBe(MAX_AMOUNT_MINOR);
    expect(parseAmount('1000000000000000', 'JPY')).toBe(MAX_AMOUNT_MINOR);
    expect(parseAmount('100000000000.0000', 'CLF')).toBe(MAX_AMOUNT_MINOR);
    expect(codeOf(() => parseAmount('10000000000000.01', 'USD'))).toBe('amount_too_large');
    expect(codeOf(() => parseAmount('1000000000000001', 'JPY'))).toBe('amount_too_large');
    expect(codeOf(() => parseAmount('1000000000000.001', 'KWD'))).toBe('amount_too_large');
  });

  it('parseMoney returns the amount with its checked currency', () => {
    expect(parseMoney('12.34', 'EUR')).toEqual({ amountMinor: 1234n, currency: 'EUR' });
  });
});

describe('parseAmount refuses each malformed amount with its own code', () => {
  const refusals: [ErrorCode, string, unknown][] = [
    // Not a string at all: amounts travel as strings so no float ever holds them.
    ['amount_not_string', 'USD', 12.34],
    ['amount_not_string', 'USD', 12n],
    ['amount_not_string', 'USD', null],
    ['amount_not_string', 'USD', undefined],
    ['amount_not_string', 'USD', ['12']],
    ['amount_not_string', 'USD', { amount: '12' }],
    ['amount_empty', 'USD', ''],
    ['amount_whitespace', 'USD', ' 12.34'],
    ['amount_whitespace', 'USD', '12.34 '],
    ['amount_whitespace', 'USD', '1 000'],
    ['amount_whitespace', 'USD', '12\t'],
    ['amount_whitespace', 'USD', '\n12'],
    ['amount_whitespace', 'USD', '1\u00a0000'],
    ['amount_whitespace', 'USD', '1\u202f000'],
    ['amount_whitespace', 'USD', '12\u200b'],
    ['amount_whitespace', 'USD', ' '],
    ['amount_negative', 'USD', '-12.34'],
    ['amount_negative', 'USD', '-0'],
    ['amount_negative', 'JPY', '-1'],
    ['amount_signed', 'USD', '+5'],
    ['amount_signed', 'USD', '+0.50'],
    ['amount_exponent', 'USD', '1e3'],
    ['amount_exponent', 'USD', '1E3'],
    ['amount_exponent', 'USD', '1.5e2'],
    ['amount_exponent', 'USD', '1e-2'],
    ['amount_exponent', 'USD', '1e+2'],
    ['amount_exponent', 'USD', '.5e1'],
    ['amount_thousands_separator', 'USD', '1,000.00'],
    ['amount_thousands_separator', 'USD', '1,000'],
    ['amount_thousands_separator', 'USD', '1_000'],
    ['amount_thousands_separator', 'USD', "1'000"],
    ['amount_thousands_separator', 'USD', '1\u2019000'],
    ['amount_thousands_separator', 'EUR', '12,34'],
    ['amount_malformed', 'USD', '12.'],
    ['amount_malformed', 'USD', '.5'],
    ['amount_malformed', 'USD', '.'],
    ['amount_malformed', 'USD', '007.50'],
    ['amount_malformed', 'USD', '00'],
    ['amount_malformed', 'USD', '00.50'],
    ['amount_malformed', 'JPY', '01200'],
    ['amount_malformed', 'USD', '1.2.3'],
    ['amount_malformed', 'USD', '1.000.00'],
    ['amount_malformed', 'USD', 'abc'],
    ['amount_malformed', 'USD', '12abc'],
    ['amount_malformed', 'USD', '$12'],
    ['amount_malformed', 'USD', 'e5'],
    ['amount_malformed', 'USD', 'Infinity'],
    ['amount_malformed', 'USD', 'NaN'],
    ['amount_malformed', 'USD', '0x10'],
    ['amount_malformed', 'USD', '\u0661\u0662'],
    ['amount_malformed', 'USD', '\uff11\uff12'],
    ['amount_malformed', 'USD', '\u221212'],
    ['amount_too_precise', 'USD', '1.234'],
    ['amount_too_precise', 'USD', '1.500'],
    ['amount_too_precise', 'JPY', '1.50'],
    ['amount_too_precise', 'JPY', '1.0'],
    ['amount_too_precise', 'JPY', '0.0'],
    ['amount_too_precise', 'KWD', '1.2345'],
    ['amount_too_precise', 'CLF', '1.23456'],
    ['amount_zero', 'USD', '0'],
    ['amount_zero', 'USD', '0.00'],
    ['amount_zero', 'USD', '0.0'],
    ['amount_zero', 'JPY', '0'],
    ['amount_too_large', 'USD', '99999999999999999999'],
    ['currency_unknown', 'XYZ', '12.34'],
    ['currency_unknown', 'XAU', '1'],
    ['currency_unknown', '', '1'],
    ['currency_not_uppercase', 'usd', '12.34'],
    ['currency_not_uppercase', 'Eur', '12.34'],
  ];
  for (const [code, currency, text] of refusals) {
    const shown = typeof text === 'string' ? JSON.stringify(text.slice(0, 24)) : String(text);
    it(`refuses ${currency} ${shown} as ${code}`, () => {
      expect(codeOf(() => parseAmount(text, currency))).toBe(code);
    });
  }

  it('refuses a hundred thousand digits quickly (no regular expression backtracks on long input)', () => {
    const started = performance.now();
    expect(codeOf(() => parseAmount('1'.repeat(100_000), 'USD'))).toBe('amount_too_large');
    expect(codeOf(() => parseAmount('1'.repeat(100_000) + 'x', 'USD'))).toBe('amount_malformed');
    expect(codeOf(() => parseAmount('1'.repeat(100_000) + '.', 'USD'))).toBe('amount_malformed');
    expect(codeOf(() => parseAmount('1.' + '1'.repeat(100_000) + 'e', 'USD'))).toBe('amount_malformed');
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('accepts zero only when allowZero is set', () => {
    expect(parseAmount('0', 'USD', { allowZero: true })).toBe(0n);
    expect(parseAmount('0.00', 'USD', { allowZero: true })).toBe(0n);
    expect(codeOf(() => parseAmount('0', 'USD', { allowZero: false }))).toBe('amount_zero');
  });

  it('throws an AppError whose status is 400 and whose message names no internals', () => {
    try {
      parseAmount('1,000.00', 'USD');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).status).toBe(400);
      expect((error as AppError).atField('payment_orders.0.amount').field).toBe('payment_orders.0.amount');
    }
  });
});

describe('parseReportAmount reads signed report amounts with the same strictness', () => {
  it('reads negatives, zero and positives', () => {
    expect(parseReportAmount('-12.34', 'USD')).toBe(-1234n);
    expect(parseReportAmount('12.34', 'USD')).toBe(1234n);
    expect(parseReportAmount('0', 'USD')).toBe(0n);
    expect(parseReportAmount('0.00', 'USD')).toBe(0n);
    expect(parseReportAmount('-1200', 'JPY')).toBe(-1200n);
    expect(parseReportAmount('-0.001', 'KWD')).toBe(-1n);
    expect(parseReportAmount('-10000000000000.00', 'USD')).toBe(-MAX_AMOUNT_MINOR);
  });

  const refusals: [ErrorCode, string, unknown][] = [
    ['amount_not_string', 'USD', -12.34],
    ['amount_empty', 'USD', ''],
    ['amount_malformed', 'USD', '-'],
    ['amount_malformed', 'USD', '-0'],
    ['amount_malformed', 'USD', '-0.00'],
    ['amount_malformed', 'USD', '--12'],
    ['amount_malformed', 'USD', '-.5'],
    ['amount_malformed', 'USD', '12-'],
    ['amount_malformed', 'USD', '(12.34)'],
    ['amount_whitespace', 'USD', '- 12.34'],
    ['amount_signed', 'USD', '+12.34'],
    ['amount_signed', 'USD', '-+12.34'],
    ['amount_exponent', 'USD', '-1e3'],
    ['amount_thousands_separator', 'USD', '-1,000.00'],
    ['amount_too_precise', 'USD', '-12.345'],
    ['amount_too_precise', 'JPY', '-1.0'],
    ['amount_too_large', 'USD', '-10000000000000.01'],
    ['currency_not_uppercase', 'usd', '-12.34'],
    ['currency_unknown', 'ZZZ', '-12.34'],
  ];
  for (const [code, currency, text] of refusals) {
    it(`refuses ${currency} ${JSON.stringify(text)} as ${code}`, () => {
      expect(codeOf(() => parseReportAmount(text, currency))).toBe(code);
    });
  }
});
