import type { AppContext } from '../context.ts';
import { JobQueue } from '../jobs/queue.ts';
import { PspError, type PaymentServiceProvider } from '../psp/port.ts';
import { createBuiltinRisk } from '../risk/builtin.ts';
import { loadRiskRules } from '../risk/config.ts';
import type { RiskPort } from '../risk/port.ts';
import { loadPayinsConfig, type PayinsConfig } from './config.ts';
import { defaultPayinLedger } from './ledger-default.ts';
import type { PayinLedger } from './ledger.ts';
import { payinMetrics, type PayinMetrics } from './metrics.ts';

/** pg-boss queues of the pay-in module. */
export const EXECUTE_QUEUE = 'payins-execute';
export const PSP_EVENT_QUEUE = 'payins-psp-event';
export const PAYIN_QUEUES = [EXECUTE_QUEUE, PSP_EVENT_QUEUE];

/** Everything the pay-in module's routes, workers and CLI need, built once per process context. */
export interface PayinsRuntime {
  ctx: AppContext;
  config: PayinsConfig;
  psp: PaymentServiceProvider;
  risk: RiskPort;
  ledger: PayinLedger;
  jobs: JobQueue;
  metrics: PayinMetrics;
  /** Resolves once pg-boss's schema and our queues exist; pair with `release`. */
  ready(): Promise<void>;
  release(): Promise<void>;
}

export interface PayinsOverrides {
  config?: Partial<PayinsConfig>;
  psp?: PaymentServiceProvider;
  risk?: RiskPort;
  ledger?: PayinLedger;
}

/** Builds the default PSP (the lead's wiring sets one; see `setDefaultPspFactory`). */
type PspFactory = (ctx: AppContext) => PaymentServiceProvider;

let defaultPspFactory: PspFactory = () => unconfiguredPsp;

/** The composition root names the PSP adapter here (the Stripe adapter against real Stripe or the sandbox). */
export function setDefaultPspFactory(factory: PspFactory): void {
  defaultPspFactory = factory;
}

function unavailable(): never {
  throw new PspError('transient', 'no PSP is configured for pay-ins');
}

/** Until a PSP is wired, every call fails transiently: orders wait and retry rather than fail for good. */
const unconfiguredPsp: PaymentServiceProvider = {
  name: 'unconfigured',
  charge: async () => unavailable(),
  findCharge: async () => unavailable(),
  retrieveCharge: async () => unavailable(),
  createHostedSession: async () => unavailable(),
  retrieveHostedSession: async () => unavailable(),
  refund: async () => unavailable(),
  verifyWebhook: () => {
    throw new PspError('hard_decline', 'no PSP is configured for pay-ins');
  },
};

const runtimes = new WeakMap<AppContext, PayinsRuntime>();
const pendingOverrides = new WeakMap<AppContext, PayinsOverrides>();

function build(ctx: AppContext, overrides: PayinsOverrides): PayinsRuntime {
  const config = { ...loadPayinsConfig(), ...(overrides.config ?? {}) };
  const jobs = new JobQueue(ctx.pool, PAYIN_QUEUES);
  return {
    ctx,
    config,
    psp: overrides.psp ?? defaultPspFactory(ctx),
    risk: overrides.risk ?? createBuiltinRisk(ctx.pool, loadRiskRules(), () => ctx.clock.now()),
    ledger: overrides.ledger ?? defaultPayinLedger,
    jobs,
    metrics: payinMetrics(ctx.metrics, ctx.pool),
    ready: () => jobs.start(),
    release: () => jobs.stop(),
  };
}

/** The pay-in runtime of `ctx`, created on first use. */
export function payinsRuntime(ctx: AppContext): PayinsRuntime {
  let runtime = runtimes.get(ctx);
  if (!runtime) {
    runtime = build(ctx, pendingOverrides.get(ctx) ?? {});
    runtimes.set(ctx, runtime);
  }
  return runtime;
}

/**
 * Replaces parts of the runtime of `ctx` (tests: a PSP, a clock-bound risk port, short delays). Later calls to
 * `payinsRuntime(ctx)` see the change; the job queue is kept.
 */
export function configurePayins(ctx: AppContext, overrides: PayinsOverrides): PayinsRuntime {
  const existing = runtimes.get(ctx);
  if (!existing) {
    pendingOverrides.set(ctx, overrides);
    return payinsRuntime(ctx);
  }
  const next: PayinsRuntime = {
    ...existing,
    config: { ...existing.config, ...(overrides.config ?? {}) },
    psp: overrides.psp ?? existing.psp,
    risk: overrides.risk ?? existing.risk,
    ledger: overrides.ledger ?? existing.ledger,
  };
  runtimes.set(ctx, next);
  return next;
}
