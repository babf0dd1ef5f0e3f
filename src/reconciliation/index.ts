/**
 * The reconciliation module's public surface: the factory, the ports it needs (wired in src/compose.ts), and the
 * use cases the CLI and the benchmarks run.
 */
export { createReconciliation, type ReconciliationDeps, type ReconciliationModule } from './module.ts';
export type { ReconRuntime, ReportFetcher } from './runtime.ts';
export { loadReconConfig, type ReconConfig } from './config.ts';
export type { PayinSide, PayinSettleResult } from './fixes.ts';
export {
  payoutSideOf,
  type PayoutSide,
  type PayoutsFunctions,
  type StatusReportOutcome,
  type AchReturnsOutcome,
} from './payouts-port.ts';
export { applyStatusReport } from './status-reports.ts';
export { applyAchReturnFile, type AchReturnFileResult } from './ach-returns.ts';
export { sandboxReportFetcher } from './psp-fetch.ts';
export { dailyRun, fetchAndReconcile, importBankDirectory, runStaged } from './daily.ts';
export {
  getRun,
  importBankStatement,
  importPspReport,
  reconcileFiles,
  reportDayInterval,
  runReconciliation,
  type RunRecord,
} from './service.ts';
export {
  EXCEPTION_CLASSES,
  EXCEPTION_KINDS,
  isExceptionKind,
  type ExceptionClass,
  type ExceptionKind,
  type PayoutFacts,
} from './domain/types.ts';
export {
  countOpenByClass,
  exceptionHistory,
  getException,
  listExceptions,
  reopenException,
  resolveException,
  type ExceptionStatus,
  type ReconException,
} from './exceptions-store.ts';
export { contentInput, fileInput, type FileInput } from './input.ts';
export { reportLines } from './report.ts';
export { camtEntries, type CamtEntry, type CamtTransaction } from './camt/index.ts';
export { exceptionToWire } from './http.ts';
export { exceptionDetail, resolveByFilter } from './http-bulk.ts';
export { openExceptionCounts } from './stats.ts';
export type { RefundSide, SucceededRefund } from './refunds-check.ts';
