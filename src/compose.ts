import { Registry, collectDefaultMetrics } from 'prom-client';
import { systemClock, type Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { AppContext } from './context.ts';
import type { Pool } from './db/pool.ts';
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
import { createSandboxServer, loadSandboxConfig } from './sandbox/index.ts';
import { registerSellerRoutes } from './sellers/http.ts';

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

/** Something that runs in the background of a process role (workers, schedulers, the sandbox PSP). */
export interface BackgroundService {
  name: string;
  start(): Promise<void>;
  /** Stops taking new work and waits for the work in hand. */
  stop(): Promise<void>;
  /** Lines to print at start, such as a URL. */
  describe?(): string[];
  /**
   * Why the service is degraded now (a transient failure it is retrying with backoff), or undefined when it is
   * well. Polled by the process; shown by `/readyz`.
   */
  health?(): string | undefined;
  /**
   * Registers the process's listener for a permanent failure after start (the service cannot go on). The process
   * then drains and exits non-zero, so its supervisor restarts it.
   */
  onFailure?(listener: (error: Error) => void): void;
}

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

/** The sandbox PSP as a background service, its webhooks wired to Bursar's own endpoint. */
function sandboxService(ctx: AppContext): BackgroundService {
  const loaded = loadSandboxConfig(process.env, ctx.config.dataDir);
  const apiHost = ctx.config.host === '0.0.0.0' || ctx.config.host === '::' ? '127.0.0.1' : ctx.config.host;
  const server = createSandboxServer({
    pool: ctx.pool,
    log: ctx.log.child({ module: 'sandbox' }),
    clock: ctx.clock,
    config: {
      ...loaded,
      port: ctx.config.sandboxPort,
      webhookTargets: [
        ...loaded.webhookTargets,
        { url: `http://${apiHost}:${ctx.config.port}/v1/webhooks/psp/stripe`, secret: loaded.webhookSecret },
      ],
    },
  });
  return {
    name: 'sandbox-psp',
    start: async () => {
      await server.start();
    },
    stop: () => server.stop(),
    describe: () => [`  Sandbox PSP:  ${server.baseUrl()}   (Stripe-compatible; docs/sandbox.md)`],
  };
}

/** The background services a process of `role` runs, in start order (stopped in reverse). */
export function backgroundServices(ctx: AppContext, role: Role): BackgroundService[] {
  const services: BackgroundService[] = [];
  if (role === 'all' || role === 'sandbox') services.push(sandboxService(ctx));
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
  return { config, pool, log, clock, metrics };
}
