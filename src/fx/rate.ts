import { CURRENCY_EXPONENTS, divideRounded, isCurrencyCode } from '../money/index.ts';

/**
 * Exchange rates as exact decimals (never floats): `coefficient × 10^-scale`. A rate says how many units of the
 * target currency one unit of the source currency buys (ECB style: 1 EUR = 1.0866 USD).
 *
 * The rules (docs/currencies.md):
 * - a derived rate (a cross rate through EUR, a rate less the markup) is rounded half-even to
 *   RATE_SIGNIFICANT_DIGITS significant digits, once, when it is derived;
 * - an amount is converted with the rate exactly and rounded once, half-even, to the target currency's minor unit.
 */
export interface Rate {
  coefficient: bigint;
  scale: number;
}

export const RATE_SIGNIFICANT_DIGITS = 10;
const RATE_TEXT = /^(\d{1,12})(?:\.(\d{1,18}))?$/;

/** Parses a positive decimal rate such as "1.0866" or "169.09"; undefined when it is not one. */
export function parseRate(text: string): Rate | undefined {
  const match = RATE_TEXT.exec(text.trim());
  if (!match) return undefined;
  const whole = match[1] ?? '0';
  const fraction = match[2] ?? '';
  const rate = normalise({ coefficient: BigInt(whole + fraction), scale: fraction.length });
  return rate.coefficient > 0n ? rate : undefined;
}

/** Drops trailing zeros of the fraction, so that equal rates have one form. */
function normalise(rate: Rate): Rate {
  let { coefficient, scale } = rate;
  while (scale > 0 && coefficient % 10n === 0n && coefficient !== 0n) {
    coefficient /= 10n;
    scale -= 1;
  }
  return { coefficient, scale };
}

export function formatRate(rate: Rate): string {
  const digits = rate.coefficient.toString().padStart(rate.scale + 1, '0');
  if (rate.scale === 0) return digits;
  return `${digits.slice(0, digits.length - rate.scale)}.${digits.slice(digits.length - rate.scale)}`;
}

function digitCount(value: bigint): number {
  return value === 0n ? 1 : value.toString().length;
}

/** numerator / denominator (both positive) as a rate of RATE_SIGNIFICANT_DIGITS significant digits, half-even. */
export function rateOfFraction(numerator: bigint, denominator: bigint): Rate {
  if (numerator <= 0n || denominator <= 0n) throw new RangeError('a rate is a positive fraction');
  // Choose the scale so that the rounded quotient has exactly the wanted number of significant digits.
  const magnitude = digitCount(numerator) - digitCount(denominator);
  let scale = RATE_SIGNIFICANT_DIGITS - magnitude;
  let coefficient = scaledQuotient(numerator, denominator, scale);
  while (digitCount(coefficient) > RATE_SIGNIFICANT_DIGITS) {
    scale -= 1;
    coefficient = scaledQuotient(numerator, denominator, scale);
  }
  if (scale < 0) return normalise({ coefficient: coefficient * 10n ** BigInt(-scale), scale: 0 });
  return normalise({ coefficient, scale });
}

function scaledQuotient(numerator: bigint, denominator: bigint, scale: number): bigint {
  return scale >= 0
    ? divideRounded(numerator * 10n ** BigInt(scale), denominator, 'half-even')
    : divideRounded(numerator, denominator * 10n ** BigInt(-scale), 'half-even');
}

/** The cross rate from → to when both are quoted against the base (1 base = fromPerBase from = toPerBase to). */
export function crossRate(fromPerBase: Rate, toPerBase: Rate): Rate {
  // to / from = (c_t / 10^s_t) / (c_f / 10^s_f) = c_t × 10^s_f / (c_f × 10^s_t)
  return rateOfFraction(
    toPerBase.coefficient * 10n ** BigInt(fromPerBase.scale),
    fromPerBase.coefficient * 10n ** BigInt(toPerBase.scale),
  );
}

/** The inverse rate (1 / rate), for a rate quoted against the base when the source is the base's counterpart. */
export function inverseRate(rate: Rate): Rate {
  return rateOfFraction(10n ** BigInt(rate.scale), rate.coefficient);
}

/** The rate less a markup in basis points: what the platform gives the seller (rate × (10 000 − bps) / 10 000). */
export function rateLessMarkup(rate: Rate, markupBps: number): Rate {
  if (!Number.isInteger(markupBps) || markupBps < 0 || markupBps >= 10_000)
    throw new RangeError('markup must be whole basis points in 0..9999');
  if (markupBps === 0) return rate;
  return rateOfFraction(rate.coefficient * BigInt(10_000 - markupBps), 10n ** BigInt(rate.scale) * 10_000n);
}

/**
 * The rate plus a spread in basis points: what a PSP charges for buying the other currency back
 * (rate × (10 000 + bps) / 10 000).
 */
export function ratePlusSpread(rate: Rate, spreadBps: number): Rate {
  if (!Number.isInteger(spreadBps) || spreadBps < 0 || spreadBps >= 10_000)
    throw new RangeError('spread must be whole basis points in 0..9999');
  if (spreadBps === 0) return rate;
  return rateOfFraction(rate.coefficient * BigInt(10_000 + spreadBps), 10n ** BigInt(rate.scale) * 10_000n);
}

export function exponentOfCode(currency: string): number {
  if (!isCurrencyCode(currency)) throw new RangeError(`unknown currency ${currency}`);
  return CURRENCY_EXPONENTS[currency];
}

/**
 * `amountMinor` of `from` in `to` at `rate`, rounded once, half-even, to the minor unit of `to`:
 *   round(amountMinor × rate × 10^(exp(to) − exp(from)))
 */
export function convertMinor(amountMinor: bigint, rate: Rate, from: string, to: string): bigint {
  const shift = exponentOfCode(to) - exponentOfCode(from);
  let numerator = amountMinor * rate.coefficient;
  let denominator = 10n ** BigInt(rate.scale);
  if (shift >= 0) numerator *= 10n ** BigInt(shift);
  else denominator *= 10n ** BigInt(-shift);
  return divideRounded(numerator, denominator, 'half-even');
}
