import { AppError } from '../../errors.ts';
import { moneyErrorText, parseStatementAmount } from './amount.ts';
import type { CreditDebit, EntryStatus } from './types.ts';

/** The checks on one element's text, shared by every element reader: each returns the typed value or throws. */

const TZ = '(?:Z|[+-]\\d{2}:\\d{2})?';
const DATE = new RegExp(`^-?\\d{4,}-\\d{2}-\\d{2}${TZ}$`);
const DATE_TIME = new RegExp(`^-?\\d{4,}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?${TZ}$`);

export function malformed(line: number, element: string, what: string): AppError {
  return new AppError('reconciliation_file_malformed', `camt: line ${line}, <${element}>: ${what}`);
}

/** An entry's `Sts` (or `Sts/Cd`, `Sts/Prtry`): BOOK, PDNG, INFO, FUTR or another code (read as not booked). */
export function statusOf(text: string | undefined, line: number): EntryStatus {
  if (text === undefined || text === '') throw malformed(line, 'Sts', 'the entry has no status');
  return text;
}

/** A `CdtDbtInd` under `element`: CRDT or DBIT. */
export function creditDebitOf(text: string | undefined, line: number, element: string): CreditDebit {
  if (text === 'CRDT' || text === 'DBIT') return text;
  throw malformed(
    line,
    `${element}/CdtDbtInd`,
    text === undefined ? 'missing (CRDT or DBIT required)' : `"${text}" is neither CRDT nor DBIT`,
  );
}

/** An `Amt` under `element` with its `Ccy` attribute, in minor units of that currency. */
export function amountOf(
  text: string | undefined,
  currency: string | undefined,
  line: number,
  element: string,
): { amountMinor: bigint; currency: string } {
  if (text === undefined) throw malformed(line, `${element}/Amt`, 'the amount is missing');
  if (currency === undefined) throw malformed(line, `${element}/Amt`, 'the amount has no Ccy attribute');
  try {
    return { amountMinor: parseStatementAmount(text, currency), currency };
  } catch (error) {
    throw malformed(line, `${element}/Amt`, `"${text}" ${currency}: ${moneyErrorText(error)}`);
  }
}

/** A `Dt` or `DtTm`: an ISO date or date-time, kept as given. */
export function dateOf(raw: string, line: number, element: string): string {
  const text = raw.trim();
  if (DATE.test(text) || DATE_TIME.test(text)) return text;
  throw malformed(line, element, `"${text}" is not an ISO date or date-time`);
}
