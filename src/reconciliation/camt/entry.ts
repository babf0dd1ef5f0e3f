import { takeAmount, type AmountDraft, type ClosedElement } from './element.ts';
import type { CamtEntry, CamtStatement, CamtTransaction } from './types.ts';
import { amountOf, creditDebitOf, dateOf, malformed, statusOf } from './values.ts';

/** A statement's `Ntry`: amount, direction, status, dates, references and bank transaction code. */

export interface EntryDraft extends AmountDraft {
  line: number;
  creditDebit: string | undefined;
  reversal: string | undefined;
  status: string | undefined;
  statusLine: number;
  bookingDate: string | undefined;
  valueDate: string | undefined;
  entryRef: string | undefined;
  acctSvcrRef: string | undefined;
  domain: string | undefined;
  family: string | undefined;
  subFamily: string | undefined;
  proprietaryCode: string | undefined;
  additionalInfo: string | undefined;
  /** `NtryDtls/Btch/MsgId` and `PmtInfId`: the payment file a batch-booked entry carries. */
  batchReferences: string[];
  /** The entry's `NtryDtls/TxDtls`, added by transaction.ts as each closes. */
  transactions: CamtTransaction[];
}

export function newEntryDraft(line: number): EntryDraft {
  return {
    line,
    amountText: undefined,
    amountLine: line,
    currency: undefined,
    creditDebit: undefined,
    reversal: undefined,
    status: undefined,
    statusLine: line,
    bookingDate: undefined,
    valueDate: undefined,
    entryRef: undefined,
    acctSvcrRef: undefined,
    domain: undefined,
    family: undefined,
    subFamily: undefined,
    proprietaryCode: undefined,
    additionalInfo: undefined,
    batchReferences: [],
    transactions: [],
  };
}

/** Keeps an entry's status: `Sts` itself in older versions, `Sts/Cd` or `Sts/Prtry` in newer ones. */
function readStatus(entry: EntryDraft, closed: ClosedElement): void {
  if (closed.value !== '' || closed.path !== 'Sts') {
    entry.status = closed.value;
    entry.statusLine = closed.line;
  }
}

/** Keeps an entry's booking or value date; false when the element is neither. */
function readDate(entry: EntryDraft, closed: ClosedElement): boolean {
  const { path, value, line } = closed;
  if (path === 'BookgDt/Dt' || path === 'BookgDt/DtTm')
    entry.bookingDate = dateOf(value, line, `Ntry/${path}`);
  else if (path === 'ValDt/Dt' || path === 'ValDt/DtTm')
    entry.valueDate = dateOf(value, line, `Ntry/${path}`);
  else return false;
  return true;
}

/** Keeps an entry's references and bank transaction code parts; false when the element is none of them. */
function readReference(entry: EntryDraft, closed: ClosedElement): boolean {
  const { path, value } = closed;
  if (path === 'NtryRef') entry.entryRef = value;
  else if (path === 'AcctSvcrRef') entry.acctSvcrRef = value;
  else if (path === 'BkTxCd/Domn/Cd') entry.domain = value;
  else if (path === 'BkTxCd/Domn/Fmly/Cd') entry.family = value;
  else if (path === 'BkTxCd/Domn/Fmly/SubFmlyCd') entry.subFamily = value;
  else if (path === 'BkTxCd/Prtry/Cd') entry.proprietaryCode = value;
  else if (path === 'AddtlNtryInf') entry.additionalInfo = value;
  else if ((path === 'NtryDtls/Btch/MsgId' || path === 'NtryDtls/Btch/PmtInfId') && value !== '')
    entry.batchReferences.push(value);
  else return false;
  return true;
}

/** Keeps a child of `Ntry` that just closed (other children are ignored). */
export function readEntryField(entry: EntryDraft, closed: ClosedElement): void {
  const { path, value } = closed;
  if (path === 'Amt') takeAmount(entry, closed);
  else if (path === 'CdtDbtInd') entry.creditDebit = value;
  else if (path === 'RvslInd') entry.reversal = value;
  else if (path === 'Sts' || path === 'Sts/Cd' || path === 'Sts/Prtry') readStatus(entry, closed);
  else if (!readDate(entry, closed)) readReference(entry, closed);
}

/** The entry once `Ntry` closes: `index` is its 1-based position within `statement`. */
export function finishEntry(entry: EntryDraft, statement: CamtStatement, index: number): CamtEntry {
  const amount = amountOf(entry.amountText, entry.currency, entry.amountLine, 'Ntry');
  const creditDebit = creditDebitOf(entry.creditDebit, entry.line, 'Ntry');
  const status = statusOf(entry.status, entry.statusLine);
  if (entry.reversal !== undefined && !['true', 'false', '1', '0'].includes(entry.reversal)) {
    throw malformed(
      entry.line,
      'Ntry/RvslInd',
      `"${entry.reversal}" is not an xs:boolean (true, false, 1, 0)`,
    );
  }
  const code = [entry.domain, entry.family, entry.subFamily].filter((part) => part !== undefined);
  return {
    statement,
    index,
    line: entry.line,
    amountMinor: amount.amountMinor,
    currency: amount.currency,
    creditDebit,
    reversal: entry.reversal === 'true' || entry.reversal === '1',
    status,
    bookingDate: entry.bookingDate,
    valueDate: entry.valueDate,
    entryRef: entry.entryRef,
    acctSvcrRef: entry.acctSvcrRef,
    bankTransactionCode: code.length > 0 ? code.join('/') : undefined,
    proprietaryCode: entry.proprietaryCode,
    additionalInfo: entry.additionalInfo,
    batchReferences: entry.batchReferences,
    transactions: entry.transactions,
  };
}
