import { takeAmount, type AmountDraft, type ClosedElement } from './element.ts';
import type { CamtBalance } from './types.ts';
import { amountOf, creditDebitOf, dateOf, malformed } from './values.ts';

/** A statement's `Bal`: type, amount, direction and date. */

export interface BalanceDraft extends AmountDraft {
  line: number;
  type: string | undefined;
  creditDebit: string | undefined;
  date: string | undefined;
}

export function newBalanceDraft(line: number): BalanceDraft {
  return {
    line,
    type: undefined,
    amountText: undefined,
    amountLine: line,
    currency: undefined,
    creditDebit: undefined,
    date: undefined,
  };
}

/** Keeps a child of `Bal` that just closed (other children are ignored). */
export function readBalanceField(balance: BalanceDraft, closed: ClosedElement): void {
  const { path, value } = closed;
  if (path === 'Tp/CdOrPrtry/Cd' || path === 'Tp/CdOrPrtry/Prtry') balance.type = value;
  else if (path === 'Amt') takeAmount(balance, closed);
  else if (path === 'CdtDbtInd') balance.creditDebit = value;
  else if (path === 'Dt/Dt' || path === 'Dt/DtTm') balance.date = dateOf(value, closed.line, `Bal/${path}`);
}

/** The balance once `Bal` closes; `element` names it in errors (`Stmt/Bal` or `Ntfctn/Bal`). */
export function finishBalance(balance: BalanceDraft, element: string): CamtBalance {
  if (balance.type === undefined) throw malformed(balance.line, `${element}/Tp`, 'the balance has no type');
  const amount = amountOf(balance.amountText, balance.currency, balance.amountLine, element);
  const creditDebit = creditDebitOf(balance.creditDebit, balance.line, element);
  return {
    type: balance.type,
    amountMinor: amount.amountMinor,
    currency: amount.currency,
    creditDebit,
    signedMinor: creditDebit === 'DBIT' ? -amount.amountMinor : amount.amountMinor,
    date: balance.date,
  };
}
