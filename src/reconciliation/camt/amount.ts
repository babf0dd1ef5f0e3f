import { AppError, isAppError } from '../../errors.ts';
import { assertCurrency, exponentOf, parseReportAmount } from '../../money/index.ts';

/**
 * Parses a statement amount (`<Amt Ccy="EUR">8.850</Amt>`) into minor units with the money module.
 * ISO 20022 amounts may carry up to five decimals whatever the currency. We accept extra decimals only when they
 * are zeros ("8.850" EUR is exactly 885 cents) and refuse anything that would need rounding ("8.855" EUR), so a
 * statement never changes value on its way in. Throws an AppError from the money module naming what is wrong.
 */
export function parseStatementAmount(text: string, currencyText: string): bigint {
  const currency = assertCurrency(currencyText);
  const exponent = exponentOf(currency);
  let body = text.trim();
  const point = body.indexOf('.');
  if (point >= 0) {
    const fraction = body.slice(point + 1);
    if (fraction.length > exponent && /^\d+$/.test(fraction)) {
      const extra = fraction.slice(exponent);
      if (/^0+$/.test(extra))
        body = exponent === 0 ? body.slice(0, point) : body.slice(0, point + 1 + exponent);
    }
  }
  if (body.startsWith('-')) {
    throw new AppError('amount_negative', 'statement amounts are unsigned; the direction is CdtDbtInd');
  }
  return parseReportAmount(body, currency);
}

/** Turns a money-module error into a message fragment; anything else is rethrown. */
export function moneyErrorText(error: unknown): string {
  if (isAppError(error)) return `${error.message} (${error.code})`;
  throw error;
}
