import type { ClosedElement } from './element.ts';
import type { CamtMessageType, CamtStatement } from './types.ts';
import { malformed } from './values.ts';

/** A `Stmt` (camt.053) or `Ntfctn` (camt.054): its identity and account; its balances are read by balance.ts. */

export interface StatementStart {
  messageType: CamtMessageType | undefined;
  version: string;
  messageId: string | undefined;
  /** 1-based position of the statement in the file. */
  index: number;
  line: number;
}

export function newStatement(start: StatementStart): CamtStatement {
  return {
    messageType: start.messageType ?? 'camt.053',
    version: start.version,
    messageId: start.messageId,
    id: '',
    index: start.index,
    electronicSequence: undefined,
    legalSequence: undefined,
    createdAt: undefined,
    accountIban: undefined,
    accountOther: undefined,
    accountCurrency: undefined,
    balances: [],
    openingBalance: undefined,
    closingBalance: undefined,
    line: start.line,
  };
}

/** Keeps a child of the statement that just closed (other children are ignored). */
export function readStatementField(statement: CamtStatement, closed: ClosedElement): void {
  const { path, value } = closed;
  if (path === 'Id') statement.id = value;
  else if (path === 'ElctrncSeqNb') statement.electronicSequence = value;
  else if (path === 'LglSeqNb') statement.legalSequence = value;
  else if (path === 'CreDtTm') statement.createdAt = value;
  else if (path === 'Acct/Id/IBAN') statement.accountIban = value;
  else if (path === 'Acct/Id/Othr/Id') statement.accountOther = value;
  else if (path === 'Acct/Ccy') statement.accountCurrency = value;
}

/** Before its first entry a statement must have its `Id`. */
export function checkStatementBeforeEntry(statement: CamtStatement, line: number, element: string): void {
  if (statement.id === '') {
    throw malformed(line, `${element}/Id`, 'the statement has no Id before its first entry');
  }
}

/** At its end a statement must have its `Id` and name its account. */
export function checkStatementEnd(statement: CamtStatement, line: number, element: string): void {
  if (statement.id === '') throw malformed(line, `${element}/Id`, 'the statement has no Id');
  if (statement.accountIban === undefined && statement.accountOther === undefined) {
    throw malformed(line, `${element}/Acct`, 'the statement names no account (IBAN or Othr/Id)');
  }
}

/** Sets the booked opening (OPBD, else PRCD) and closing (CLBD) balances from the balances read so far. */
export function settleBookedBalances(statement: CamtStatement): void {
  statement.openingBalance =
    statement.balances.find((b) => b.type === 'OPBD') ?? statement.balances.find((b) => b.type === 'PRCD');
  statement.closingBalance = statement.balances.find((b) => b.type === 'CLBD');
}
