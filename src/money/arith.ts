import { AppError } from '../errors.ts';
import type { CurrencyCode } from './currencies.ts';
import { assertCurrency } from './currency.ts';

/** An amount of money: signed minor units of one currency. */
export type Money = { readonly amountMinor: bigint; readonly currency: CurrencyCode };

/** Builds a Money after checking, at run time, that the amount is a bigint and the currency is known. */
export function money(amountMinor: bigint, currency: string): Money {
  if (typeof amountMinor !== 'bigint') {
    throw new TypeError(`money needs a bigint amount in minor units, got ${typeof amountMinor}`);
  }
  return { amountMinor, currency: assertCurrency(currency) };
}

export function addMoney(a: Money, b: Money): Money {
  assertSameCurrency(a.currency, b.currency);
  return { amountMinor: a.amountMinor + b.amountMinor, currency: a.currency };
}

export function subtractMoney(a: Money, b: Money): Money {
  assertSameCurrency(a.currency, b.currency);
  return { amountMinor: a.amountMinor - b.amountMinor, currency: a.currency };
}

/** Sum of minor-unit amounts (0n for an empty list); the caller is responsible for them sharing a currency. */
export function sumMinor(amountsMinor: Iterable<bigint>): bigint {
  let total = 0n;
  for (const amountMinor of amountsMinor) total += amountMinor;
  return total;
}

/** Sum of Money values that must all be in `currency` (which also gives an empty list its currency). */
export function sumMoney(items: Iterable<Money>, currency: CurrencyCode): Money {
  let total = 0n;
  for (const item of items) {
    assertSameCurrency(currency, item.currency);
    total += item.amountMinor;
  }
  return { amountMinor: total, currency };
}

/** Throws `currency_mismatch` unless the two currencies are the same. */
export function assertSameCurrency(expected: CurrencyCode, actual: CurrencyCode): void {
  if (expected !== actual) {
    throw new AppError('currency_mismatch', `cannot combine ${expected} with ${actual}`);
  }
}
