import type { AppContext } from '../context.ts';
import type { PaymentServiceProvider } from '../psp/index.ts';
import type { RiskPort } from '../risk/index.ts';
import type { PayinsConfig } from './config.ts';
import type { PayinLedger } from './ledger.ts';
import { payinMetrics, type PayinMetrics } from './metrics.ts';
import type {
  CurrencyConversion,
  PayinEffects,
  PspEventHandlers,
  RefundTotals,
  SellerTerms,
} from './ports.ts';

/**
 * The pay-in module's queues, by the name their dead letters carry. Both are tables (the executor's is the orders
 * table, `execute_at`; the PSP events' is `payins.psp_events`), not pg-boss queues: a replay puts the work back
 * itself (`replayOrderExecution`, `requeueDeadPspEvent`).
 */
export const EXECUTE_QUEUE = 'payins-execute';
export const PSP_EVENT_QUEUE = 'payins-psp-event';
export const PAYIN_QUEUES = [EXECUTE_QUEUE, PSP_EVENT_QUEUE];
/** The channel `POST /v1/payments` notifies (in its transaction, so on commit) when it queued orders to execute. */
export const EXECUTE_CHANNEL = 'bursar_payins_execute';
/** The channel the webhook route notifies when it stored a PSP event. */
export const PSP_EVENT_CHANNEL = 'bursar_payins_psp_event';

/**
 * Everything the pay-in module's routes, workers and use cases need: built once by `createPayins` from the
 * dependencies the composition root gives it, and passed explicitly to every use case (no lookup by context).
 */
export interface PayinsRuntime {
  ctx: AppContext;
  config: PayinsConfig;
  psp: PaymentServiceProvider;
  risk: RiskPort;
  ledger: PayinLedger;
  /** The sellers' terms (fee policy, hold days) and which sellers exist: the sellers module, behind a port. */
  sellerTerms: SellerTerms;
  /** What else happens in the transaction of a successful pay-in (the payouts module's hold). */
  effects: PayinEffects;
  /** Converts an order for a seller paid in another currency (the FX module, behind a port). */
  conversion: CurrencyConversion;
  /** Handlers of PSP events about refunds, disputes and payouts (filled in by the composition root). */
  pspEventHandlers: PspEventHandlers;
  /** The refunds module's totals, for the order's `amount_refunded` (absent: not shown). */
  refundTotals?: RefundTotals | undefined;
  metrics: PayinMetrics;
}

export interface PayinsRuntimeDeps {
  ctx: AppContext;
  config: PayinsConfig;
  psp: PaymentServiceProvider;
  risk: RiskPort;
  ledger: PayinLedger;
  sellerTerms: SellerTerms;
  effects: PayinEffects;
  conversion: CurrencyConversion;
  pspEventHandlers: PspEventHandlers;
  refundTotals?: RefundTotals | undefined;
}

export function buildPayinsRuntime(deps: PayinsRuntimeDeps): PayinsRuntime {
  return { ...deps, metrics: payinMetrics(deps.ctx.metrics, deps.ctx.pool) };
}
