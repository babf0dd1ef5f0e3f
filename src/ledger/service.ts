/**
 * The ledger's use cases in one import: posting (in the caller's transaction, or through the group-commit
 * writer), reversing, reading, verifying. Other modules use these and the chart and recipes, never the tables.
 */
export { postEntry, postEntries, reverseEntry } from './post.ts';
export {
  getBalances,
  listAccountsByOwner,
  getEntry,
  findEntryByReference,
  balanceAt,
  normalBalance,
} from './read.ts';
export { paidOutTotal } from './wallet.ts';
export { LedgerWriter, type LedgerWriterOptions, type LedgerWriterStats } from './writer.ts';
export { verifyLedger, type VerifyReport, type VerifyFailure, type VerifyCheck } from './verify.ts';
export { entryIdOf, entryRowIdOf } from './ids.ts';
