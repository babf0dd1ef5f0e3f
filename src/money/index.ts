/** The money module: the one place where amounts become strings and strings become amounts. Pure, no I/O. */
export { CURRENCY_EXPONENTS, CURRENCY_CODES, type CurrencyCode, type Exponent } from './currencies.ts';
export { MAX_AMOUNT_MINOR } from './limits.ts';
export { assertCurrency, isCurrencyCode, exponentOf } from './currency.ts';
export { parseAmount, parseMoney, parseReportAmount, type ParseAmountOptions } from './parse.ts';
export { formatAmount } from './format.ts';
export {
  type Money,
  money,
  addMoney,
  subtractMoney,
  sumMinor,
  sumMoney,
  assertSameCurrency,
} from './arith.ts';
export {
  type Rounding,
  BASIS_POINTS_PER_WHOLE,
  divideRounded,
  basisPointsOf,
  percentOf,
  allocate,
} from './fees.ts';
