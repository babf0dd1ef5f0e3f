/**
 * The pay-in module's public surface: the factory, the ports it needs (implemented elsewhere and wired in
 * src/compose.ts), and the few functions other modules and the CLI call. Nothing outside the module touches the
 * `payins` schema.
 */
export { createPayins, type PayinsDeps, type PayinsModule } from './module.ts';
export type { PayinsRuntime } from './runtime.ts';
export { EXECUTE_QUEUE, PAYIN_QUEUES, PSP_EVENT_QUEUE } from './runtime.ts';
export { loadPayinsConfig, DEFAULT_PAYINS_CONFIG, type PayinsConfig } from './config.ts';
export type {
  CurrencyConversion,
  OrderConversion,
  PayinEffects,
  PayinSucceeded,
  PspEventHandlers,
  RefundTotals,
  SellerTerms,
  StoredPspEvent,
} from './ports.ts';
export type { PayinLedger, PayinSuccessPosting, PspFeePosting } from './ledger.ts';
export { defaultPayinLedger } from './ledger-default.ts';
export type { PspOutcome } from './settle.ts';
export type { ApplyResult, EventFacts } from './transitions.ts';
export { OUTBOX_DEAD_LETTER_QUEUE, requeueOutboxMessage, type OutboxSink } from './outbox.ts';
export { requeueDeadPspEvent } from './event-failures.ts';
export { replayOrderExecution } from './executor.ts';
export { requestFingerprint } from './idempotency.ts';
export { buyerActivity } from './store.ts';
export { loadMarketplaceWebhookConfig } from './webhook-sink.ts';
export { payinDays, type PayinDay } from './stats.ts';
export { pspEventsAbout, type PspEventSummary } from './timeline.ts';
export { listCheckouts, listOrders, type CheckoutFilter, type OrderFilter } from './list-store.ts';
export { orderFxOf } from './fx-store.ts';
