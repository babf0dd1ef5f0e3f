/** Statements and reports from the ledger (docs/reports.md): routes, and the builders the CLI writes to files. */
export { reportRoutes, windowOf } from './http.ts';
export { sellerStatement, rolledForward, type Statement } from './statement.ts';
export { platformReport, type PlatformReport } from './platform.ts';
export { payoutReport, type PayoutReport } from './payout-report.ts';
export {
  payoutCsv,
  payoutReportToWire,
  platformCsv,
  platformToWire,
  statementCsv,
  statementToWire,
} from './wire.ts';
export { fxPositionsReport, type FxPositionsReport } from './fx-positions.ts';
export { fxPositionsCsv, fxPositionsToWire } from './fx-wire.ts';
