/**
 * The disputes module's public surface (docs/disputes.md): the factory, its ports and settings, and the reads
 * reconciliation uses. Nothing outside the module touches the `disputes` schema.
 */
export { createDisputes, type DisputesDeps, type DisputesModule } from './module.ts';
export { loadDisputesConfig, DEFAULT_DISPUTES_CONFIG, type DisputesConfig } from './config.ts';
export type { DisputesPorts, PaidOrder } from './ports.ts';
export type { FeeBearer, DisputeStatus } from './domain.ts';
export { disputesByPspId, disputesByTxn, type Dispute } from './store.ts';
export { pollDisputesOnce } from './poller.ts';
export { disputeDays, type DisputeDay } from './stats.ts';
