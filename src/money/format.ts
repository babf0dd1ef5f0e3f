import { exponentOf } from './currency.ts';
import type { CurrencyCode } from './currencies.ts';

/**
 * The canonical wire string for an amount in minor units: major units with exactly the currency's number of
 * decimals (USD 1234n -> "12.34", USD 5n -> "0.05", JPY 1200n -> "1200", KWD 1234n -> "1.234").
 * Negative amounts get a leading "-"; they belong in internal reports only, never in API requests.
 * `parseAmount`/`parseReportAmount` read every string this returns back to the same bigint.
 */
export function formatAmount(amountMinor: bigint, currency: CurrencyCode): string {
  if (typeof amountMinor !== 'bigint') {
    // A number here would mean a float touched money somewhere upstream: fail loudly rather than format it.
    throw new TypeError(`formatAmount needs a bigint amount in minor units, got ${typeof amountMinor}`);
  }
  const exponent = exponentOf(currency);
  const sign = amountMinor < 0n ? '-' : '';
  const digits = (amountMinor < 0n ? -amountMinor : amountMinor).toString();
  if (exponent === 0) return sign + digits;
  const padded = digits.padStart(exponent + 1, '0');
  return `${sign}${padded.slice(0, -exponent)}.${padded.slice(-exponent)}`;
}
