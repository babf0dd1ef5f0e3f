import type { AppContext } from '../context.ts';
import type { PoolClient } from '../db/pool.ts';
import type { RouteModule } from '../http/app.ts';
import type { PaymentServiceProvider } from '../psp/index.ts';
import type { RiskPort } from '../risk/index.ts';
import type { BackgroundService } from '../services.ts';
import { loadPayinsConfig, type PayinsConfig } from './config.ts';
import { payinRoutes } from './http.ts';
import type { PayinLedger } from './ledger.ts';
import type { OutboxSink } from './outbox.ts';
import type {
  CurrencyConversion,
  PayinEffects,
  PspEventHandlers,
  RefundTotals,
  SellerTerms,
} from './ports.ts';
import { buildPayinsRuntime, type PayinsRuntime } from './runtime.ts';
import { transitionDeps } from './service.ts';
import { settleCheckout, settleOrder, type PspOutcome } from './settle.ts';
import type { ApplyResult, EventFacts, TransitionDeps } from './transitions.ts';
import { findOrderFacts, findOrders, orderStatusesPage, succeededBetween } from './store.ts';
import { createPayinsWorker } from './worker.ts';

/** What the pay-in module is built from; the composition root passes every one of them. */
export interface PayinsDeps {
  ctx: AppContext;
  psp: PaymentServiceProvider;
  risk: RiskPort;
  ledger: PayinLedger;
  sellerTerms: SellerTerms;
  effects: PayinEffects;
  /** Conversion of orders for sellers paid in another currency (the FX module and the sellers' currencies). */
  conversion: CurrencyConversion;
  /** Handlers of refund, dispute and payout events, registered by their modules (the object may be filled later). */
  pspEventHandlers?: PspEventHandlers;
  /** Refunded totals per order (the refunds module), shown on the order as `amount_refunded`. */
  refundTotals?: RefundTotals;
  /** Settings over those of the environment (BURSAR_PAYINS_*; tests shorten the delays). */
  config?: Partial<PayinsConfig>;
  /** Where the worker's outbox goes (the marketplace's webhook, or the log, by default). */
  sink?: OutboxSink;
}

export interface PayinsModule {
  routes: RouteModule;
  /** The pay-in worker: executor and PSP-event jobs, sweeper, poller, outbox, purges. */
  worker: BackgroundService;
  services: BackgroundService[];
  /** The module's dependencies and settings, for its own use cases (and tests that drive them). */
  runtime: PayinsRuntime;
  transitionDeps(): TransitionDeps;
  /** Reads for reconciliation (its `PayinSide` port): orders by id, checkout or PSP payment; statuses; successes. */
  findOrders: typeof findOrders;
  findOrderFacts: typeof findOrderFacts;
  orderStatusesPage: typeof orderStatusesPage;
  succeededBetween: typeof succeededBetween;
  /** Applies a PSP outcome to every order of a checkout, in the caller's transaction (reconciliation's cure). */
  settleCheckout(
    client: PoolClient,
    checkoutId: string,
    outcome: PspOutcome,
    extra?: EventFacts,
  ): Promise<ApplyResult[]>;
  /** Applies a PSP outcome to one order, in the caller's transaction. */
  settleOrder(
    client: PoolClient,
    paymentOrderId: string,
    outcome: PspOutcome,
    extra?: EventFacts,
  ): Promise<ApplyResult>;
}

/** Builds the pay-in module: checkouts, payment orders, the executor, PSP events, polling and sweeping. */
export function createPayins(deps: PayinsDeps): PayinsModule {
  const runtime = buildPayinsRuntime({
    ctx: deps.ctx,
    config: { ...loadPayinsConfig(), ...(deps.config ?? {}) },
    psp: deps.psp,
    risk: deps.risk,
    ledger: deps.ledger,
    sellerTerms: deps.sellerTerms,
    effects: deps.effects,
    conversion: deps.conversion,
    pspEventHandlers: deps.pspEventHandlers ?? {},
    refundTotals: deps.refundTotals,
  });
  const worker = createPayinsWorker(runtime, deps.sink === undefined ? {} : { sink: deps.sink });
  return {
    routes: payinRoutes(runtime),
    worker,
    services: [worker],
    runtime,
    transitionDeps: () => transitionDeps(runtime),
    findOrders,
    findOrderFacts,
    orderStatusesPage,
    succeededBetween,
    settleCheckout: (client, checkoutId, outcome, extra) =>
      settleCheckout(client, transitionDeps(runtime), checkoutId, outcome, extra),
    settleOrder: (client, paymentOrderId, outcome, extra) =>
      settleOrder(client, transitionDeps(runtime), paymentOrderId, outcome, extra),
  };
}
