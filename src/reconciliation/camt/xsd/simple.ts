import type { BuiltIn, Facets, SimpleType } from './model.ts';

/**
 * Checks one element's or attribute's text against a simple type, as XML Schema 1.0 does: `xs:string` keeps its
 * whitespace (length counts characters, facets see the text as written); every other built-in type collapses it
 * first. Returns undefined when the value is valid, else what is wrong.
 */

const TZ = '(?:Z|[+-](?:(?:0\\d|1[0-3]):[0-5]\\d|14:00))?';
const LEXICAL: Record<Exclude<BuiltIn, 'string'>, RegExp> = {
  decimal: /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/,
  boolean: /^(?:true|false|1|0)$/,
  date: new RegExp(`^-?(?:[1-9]\\d{4,}|\\d{4})-(\\d{2})-(\\d{2})${TZ}$`),
  dateTime: new RegExp(
    `^-?(?:[1-9]\\d{4,}|\\d{4})-(\\d{2})-(\\d{2})T(\\d{2}):(\\d{2}):(\\d{2})(?:\\.(\\d+))?${TZ}$`,
  ),
  time: new RegExp(`^(\\d{2}):(\\d{2}):(\\d{2})(?:\\.(\\d+))?${TZ}$`),
  gYear: new RegExp(`^-?(?:[1-9]\\d{4,}|\\d{4})${TZ}$`),
  gYearMonth: new RegExp(`^-?(?:[1-9]\\d{4,}|\\d{4})-(0[1-9]|1[0-2])${TZ}$`),
};

function collapse(text: string): string {
  return text.replace(/[\t\n\r ]+/g, ' ').trim();
}

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function validDate(value: string, match: RegExpExecArray): boolean {
  const year = Number(/^-?(\d+)/.exec(value)?.[1] ?? '0');
  const month = Number(match[1]);
  const day = Number(match[2]);
  return month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month);
}

function validClock(
  h: string | undefined,
  m: string | undefined,
  sec: string | undefined,
  frac: string | undefined,
): boolean {
  const hour = Number(h);
  const minute = Number(m);
  const second = Number(sec);
  if (hour === 24) return minute === 0 && second === 0 && (frac === undefined || /^0+$/.test(frac));
  return hour < 24 && minute < 60 && second < 60;
}

/** A decimal's digits in canonical form: integer part without leading zeros, fraction without trailing zeros. */
export function decimalParts(text: string): { negative: boolean; integer: string; fraction: string } {
  const negative = text.startsWith('-');
  const body = text.replace(/^[+-]/, '');
  const [int = '', frac = ''] = body.split('.');
  return { negative, integer: int.replace(/^0+/, ''), fraction: frac.replace(/0+$/, '') };
}

/** Compares two valid decimals: -1, 0 or 1. */
function compareDecimals(a: string, b: string): number {
  const x = decimalParts(a);
  const y = decimalParts(b);
  const sign = (p: typeof x): number => (p.integer === '' && p.fraction === '' ? 0 : p.negative ? -1 : 1);
  if (sign(x) !== sign(y)) return sign(x) < sign(y) ? -1 : 1;
  const width = Math.max(x.fraction.length, y.fraction.length);
  const big = (p: typeof x): bigint => BigInt(`${p.integer || '0'}${p.fraction.padEnd(width, '0')}`);
  const diff = big(x) - big(y);
  const magnitude = diff === 0n ? 0 : diff < 0n ? -1 : 1;
  return sign(x) < 0 ? -magnitude : magnitude;
}

function checkLexical(base: BuiltIn, value: string): string | undefined {
  if (base === 'string') return undefined;
  const match = LEXICAL[base].exec(value);
  if (match === null) return `"${value}" is not a valid xs:${base}`;
  if ((base === 'date' || base === 'dateTime') && !validDate(value, match))
    return `"${value}" is not a calendar date`;
  if (base === 'dateTime' && !validClock(match[3], match[4], match[5], match[6]))
    return `"${value}" is not a valid time`;
  if (base === 'time' && !validClock(match[1], match[2], match[3], match[4]))
    return `"${value}" is not a valid time`;
  return undefined;
}

function checkLength(value: string, facets: Facets): string | undefined {
  const length = [...value].length;
  if (facets.minLength !== undefined && length < facets.minLength)
    return `"${value}" is shorter than ${facets.minLength} characters`;
  if (facets.maxLength !== undefined && length > facets.maxLength)
    return `"${value}" is longer than ${facets.maxLength} characters`;
  return undefined;
}

function checkDecimal(value: string, facets: Facets): string | undefined {
  const parts = decimalParts(value);
  if (facets.fractionDigits !== undefined && parts.fraction.length > facets.fractionDigits)
    return `"${value}" has more than ${facets.fractionDigits} fraction digits`;
  if (facets.totalDigits !== undefined && parts.integer.length + parts.fraction.length > facets.totalDigits)
    return `"${value}" has more than ${facets.totalDigits} digits`;
  if (facets.minInclusive !== undefined && compareDecimals(value, facets.minInclusive) < 0)
    return `"${value}" is less than ${facets.minInclusive}`;
  if (facets.maxInclusive !== undefined && compareDecimals(value, facets.maxInclusive) > 0)
    return `"${value}" is more than ${facets.maxInclusive}`;
  return undefined;
}

export function checkSimple(type: SimpleType, text: string): string | undefined {
  const value = type.base === 'string' ? text : collapse(text);
  const lexical = checkLexical(type.base, value);
  if (lexical !== undefined) return lexical;
  const { facets } = type;
  if (facets.enumeration !== undefined && !facets.enumeration.has(value))
    return `"${value}" is not one of the codes of ${type.name}`;
  if (facets.patterns.length > 0 && !facets.patterns.some((p) => p.test(value)))
    return `"${value}" does not match the pattern of ${type.name}`;
  if (type.base === 'string') return checkLength(value, facets);
  if (type.base === 'decimal') return checkDecimal(value, facets);
  return undefined;
}
