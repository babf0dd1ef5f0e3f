import { AppError } from '../errors.ts';
import type { Money } from './arith.ts';
import { CURRENCY_EXPONENTS } from './currencies.ts';
import { assertCurrency } from './currency.ts';
import { MAX_AMOUNT_MINOR } from './limits.ts';

export type ParseAmountOptions = {
  /** Accept "0" (and "0.00"); by default an amount must be positive and zero is `amount_zero`. */
  allowZero?: boolean;
};

// White space of every kind, plus the zero-width characters that copy-paste brings along and that no eye can see.
const WHITESPACE = /[\s\u200B-\u200D\u2060]/u;
// Written so that no two quantifiers can share a run of digits: "\d+\.?\d*" would backtrack quadratically on a
// long string of digits, turning a large request body into seconds of CPU.
const EXPONENT_NOTATION = /^(?:\d+(?:\.\d*)?|\.\d+)[eE][+-]?\d+$/;
// Comma, underscore, apostrophe and right single quotation mark: the separators people and locales use.
const GROUPING_SEPARATOR = /[,_'\u2019]/;
// Digits, no leading zero except a lone "0" before the point, and at least one digit on each side of a point.
const CANONICAL_SHAPE = /^(0|[1-9]\d*)(?:\.(\d+))?$/;
// More integer digits than this cannot be below MAX_AMOUNT_MINOR in any currency; checked before BigInt()
// so that a megabyte of digits costs nothing.
const MAX_INTEGER_DIGITS = 20;

/**
 * Parses a wire amount in major units ("12.34" USD, "1200" JPY, "1.234" KWD) into positive minor units.
 * Strict on purpose: anything a person could read two ways is refused with its own error code, checked in
 * this order: amount_not_string, currency_unknown / currency_not_uppercase, amount_empty, amount_whitespace,
 * amount_negative, amount_signed, amount_exponent, amount_thousands_separator, amount_malformed,
 * amount_too_precise, amount_too_large, amount_zero.
 */
export function parseAmount(text: unknown, currency: string, options: ParseAmountOptions = {}): bigint {
  const minor = parseSigned(text, currency, false);
  if (minor === 0n && options.allowZero !== true) {
    throw new AppError('amount_zero', 'amount must be greater than zero');
  }
  return minor;
}

/**
 * Parses an amount from a settlement report or bank statement, where refunds and fees appear as negatives
 * ("-12.34"). Same strictness as `parseAmount` otherwise; zero is accepted; "-0" is refused as malformed
 * because zero has one written form.
 */
export function parseReportAmount(text: unknown, currency: string): bigint {
  return parseSigned(text, currency, true);
}

/** `parseAmount` and `assertCurrency` together: a wire amount and its currency as one Money value. */
export function parseMoney(text: unknown, currency: string, options: ParseAmountOptions = {}): Money {
  const amountMinor = parseAmount(text, currency, options);
  return { amountMinor, currency: assertCurrency(currency) };
}

function parseSigned(text: unknown, currencyText: string, allowMinus: boolean): bigint {
  if (typeof text !== 'string') {
    throw new AppError('amount_not_string', `amount must be a string in major units, got ${describe(text)}`);
  }
  const currency = assertCurrency(currencyText);
  const exponent = CURRENCY_EXPONENTS[currency];

  if (text === '') throw new AppError('amount_empty', 'amount is empty');
  if (WHITESPACE.test(text)) throw new AppError('amount_whitespace', 'amount must not contain white space');

  let body = text;
  let negative = false;
  if (body.startsWith('-')) {
    if (!allowMinus) throw new AppError('amount_negative', 'amount must not be negative');
    negative = true;
    body = body.slice(1);
  }
  if (body.startsWith('+')) throw new AppError('amount_signed', 'amount must not carry a "+" sign');
  if (EXPONENT_NOTATION.test(body)) {
    throw new AppError('amount_exponent', 'amount must not use exponent notation; write the digits');
  }
  if (GROUPING_SEPARATOR.test(body)) {
    throw new AppError(
      'amount_thousands_separator',
      'amount must not contain separators such as "," "_" or "\'"; the only allowed mark is the decimal point "."',
    );
  }

  const shape = CANONICAL_SHAPE.exec(body);
  const integerDigits = shape?.[1];
  if (integerDigits === undefined) {
    throw new AppError(
      'amount_malformed',
      'amount must be digits with an optional decimal point and digits after it, without leading zeros',
    );
  }
  const fractionDigits = shape?.[2] ?? '';
  if (fractionDigits.length > exponent) {
    throw new AppError(
      'amount_too_precise',
      exponent === 0
        ? `${currency} has no minor units: write the amount without a decimal point`
        : `${currency} allows at most ${exponent} decimals`,
    );
  }
  if (integerDigits.length > MAX_INTEGER_DIGITS) throw tooLarge();

  const magnitude = BigInt(integerDigits + fractionDigits.padEnd(exponent, '0'));
  if (magnitude > MAX_AMOUNT_MINOR) throw tooLarge();
  if (negative && magnitude === 0n) {
    throw new AppError('amount_malformed', 'zero must be written without a sign');
  }
  return negative ? -magnitude : magnitude;
}

// A module function rather than a closure made per call: amounts are parsed a million at a time from reports.
function tooLarge(): AppError {
  return new AppError('amount_too_large', `amount is above the maximum of ${MAX_AMOUNT_MINOR} minor units`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
