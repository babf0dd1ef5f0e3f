import { Registry, collectDefaultMetrics } from 'prom-client';
import { systemClock, type Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { AppContext } from './context.ts';
import type { Pool, Queryable } from './db/pool.ts';
import { AppError } from './errors.ts';
import { openDeadLetterCounts, type ReplayHook } from './jobs/dead-letters.ts';
import { JobQueue } from './jobs/queue.ts';
import { observeTransactionRetries } from './db/tx.ts';
import type { RouteModule } from './http/app.ts';
import { createLedger, entriesForPaymentOrder, type LedgerModule } from './ledger/index.ts';
import { createDisputes, disputeDays, type DisputesConfig, type DisputesModule } from './disputes/index.ts';
import type { Logger } from './log.ts';
import type { FeePolicy } from './money/platform-fee.ts';
import {
  buyerActivity,
  createPayins,
  type CurrencyConversion,
  defaultPayinLedger,
  type OutboxSink,
  type PayinLedger,
  type PayinsConfig,
  type PayinsModule,
  type PspEventHandlers,
  EXECUTE_QUEUE,
  OUTBOX_DEAD_LETTER_QUEUE,
  orderFxOf,
  PAYIN_QUEUES,
  PSP_EVENT_QUEUE,
  loadMarketplaceWebhookConfig,
  payinDays,
  pspEventsAbout,
  requeueDeadPspEvent,
  requeueOutboxMessage,
  replayOrderExecution,
} from './payins/index.ts';
import {
  createPayouts,
  findPayoutsByIds,
  payoutStatusesPage,
  settlePayout,
  settleFromStatusReport,
  settleFromAch,
  findPayoutBatches,
  type PayoutProvider,
  type PayoutsConfig,
  type PayoutsModule,
} from './payouts/index.ts';
import {
  createStripePsp,
  loadStripeConfig,
  type PaymentServiceProvider,
  type StripePspConfig,
} from './psp/index.ts';
import {
  createReconciliation,
  payoutSideOf,
  sandboxReportFetcher,
  type PayoutSide,
  type ReconConfig,
  type ReconciliationModule,
  type ReportFetcher,
  openExceptionCounts,
} from './reconciliation/index.ts';
import { createDashboard, type DashboardModule, type OverviewSources } from './dashboard/index.ts';
import {
  createOperators,
  recordAudit,
  type OperatorsConfig,
  type OperatorsModule,
} from './operators/index.ts';
import { createKey, isScope, listKeys, revokeKey, SCOPES } from './apikeys/index.ts';
import {
  createRefunds,
  refundDays,
  refundTotals,
  succeededRefundsBetween,
  type RefundableOrder,
  type RefundsConfig,
  type RefundsModule,
  REFUND_DEAD_LETTER_QUEUE,
  resetRefundForReplay,
} from './refunds/index.ts';
import { createRisk, type RiskPort } from './risk/index.ts';
import {
  createSellers,
  listBankDetailsAudit,
  otherBankAccounts,
  type SellersModule,
} from './sellers/index.ts';
import { createFx, type FxModule, type RatesProvider, type FxConfig } from './fx/index.ts';
import type { BackgroundService } from './services.ts';
import { reportRoutes } from './reports/index.ts';
import { createEvents, type EventsConfig, type EventsModule } from './events/index.ts';

export type { BackgroundService } from './services.ts';

/**
 * The composition root: the one place where modules are built and wired together. Each module's factory is
 * called once here with everything it needs; what one module needs of another is passed in as a port.
 */
export interface Modules {
  ctx: AppContext;
  ledger: LedgerModule;
  sellers: SellersModule;
  risk: RiskPort;
  psp: PaymentServiceProvider;
  payins: PayinsModule;
  payouts: PayoutsModule;
  reconciliation: ReconciliationModule;
  operators: OperatorsModule;
  dashboard: DashboardModule;
  disputes: DisputesModule;
  refunds: RefundsModule;
  events: EventsModule;
  fx: FxModule;
}

/** What a test (or a tool) may replace when composing the modules; everything else is built as in production. */
export interface ComposeOverrides {
  psp?: PaymentServiceProvider;
  risk?: RiskPort;
  payinLedger?: PayinLedger;
  /** The platform's default commission (BURSAR_PLATFORM_FEE_* otherwise). */
  platformFee?: FeePolicy;
  payins?: Partial<PayinsConfig>;
  /** Where the pay-in worker's outbox goes. */
  outboxSink?: OutboxSink;
  payouts?: Partial<PayoutsConfig>;
  payoutProvider?: PayoutProvider;
  reconciliation?: Partial<ReconConfig>;
  /** Reconciliation's view of payouts (a test's stand-in). */
  reconPayouts?: PayoutSide;
  /** How the daily run downloads the PSP's report; `null`: no download. */
  fetchReport?: ReportFetcher | null;
  /** Dashboard sign-in settings (BURSAR_DASHBOARD_SESSION_HOURS, BURSAR_SIGNIN_* otherwise). */
  operators?: Partial<OperatorsConfig>;
  disputes?: Partial<DisputesConfig>;
  refunds?: Partial<RefundsConfig>;
  /** Webhook endpoints' sending (BURSAR_WEBHOOK_* otherwise). */
  events?: Partial<EventsConfig>;
  /** Exchange rates (BURSAR_FX_* otherwise) and their source (tests: fixedRatesProvider). */
  fx?: Partial<FxConfig>;
  fxRates?: RatesProvider;
}

export type Role = 'all' | 'api' | 'worker' | 'sandbox';

function sandboxUrl(config: Config): string {
  return `http://127.0.0.1:${config.sandboxPort}`;
}

/**
 * The PSP adapter, built on first use: its settings read the webhook secret kept in the data dir, which a process
 * that never takes a payment (a CLI command, a test of another module) should not create.
 */
function lazyPsp(name: string, build: () => PaymentServiceProvider): PaymentServiceProvider {
  let built: PaymentServiceProvider | undefined;
  const psp = () => (built ??= build());
  return {
    name,
    charge: (request) => psp().charge(request),
    findCharge: (key, metadata) => psp().findCharge(key, metadata),
    retrieveCharge: (paymentId) => psp().retrieveCharge(paymentId),
    createHostedSession: (request) => psp().createHostedSession(request),
    retrieveHostedSession: (sessionId) => psp().retrieveHostedSession(sessionId),
    refund: (request) => psp().refund(request),
    retrieveDispute: (disputeId) => psp().retrieveDispute(disputeId),
    listDisputes: async (createdGte, startingAfter) => {
      const built = psp();
      if (built.listDisputes === undefined) return { disputes: [], hasMore: false };
      return await built.listDisputes(createdGte, startingAfter);
    },
    submitDisputeEvidence: (request) => psp().submitDisputeEvidence(request),
    closeDispute: (disputeId, key) => psp().closeDispute(disputeId, key),
    retrieveRefund: (refundId) => psp().retrieveRefund(refundId),
    listRefunds: async (createdGteUnix) => {
      const built = psp();
      if (built.listRefunds === undefined) return [];
      return await built.listRefunds(createdGteUnix);
    },
    findRefund: (paymentId, metadata) => psp().findRefund(paymentId, metadata),
    verifyWebhook: (rawBody, signature) => psp().verifyWebhook(rawBody, signature),
    interpretEvent: (event) => psp().interpretEvent(event),
  };
}

/** A payment order as the refunds module reads it (its port over pay-ins' `findOrders`). */
function refundableOrder(order: {
  paymentOrderId: string;
  checkoutId: string;
  position: number;
  sellerAccount: string;
  amountMinor: bigint;
  currency: string;
  feeMinor: bigint | null;
  status: string;
  pspPaymentId: string | null;
}): RefundableOrder {
  return {
    paymentOrderId: order.paymentOrderId,
    checkoutId: order.checkoutId,
    position: order.position,
    sellerAccount: order.sellerAccount,
    amountMinor: order.amountMinor,
    currency: order.currency,
    feeMinor: order.feeMinor,
    status: order.status,
    pspPaymentId: order.pspPaymentId,
  };
}

/**
 * Orders as refunds and disputes read them, each with the conversion it was booked at when its seller is paid in
 * another currency.
 */
async function withConversions(
  db: Queryable,
  orders: Parameters<typeof refundableOrder>[0][],
): Promise<RefundableOrder[]> {
  const conversions = await orderFxOf(
    db,
    orders.map((order) => order.paymentOrderId),
  );
  return orders.map((order) => {
    const conversion = conversions.get(order.paymentOrderId);
    return {
      ...refundableOrder(order),
      ...(conversion
        ? { conversion: { settlementCurrency: conversion.settlementCurrency, rate: conversion.rate } }
        : {}),
    };
  });
}

/** Builds every module of the product for `ctx`, each once, wired to the others. */
export function composeModules(ctx: AppContext, overrides: ComposeOverrides = {}): Modules {
  // The PSP behind pay-ins: the Stripe adapter, against the local sandbox unless STRIPE_API_HOST says otherwise.
  const stripe = () => loadStripeConfig(process.env, ctx.config.dataDir, sandboxUrl(ctx.config));
  const psp = overrides.psp ?? lazyPsp('stripe', () => createStripePsp(stripe()));
  const ledger = createLedger({ pool: ctx.pool });
  const sellers = createSellers({
    ctx,
    ...(overrides.platformFee === undefined ? {} : { platformFee: overrides.platformFee }),
  });
  const risk =
    overrides.risk ??
    createRisk({
      history: (key, currency, now) => buyerActivity(ctx.pool, key, currency, now),
      now: () => ctx.clock.now(),
    });
  const payouts = createPayouts({
    ctx,
    ...(overrides.payouts === undefined ? {} : { config: overrides.payouts }),
    ...(overrides.payoutProvider === undefined ? {} : { provider: overrides.payoutProvider }),
  });
  // Filled in by the modules that act on refund, dispute and payout events, once they are built.
  const pspEventHandlers: PspEventHandlers = {};
  const { fx, conversion } = currencies(ctx, overrides);
  const payins = createPayins({
    conversion,
    ctx,
    pspEventHandlers,
    psp,
    risk,
    ledger: overrides.payinLedger ?? defaultPayinLedger,
    sellerTerms: sellers,
    effects: payouts,
    ...(overrides.payins === undefined ? {} : { config: overrides.payins }),
    ...(overrides.outboxSink === undefined ? {} : { sink: overrides.outboxSink }),
    refundTotals: (db, ids) => refundTotals(db, ids),
  });
  const { disputes, refunds } = moneyBack(ctx, overrides, { psp, payins, sellers, pspEventHandlers });
  const reconciliation = reconciliationOf(ctx, overrides, payins, stripe);
  const operators = createOperators(overrides.operators === undefined ? {} : { config: overrides.operators });
  const dashboard = dashboardOf(ctx, payins);
  return {
    ctx,
    ledger,
    sellers,
    risk,
    psp,
    payins,
    payouts,
    reconciliation,
    refunds,
    disputes,
    operators,
    dashboard,
    events: eventsOf(ctx, overrides),
    fx,
  };
}

/** Reconciliation over pay-ins, payouts (their batches and bank status reports) and refunds. */
function reconciliationOf(
  ctx: AppContext,
  overrides: ComposeOverrides,
  payins: PayinsModule,
  stripe: () => StripePspConfig,
): ReconciliationModule {
  return createReconciliation({
    ctx,
    payins,
    payouts:
      overrides.reconPayouts ??
      payoutSideOf({
        findPayoutsByIds,
        payoutStatusesPage,
        settlePayout,
        settleFromStatusReport,
        settleFromAch,
        findPayoutBatches,
      }),
    refunds: { succeededBetween: succeededRefundsBetween },
    // The daily run downloads the PSP's settlement report from the same API the adapter talks to.
    fetchReport:
      overrides.fetchReport === undefined
        ? (interval) => sandboxReportFetcher(stripe())(interval)
        : (overrides.fetchReport ?? undefined),
    ...(overrides.reconciliation === undefined ? {} : { config: overrides.reconciliation }),
  });
}

/** The event log and webhook endpoints; BURSAR_WEBHOOK_URL (read as pay-ins reads it) is their first endpoint. */
function eventsOf(ctx: AppContext, overrides: ComposeOverrides): EventsModule {
  return createEvents({
    ctx,
    envWebhook: () => loadMarketplaceWebhookConfig(process.env, ctx.config.dataDir),
    ...(overrides.events === undefined ? {} : { config: overrides.events }),
  });
}

/**
 * Whether the seller is paid in `currency` with no conversion: its own currency, or one it has a payout bank
 * account in (docs/payouts.md "Several currencies"); such an order is credited in its own currency.
 */
async function paidInCurrency(
  db: Queryable,
  order: { sellerAccount: string; sellerCurrency: string; currency: string },
): Promise<boolean> {
  if (order.sellerCurrency === order.currency) return true;
  const accounts = (await otherBankAccounts(db, [order.sellerAccount])).get(order.sellerAccount) ?? [];
  return accounts.some((account) => account.currency === order.currency);
}

/**
 * The FX module (rates from BURSAR_FX_RATES_FILE/URL, else the sandbox's ECB-format file) and pay-ins' conversion
 * port over it: an order for a seller paid in another currency is converted; none is needed for the same one.
 */
function currencies(
  ctx: AppContext,
  overrides: ComposeOverrides,
): { fx: FxModule; conversion: CurrencyConversion } {
  const fx = createFx({
    ctx,
    fallbackUrl: `${sandboxUrl(ctx.config)}/v1/fx/eurofxref-daily.xml`,
    ...(overrides.fx === undefined ? {} : { config: overrides.fx }),
    ...(overrides.fxRates === undefined ? {} : { provider: overrides.fxRates }),
  });
  const conversion: CurrencyConversion = {
    convertOrder: async (db, order) => {
      if (await paidInCurrency(db, order)) {
        if (order.fxQuoteId !== undefined)
          throw new AppError(
            'fx_quote_mismatch',
            `the seller is paid in ${order.currency}: no conversion to quote`,
          );
        return null;
      }
      const to = order.sellerCurrency;
      try {
        const converted = await fx.convert(db, {
          from: order.currency,
          to,
          amountMinor: order.amountMinor,
          quoteId: order.fxQuoteId,
        });
        return { ...converted, settlementCurrency: to, settlementMinor: converted.convertedMinor };
      } catch (error) {
        if (error instanceof AppError && error.code === 'fx_rate_unavailable')
          throw new AppError(
            'currency_not_supported_for_seller',
            `seller ${order.sellerAccount} is paid in ${to}; ${error.message}`,
          );
        throw error;
      }
    },
  };
  return { fx, conversion };
}

/** Refunds and disputes, each registered as the handler of its PSP events. */
function moneyBack(
  ctx: AppContext,
  overrides: ComposeOverrides,
  deps: {
    psp: PaymentServiceProvider;
    payins: PayinsModule;
    sellers: SellersModule;
    pspEventHandlers: PspEventHandlers;
  },
): { disputes: DisputesModule; refunds: RefundsModule } {
  const { psp, payins, sellers, pspEventHandlers } = deps;
  const disputes = createDisputes({
    ctx,
    psp,
    ports: {
      ordersOfPayment: async (db, pspPaymentId) =>
        withConversions(db, await payins.findOrders(db, { pspPaymentIds: [pspPaymentId] })),
      sellerFeeBearer: async (db, sellerAccount) => (await sellers.disputePolicyFor(db, sellerAccount))?.fee,
    },
    ...(overrides.disputes === undefined ? {} : { config: overrides.disputes }),
  });
  pspEventHandlers.dispute = (client, meaning, event) => disputes.onPspEvent(client, meaning, event);
  const refunds = createRefunds({
    ctx,
    psp,
    orders: {
      byIds: async (db, ids) => withConversions(db, await payins.findOrders(db, { paymentOrderIds: ids })),
      byCheckout: async (db, id) => withConversions(db, await payins.findOrders(db, { checkoutIds: [id] })),
      byPspPayment: async (db, id) =>
        withConversions(db, await payins.findOrders(db, { pspPaymentIds: [id] })),
    },
    terms: sellers,
    ...(overrides.refunds === undefined ? {} : { config: overrides.refunds }),
  });
  pspEventHandlers.refund = (client, meaning) => refunds.handlePspEvent(client, meaning);
  return { disputes, refunds };
}

/** The dashboard, reading each module's part of the overview and of a payment's timeline. */
function dashboardOf(ctx: AppContext, payins: PayinsModule): DashboardModule {
  // Replays of a queue with no hook are sent as a pg-boss job (every queue of ours has one: src/jobs/dead-letters.ts).
  const jobs = new JobQueue(ctx.pool, PAYIN_QUEUES);
  return createDashboard({
    replayHooks: deadLetterReplayHooks(),
    queue: { jobs, ready: () => jobs.start(), release: () => jobs.stop() },
    overview: {
      activity: overviewActivity(),
      openExceptions: openExceptionCounts,
      openDeadLetters: openDeadLetterCounts,
    },
    timeline: {
      pspIdsOf: async (db, id) => {
        const [order] = await payins.findOrders(db, { paymentOrderIds: [id] });
        if (!order) return undefined;
        return [order.pspPaymentId, order.pspChargeId, order.pspSessionId].filter(
          (value): value is string => value !== null,
        );
      },
      pspEvents: pspEventsAbout,
      ledgerEntries: entriesForPaymentOrder,
    },
    bankHistory: listBankDetailsAudit,
    apiKeys: {
      list: listKeys,
      create: (db, name, scopes) => createKey(db, name, scopes.filter(isScope)),
      revoke: revokeKey,
      scopes: SCOPES,
    },
    audit: recordAudit,
  });
}

/** The home page's activity per day and currency: pay-ins, refunds and disputes, each read by its module. */
function overviewActivity(): OverviewSources['activity'] {
  return [
    async (db, from) =>
      (await payinDays(db, from)).map((d) => ({
        day: d.day,
        currency: d.currency,
        volumeMinor: d.succeededMinor,
        succeeded: d.succeeded,
        failed: d.failed,
      })),
    refundDays,
    disputeDays,
  ];
}

/** What each queue's owner does before one of its dead letters is sent again (`bursar dlq`, the dashboard). */
export function deadLetterReplayHooks(): Record<string, ReplayHook> {
  return {
    [EXECUTE_QUEUE]: replayOrderExecution,
    [OUTBOX_DEAD_LETTER_QUEUE]: requeueOutboxMessage,
    [PSP_EVENT_QUEUE]: requeueDeadPspEvent,
    // Refunds have no job queue: the replay makes the refund due again, and the refund worker takes it.
    [REFUND_DEAD_LETTER_QUEUE]: async (client, letter) => {
      const id = letter.payload.refundId;
      if (typeof id === 'string') await resetRefundForReplay(client, id);
      return 'handled';
    },
  };
}

/** Every HTTP route module of the product, in registration order. */
export function routeModules(modules: Modules): RouteModule[] {
  return [
    // First: the dashboard's session routes and the audit hook every operator write passes.
    modules.operators.routes,
    modules.sellers.routes,
    modules.payins.routes,
    modules.payouts.routes,
    modules.reconciliation.routes,
    modules.disputes.routes,
    modules.dashboard.routes,
    reportRoutes(modules.ctx),
    modules.refunds.routes,
    modules.events.routes,
    modules.fx.routes,
  ];
}

/**
 * The product's background services a process of `role` runs, in start order (stopped in reverse). The sandbox
 * PSP of roles `all` and `sandbox` is not among them: the launcher outside src/ adds it (bin/bursar.mjs).
 */
export function backgroundServices(modules: Modules, role: Role): BackgroundService[] {
  const services: BackgroundService[] = [];
  if (role === 'all' || role === 'worker')
    services.push(
      // The rates refresh first, so a worker's first checkouts find rates (a failure is logged, not fatal).
      ...modules.fx.services,
      ...modules.payins.services,
      ...modules.payouts.services,
      ...modules.reconciliation.services,
      ...modules.disputes.services,
      ...modules.refunds.services,
      ...modules.events.services,
    );
  return services;
}

export function createContext(
  config: Config,
  pool: Pool,
  log: Logger,
  clock: Clock = systemClock,
): AppContext {
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  observeTransactionRetries(pool, log, metrics);
  return { config, pool, log, clock, metrics };
}
