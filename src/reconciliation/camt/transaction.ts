import { takeAmount, type AmountDraft, type ClosedElement } from './element.ts';
import type { CamtTransaction } from './types.ts';
import { amountOf, creditDebitOf } from './values.ts';

/** An entry's `NtryDtls/TxDtls`: its own amount, references, remittance and return information. */

type ReferenceField = 'messageId' | 'acctSvcrRef' | 'instructionId' | 'endToEndId' | 'transactionId';

export interface TransactionDraft extends AmountDraft {
  line: number;
  creditDebit: string | undefined;
  fields: Partial<Record<ReferenceField, string>>;
  remittance: string[];
  structuredRefs: string[];
  returnCode: string | undefined;
  returnProprietary: string | undefined;
  returnInfo: string[];
  /** An `RtrInf` was opened (even an empty one). */
  hasReturn: boolean;
}

export function newTransactionDraft(line: number): TransactionDraft {
  return {
    line,
    amountText: undefined,
    amountLine: line,
    currency: undefined,
    creditDebit: undefined,
    fields: {},
    remittance: [],
    structuredRefs: [],
    returnCode: undefined,
    returnProprietary: undefined,
    returnInfo: [],
    hasReturn: false,
  };
}

/** Notes a child of `TxDtls` as it opens: an `RtrInf` makes the transaction a return, whatever it holds. */
export function openTransactionChild(transaction: TransactionDraft, path: string): void {
  if (path === 'RtrInf') transaction.hasReturn = true;
}

/** Keeps a `Refs/*` of the transaction; false when the element is not one. */
function readReference(transaction: TransactionDraft, closed: ClosedElement): boolean {
  const { path, value } = closed;
  if (path === 'Refs/MsgId') transaction.fields.messageId = value;
  else if (path === 'Refs/AcctSvcrRef') transaction.fields.acctSvcrRef = value;
  else if (path === 'Refs/InstrId') transaction.fields.instructionId = value;
  else if (path === 'Refs/EndToEndId') transaction.fields.endToEndId = value;
  else if (path === 'Refs/TxId') transaction.fields.transactionId = value;
  else return false;
  return true;
}

/** Keeps the remittance lines and the return reason of the transaction (other elements are ignored). */
function readRemittanceOrReturn(transaction: TransactionDraft, closed: ClosedElement): void {
  const { path, value } = closed;
  if (path === 'RmtInf/Ustrd') transaction.remittance.push(value);
  else if (path === 'RmtInf/Strd/CdtrRefInf/Ref') transaction.structuredRefs.push(value);
  else if (path === 'RtrInf/Rsn/Cd') transaction.returnCode = value;
  else if (path === 'RtrInf/Rsn/Prtry') transaction.returnProprietary = value;
  else if (path === 'RtrInf/AddtlInf') transaction.returnInfo.push(value);
}

/** Keeps a child of `TxDtls` that just closed (other children are ignored). */
export function readTransactionField(transaction: TransactionDraft, closed: ClosedElement): void {
  const { path, value } = closed;
  // The transaction's own amount: `Amt` (newer versions) wins over `AmtDtls/TxAmt/Amt` (older ones).
  if (path === 'Amt' || (path === 'AmtDtls/TxAmt/Amt' && transaction.amountText === undefined)) {
    takeAmount(transaction, closed);
  } else if (path === 'CdtDbtInd') transaction.creditDebit = value;
  else if (!readReference(transaction, closed)) readRemittanceOrReturn(transaction, closed);
}

/** The transaction once `TxDtls` closes; its amount and direction are optional but checked when present. */
export function finishTransaction(t: TransactionDraft): CamtTransaction {
  let amountMinor: bigint | undefined;
  let currency: string | undefined;
  if (t.amountText !== undefined) {
    const amount = amountOf(t.amountText, t.currency, t.amountLine, 'TxDtls');
    amountMinor = amount.amountMinor;
    currency = amount.currency;
  }
  return {
    amountMinor,
    currency,
    creditDebit: t.creditDebit === undefined ? undefined : creditDebitOf(t.creditDebit, t.line, 'TxDtls'),
    messageId: t.fields.messageId,
    acctSvcrRef: t.fields.acctSvcrRef,
    instructionId: t.fields.instructionId,
    endToEndId: t.fields.endToEndId,
    transactionId: t.fields.transactionId,
    remittance: [...t.remittance, ...t.structuredRefs],
    returnInfo: t.hasReturn
      ? { code: t.returnCode, proprietary: t.returnProprietary, additionalInfo: t.returnInfo }
      : undefined,
  };
}
