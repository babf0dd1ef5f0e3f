/**
 * What the camt reader yields: ISO 20022 bank-to-customer cash management messages (camt.053 statements and
 * camt.054 debit/credit notifications, versions 001.02 to 001.13) in our words. Amounts are bigint minor units of
 * the element's own currency, always positive; the direction is `creditDebit`.
 */

export type CamtMessageType = 'camt.052' | 'camt.053' | 'camt.054';
export type CreditDebit = 'CRDT' | 'DBIT';
/**
 * BOOK = booked; PDNG = pending (not final, may still change); INFO = informational. Newer versions add FUTR, and
 * from 001.08 the status is an external code (any code of up to 4 characters) or a proprietary one: only BOOK is
 * booked, anything else is read as not final.
 */
export type EntryStatus = 'BOOK' | 'PDNG' | 'INFO' | 'FUTR' | (string & {});

export interface CamtBalance {
  /** OPBD (opening booked), CLBD (closing booked), OPAV, CLAV, ITBD, PRCD, … or a proprietary code. */
  type: string;
  amountMinor: bigint;
  currency: string;
  creditDebit: CreditDebit;
  /** The balance signed: negative when it is a debit balance. */
  signedMinor: bigint;
  /** YYYY-MM-DD (or the date-time as given). */
  date: string | undefined;
}

/** One `Stmt` (camt.053) or `Ntfctn` (camt.054), as known when its first entry (or its end) is reached. */
export interface CamtStatement {
  messageType: CamtMessageType;
  /** "02" … "13". */
  version: string;
  messageId: string | undefined;
  /** The statement's `Id` (unique per account and bank). */
  id: string;
  /** 1-based position of the statement in the file. */
  index: number;
  electronicSequence: string | undefined;
  legalSequence: string | undefined;
  createdAt: string | undefined;
  accountIban: string | undefined;
  /** `Acct/Id/Othr/Id` when the account has no IBAN. */
  accountOther: string | undefined;
  accountCurrency: string | undefined;
  balances: CamtBalance[];
  /** The booked opening and closing balances (OPBD / CLBD, else PRCD for the opening), when present. */
  openingBalance: CamtBalance | undefined;
  closingBalance: CamtBalance | undefined;
  /** The line of the `Stmt`/`Ntfctn` start tag. */
  line: number;
}

export interface CamtReturnInfo {
  /** ISO external return reason code (AC01, AC04, MD07, …) from `RtrInf/Rsn/Cd`. */
  code: string | undefined;
  proprietary: string | undefined;
  additionalInfo: string[];
}

/** One `TxDtls` of an entry: a single transfer inside a (possibly batch-booked) entry. */
export interface CamtTransaction {
  /** The transaction's own amount when given (`Amt`, or `AmtDtls/TxAmt/Amt` in older versions). */
  amountMinor: bigint | undefined;
  currency: string | undefined;
  creditDebit: CreditDebit | undefined;
  messageId: string | undefined;
  acctSvcrRef: string | undefined;
  instructionId: string | undefined;
  endToEndId: string | undefined;
  transactionId: string | undefined;
  /** Unstructured remittance lines (`Ustrd`) followed by structured creditor references (`Strd/CdtrRefInf/Ref`). */
  remittance: string[];
  returnInfo: CamtReturnInfo | undefined;
}

export interface CamtEntry {
  statement: CamtStatement;
  /** 1-based position of the entry within its statement. */
  index: number;
  /** The line of the `Ntry` start tag. */
  line: number;
  amountMinor: bigint;
  currency: string;
  creditDebit: CreditDebit;
  /** `RvslInd`: the entry reverses an earlier one (for a debit: money came back). */
  reversal: boolean;
  status: EntryStatus;
  bookingDate: string | undefined;
  valueDate: string | undefined;
  entryRef: string | undefined;
  acctSvcrRef: string | undefined;
  /** `BkTxCd` as `Domn/Fmly/SubFmly` (e.g. `PMNT/ICDT/RRTN`) and/or the proprietary code. */
  bankTransactionCode: string | undefined;
  proprietaryCode: string | undefined;
  additionalInfo: string | undefined;
  /** `NtryDtls/Btch/MsgId` and `PmtInfId` of a batch-booked entry (the payment file it books), in order. */
  batchReferences: string[];
  transactions: CamtTransaction[];
}

export type CamtItem =
  | { kind: 'statement'; statement: CamtStatement }
  | { kind: 'entry'; entry: CamtEntry }
  | {
      kind: 'end';
      messageType: CamtMessageType;
      version: string;
      messageId: string | undefined;
      statements: number;
      entries: number;
    };

/** A chunk source: a file stream, an HTTP body, or a string/Buffer wrapped in an array. */
export type ByteSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;
