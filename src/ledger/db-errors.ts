import { sqlState } from '../db/tx.ts';
import { AppError } from '../errors.ts';

/**
 * The SQLSTATEs the ledger's triggers raise (migrations/0010_ledger.sql), and the error codes they become.
 * A database refusal means the application's own checks were bypassed or raced, so the message says which
 * invariant the database kept.
 */
export const LEDGER_SQLSTATES = {
  unbalanced: 'LG001',
  tooFewPostings: 'LG002',
  appendOnly: 'LG003',
  closedEntry: 'LG004',
  belowFloor: 'LG010',
  currencyMismatch: 'LG021',
  accountMismatch: 'LG022',
  totalsShrink: 'LG023',
} as const;

function constraintOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'constraint' in error) {
    const constraint = (error as { constraint: unknown }).constraint;
    if (typeof constraint === 'string') return constraint;
  }
  return undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The AppError a database error from a ledger write stands for, or the error itself when it is not ours. */
export function translateLedgerError(error: unknown, context: string): unknown {
  const state = sqlState(error);
  const message = `${context}: ${messageOf(error)}`;
  switch (state) {
    case LEDGER_SQLSTATES.unbalanced:
      return new AppError('ledger_entry_unbalanced', message, { cause: error });
    case LEDGER_SQLSTATES.tooFewPostings:
    case LEDGER_SQLSTATES.accountMismatch:
    case LEDGER_SQLSTATES.closedEntry:
      return new AppError('ledger_entry_invalid', message, { cause: error });
    case LEDGER_SQLSTATES.currencyMismatch:
      return new AppError('currency_mismatch', message, { cause: error });
    case LEDGER_SQLSTATES.belowFloor:
      return new AppError('account_limit_exceeded', message, { cause: error });
    case '23505':
      if (constraintOf(error) === 'entries_reversed_once') {
        return new AppError('ledger_entry_invalid', `${context}: the entry was reversed already`, {
          cause: error,
        });
      }
      return error;
    case '22003':
      return new AppError('account_limit_exceeded', `${context}: an account total would overflow`, {
        cause: error,
      });
    default:
      return error;
  }
}
