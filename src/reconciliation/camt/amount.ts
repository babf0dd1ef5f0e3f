import { AppError, isAppError } from '../../errors.ts';
import { assertCurrency, parseReportAmount } from '../../money/index.ts';

const XSD_DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

/**
 * Parses a statement amount (`<Amt Ccy="EUR">8.850</Amt>`) into minor units with the money module. The text is an
 * XSD decimal: surrounding white space is collapsed away, and leading zeros, a leading `+`, no digits before the
 * point (".5") or after it ("5.") are all the same number. ISO 20022 amounts may carry up to five decimals whatever
 * the currency: extra decimals are accepted when they are zeros ("8.850" EUR is exactly 885 cents) and anything
 * that would need rounding ("8.855" EUR) is refused, so a statement never changes value on its way in. A negative
 * amount is refused (the schemas say amounts are at least 0; the direction is CdtDbtInd). Throws an AppError from
 * the money module naming what is wrong.
 */
export function parseStatementAmount(text: string, currencyText: string): bigint {
  const currency = assertCurrency(currencyText);
  const lexical = text.replace(/[\t\n\r ]+/g, ' ').trim();
  if (!XSD_DECIMAL.test(lexical)) {
    throw new AppError('amount_malformed', 'not a decimal number (digits with an optional point and sign)');
  }
  const negative = lexical.startsWith('-');
  const [rawInteger = '', rawFraction = ''] = lexical.replace(/^[+-]/, '').split('.');
  const integer = rawInteger.replace(/^0+(?=\d)/, '').replace(/^$/, '0');
  const fraction = rawFraction.replace(/0+$/, '');
  const body = fraction === '' ? integer : `${integer}.${fraction}`;
  if (negative && body !== '0') {
    throw new AppError('amount_negative', 'statement amounts are unsigned; the direction is CdtDbtInd');
  }
  return parseReportAmount(body, currency);
}

/** Turns a money-module error into a message fragment; anything else is rethrown. */
export function moneyErrorText(error: unknown): string {
  if (isAppError(error)) return `${error.message} (${error.code})`;
  throw error;
}
