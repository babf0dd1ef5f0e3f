import { Registry, collectDefaultMetrics } from 'prom-client';
import { systemClock, type Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { AppContext } from './context.ts';
import type { Pool } from './db/pool.ts';
import { observeTransactionRetries } from './db/tx.ts';
import type { RouteModule } from './http/app.ts';
import type { Logger } from './log.ts';
import { registerPayinRoutes } from './payins/http.ts';
import { setDefaultPspFactory } from './payins/runtime.ts';
import { createPayinsWorker } from './payins/worker.ts';
import { registerPayoutRoutes } from './payouts/http.ts';
import { createPayoutsWorker } from './payouts/worker.ts';
import { createStripePsp, loadStripeConfig } from './psp/stripe/index.ts';
import { registerReconciliationRoutes } from './reconciliation/http.ts';
import { sandboxReportFetcher } from './reconciliation/psp-fetch.ts';
import { setDefaultReportFetcher } from './reconciliation/runtime.ts';
import { createReconciliationScheduler } from './reconciliation/scheduler.ts';
import type { BackgroundService } from './services.ts';
import { registerSellerRoutes } from './sellers/http.ts';

export type { BackgroundService } from './services.ts';

/**
 * The composition root: the one place where modules are wired together. Every HTTP route module and every
 * background service of the process is listed here.
 */
export const routeModules: RouteModule[] = [
  registerSellerRoutes,
  registerPayinRoutes,
  registerPayoutRoutes,
  registerReconciliationRoutes,
];

export type Role = 'all' | 'api' | 'worker' | 'sandbox';

function sandboxUrl(config: Config): string {
  return `http://127.0.0.1:${config.sandboxPort}`;
}

// The PSP behind pay-ins: the Stripe adapter, against the local sandbox unless STRIPE_API_HOST says otherwise.
setDefaultPspFactory((ctx) =>
  createStripePsp(loadStripeConfig(process.env, ctx.config.dataDir, sandboxUrl(ctx.config))),
);

// The daily reconciliation downloads the PSP's settlement report from the same API the adapter talks to.
setDefaultReportFetcher((ctx) =>
  sandboxReportFetcher(loadStripeConfig(process.env, ctx.config.dataDir, sandboxUrl(ctx.config))),
);

/**
 * The product's background services a process of `role` runs, in start order (stopped in reverse). The sandbox
 * PSP of roles `all` and `sandbox` is not among them: the launcher outside src/ adds it (bin/bursar.mjs).
 */
export function backgroundServices(ctx: AppContext, role: Role): BackgroundService[] {
  const services: BackgroundService[] = [];
  if (role === 'all' || role === 'worker') services.push(createPayinsWorker(ctx));
  if (role === 'all' || role === 'worker') services.push(createPayoutsWorker(ctx));
  if (role === 'all' || role === 'worker') services.push(createReconciliationScheduler(ctx));
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
