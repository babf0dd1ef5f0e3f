/**
 * The refunds module's public surface (docs/refunds.md): the factory, its ports, and the reads other modules use
 * (pay-ins' `amount_refunded`). Nothing outside the module touches the `refunds` schema.
 */
export { createRefunds, type RefundsDeps, type RefundsModule } from './module.ts';
export { loadRefundsConfig, DEFAULT_REFUNDS_CONFIG, type RefundsConfig } from './config.ts';
export {
  REFUND_DEAD_LETTER_QUEUE,
  type RefundOrders,
  type RefundTerms,
  type RefundsRuntime,
} from './runtime.ts';
export { refundTotals, succeededRefundsBetween } from './store.ts';
export { refundDays, type RefundDay } from './stats.ts';
export { resetRefundForReplay, claimDueRefunds, executeRefund } from './executor.ts';
export { refundTick } from './worker.ts';
export { discoverRefundsOnce } from './discovery.ts';
export {
  REFUND_DISCOVERY_WINDOW_MS,
  discoverySinceUnix,
  needsApplying,
  refundsToApply,
  type KnownRefund,
} from './discovery-plan.ts';
export { applyPspRefundFacts, type PspRefundVia } from './psp-events.ts';
export type { Refund, RefundableOrder, RefundStatus } from './types.ts';
