import { AppError } from '../errors.ts';
import { CURRENCY_EXPONENTS, type CurrencyCode, type Exponent } from './currencies.ts';

/** True when `code` is exactly (case and all) an active ISO 4217 code in our table. */
export function isCurrencyCode(code: unknown): code is CurrencyCode {
  // Object.hasOwn keeps inherited names such as "constructor" out of the table.
  return typeof code === 'string' && Object.hasOwn(CURRENCY_EXPONENTS, code);
}

/**
 * Returns `code` as a CurrencyCode or throws: `currency_not_uppercase` when only its case is wrong ("usd"),
 * `currency_unknown` for anything else (not a string, withdrawn, invented, padded with spaces).
 */
export function assertCurrency(code: unknown): CurrencyCode {
  if (isCurrencyCode(code)) return code;
  if (typeof code === 'string' && isCurrencyCode(code.toUpperCase())) {
    throw new AppError('currency_not_uppercase', `currency "${code}" must be written in upper case`);
  }
  const shown = typeof code === 'string' ? `"${code.slice(0, 16)}"` : typeof code;
  throw new AppError('currency_unknown', `currency ${shown} is not an active ISO 4217 code`);
}

/** How many decimals the currency's major unit has (JPY 0, USD 2, KWD 3, CLF 4). */
export function exponentOf(currency: CurrencyCode): Exponent {
  // Re-checked at run time because currency codes often come from the database typed only as strings.
  return CURRENCY_EXPONENTS[assertCurrency(currency)];
}
