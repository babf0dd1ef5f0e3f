/**
 * The payouts module's public surface: the factory, the use cases the CLI and reconciliation call, and the
 * types they need. Nothing outside the module touches the `payouts` schema.
 */
export { createPayouts, type PayoutsDeps, type PayoutsModule } from './module.ts';
export type { PayoutsRuntime } from './runtime.ts';
export { providerFor } from './runtime.ts';
export {
  debtorFor,
  loadPayoutsConfig,
  parseDebtorAccounts,
  DEFAULT_DEBTOR,
  type PayoutsConfig,
} from './config.ts';
export type { PayoutProvider, SubmitReport } from './port.ts';
export { runPayouts, type RunDeps, type RunReport } from './run.ts';
export { releaseDueHolds } from './holds.ts';
export { settlePayout, markInTransit, type SettlementOutcome, type SettlementResult } from './settle.ts';
export { settleFromCamt, type CamtSettleReport } from './camt-settle.ts';
export {
  settleFromStatusReport,
  ACCEPTED_STATUSES,
  type StatusReportResult,
  type UnknownStatusItem,
} from './status-report.ts';
export { looksLikeStatusReport } from './iso20022/pain002.ts';
export {
  findPayoutBatches,
  registerPayoutBatchFinder,
  type PayoutBatch,
  type PayoutBatchFinder,
} from './batch-finder.ts';
export { findPayoutsByIds, getPayout, insertPayouts, payoutStatusesPage, type NewPayout } from './store.ts';
export { listPayouts, type PayoutFilter } from './list-store.ts';
export { listPayoutFiles, readPayoutFile, payoutFileStream, type PayoutFile } from './files.ts';
export { createIso20022Provider } from './iso20022/adapter.ts';
export { isoDateOf, parseIsoDate, type IsoDate } from './settings.ts';
export { ibanWithCheckDigits } from './bank.ts';
export { settleFromAch, type AchSettleReport } from './nacha/settle.ts';
export { findPayoutsForBatch, type PayoutBatch as PayoutFileBatch } from './batches.ts';
export type { PayoutProviderName, SubmitOptions } from './port.ts';
export { loadAchSettings, DEFAULT_ACH, type AchSettings } from './nacha/config.ts';
