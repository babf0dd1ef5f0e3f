/** The ledger module's public face: use cases, chart of accounts, recipes and types. */
import type { Pool } from '../db/pool.ts';
import { verifyLedger, type VerifyReport } from './verify.ts';

export * from './service.ts';
export * from './chart.ts';
export * from './recipes.ts';
export * from './types.ts';
export * from './clawback.ts';
export * from './recipes-debt.ts';
export * from './debt.ts';
export * from './recipes-dispute.ts';
export { debitTotalsByReference, entriesByReference } from './lookups.ts';
export { fxSettledByTransaction, pspClearingByReference } from './fx-lookups.ts';

export interface LedgerDeps {
  pool: Pool;
}

/**
 * The ledger as the composition root holds it. Posting happens in the caller's transaction through the functions
 * above (`postEntry`, `postEntries` and the recipes), so that a state change and its postings commit together;
 * this object carries what runs on the ledger's own connection.
 */
export interface LedgerModule {
  /** Every invariant of the journal (balanced entries, cached balances, floors). */
  verify(): Promise<VerifyReport>;
}

export function createLedger(deps: LedgerDeps): LedgerModule {
  return { verify: () => verifyLedger(deps.pool) };
}
export { entriesForPaymentOrder } from './subject.ts';
export {
  balancesAt,
  entriesSincePrevious,
  entriesTouching,
  platformAccountCodes,
  type HistoryEntry,
  type HistoryPosting,
} from './history.ts';
export * from './recipes-refund.ts';
export * from './recipes-fx.ts';
