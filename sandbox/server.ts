import { registerFxRoutes } from './fx.ts';
import Fastify, { type FastifyInstance } from 'fastify';
import { systemClock, type Clock } from '../src/clock.ts';
import type { Pool } from '../src/db/pool.ts';
import { withTransaction } from '../src/db/tx.ts';
import type { Logger } from '../src/log.ts';
import { registerAdminRoutes } from './admin.ts';
import { registerBalanceRoutes } from './api-balance.ts';
import { registerCheckoutRoutes } from './api-checkout.ts';
import { registerDisputeRoutes } from './api-disputes.ts';
import { registerPaymentRoutes } from './api-payments.ts';
import type { SandboxConfig } from './config.ts';
import { WebhookDispatcher } from './dispatcher.ts';
import { FormError, parseForm } from './form.ts';
import { FaultInjector, type Faults } from './faults.ts';
import { registerHostedPage } from './hosted-page.ts';
import type { SandboxRuntime } from './http.ts';
import { migrateSandbox } from './migrate.ts';
import { registerPayoutProviderRoutes } from './payout-provider.ts';
import { FULL_PASS_EVERY_MS, runScheduledWork, scheduledWorkDue } from './scheduler.ts';
import { readState, writeState } from './store.ts';

export interface SandboxDeps {
  pool: Pool;
  log: Logger;
  clock?: Clock;
  config: SandboxConfig;
}

export interface SandboxServer {
  app: FastifyInstance;
  /**
   * Applies the sandbox's own migrations, listens (port 0 picks a free one) and starts the webhook dispatcher
   * and the scheduler; returns the base URL.
   */
  start(port?: number, host?: string): Promise<string>;
  stop(): Promise<void>;
  baseUrl(): string;
  setFaults(faults: Faults): void;
  resetFaults(): void;
  /** Runs the scheduler's work now (reviews due, sessions expired, daily payout). */
  tick(): Promise<{ settled: number; expired: number; payouts: number }>;
  /** Delivers due webhooks now (also happens by itself while started). */
  deliverWebhooks(): Promise<boolean>;
  /** The sandbox's clock: the given clock plus the offset the admin endpoint added. */
  now(): Date;
}

const CLOCK_OFFSET = 'clock_offset_ms';
/** Stripe's form bodies are small; the hosted page's too. */
const BODY_LIMIT_BYTES = 256 * 1024;

/**
 * The sandbox PSP: its own Fastify instance speaking the Stripe API subset Bursar uses, the hosted payment page,
 * the admin endpoints, plus two background loops (webhook delivery and scheduled work) that stop cleanly.
 */
export function createSandboxServer(deps: SandboxDeps): SandboxServer {
  const clock = deps.clock ?? systemClock;
  const log = deps.log.child({ component: 'sandbox' });
  const config = deps.config;
  const initialFaults = config.faults;
  const faults = new FaultInjector(config.seed, initialFaults);
  let offsetMs = 0;
  let base =
    config.publicUrl ??
    `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  const dispatcher = new WebhookDispatcher(deps.pool, config, log);
  const now = () => new Date(clock.now().getTime() + offsetMs);

  const runtime: SandboxRuntime = {
    pool: deps.pool,
    log,
    config,
    faults,
    now,
    baseUrl: () => base,
    onCommit: () => dispatcher.wake(),
    testMethods: new Map(),
  };

  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT_BYTES,
    // Timed-out (fault) requests hold their sockets; closing must not wait for them.
    forceCloseConnections: true,
    routerOptions: { querystringParser: (text: string) => parseForm(text) },
  });
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      try {
        done(null, parseForm(typeof body === 'string' ? body : body.toString('utf8')));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
  app.setErrorHandler((error, request, reply) => {
    const status =
      error instanceof FormError
        ? 400
        : typeof (error as { statusCode?: unknown }).statusCode === 'number'
          ? (error as { statusCode: number }).statusCode
          : 500;
    if (status >= 500) log.error({ err: error, url: request.url }, 'sandbox: unexpected error');
    const message =
      status >= 500
        ? 'An unexpected error occurred in the sandbox.'
        : error instanceof Error
          ? error.message
          : 'Invalid request';
    return reply
      .code(status)
      .type('application/json')
      .send(
        JSON.stringify({ error: { type: status >= 500 ? 'api_error' : 'invalid_request_error', message } }),
      );
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .type('application/json')
      .send(
        JSON.stringify({
          error: {
            type: 'invalid_request_error',
            message: `Unrecognized request URL (${request.method}: ${request.url.split('?')[0]}). Please see https://stripe.com/docs or the sandbox's docs/sandbox.md.`,
          },
        }),
      ),
  );

  // Every answer: no MIME sniffing, and no Referer carrying a session's URL to the pages it links to.
  app.addHook('onSend', async (_request, reply) => {
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('referrer-policy', 'no-referrer');
  });

  registerPaymentRoutes(app, runtime);
  registerCheckoutRoutes(app, runtime);
  registerBalanceRoutes(app, runtime);
  registerDisputeRoutes(app, runtime);
  registerPayoutProviderRoutes(app, runtime);
  registerHostedPage(app, runtime);
  registerFxRoutes(app, runtime);
  registerAdminRoutes(app, runtime, {
    setFaults: (next) => faults.set(next),
    resetFaults: () => faults.set(initialFaults),
    currentFaults: () => faults.current(),
    clockOffsetMs: () => offsetMs,
    advanceClock: async (ms) => {
      offsetMs += ms;
      await writeState(deps.pool, CLOCK_OFFSET, offsetMs);
      return offsetMs;
    },
  });

  const tick = async () => {
    const result = await withTransaction(deps.pool, (client) =>
      runScheduledWork({ db: client, now: now(), config, baseUrl: base, faults }),
    );
    dispatcher.wake();
    return result;
  };

  let ticking = false;
  let tickLoop: Promise<void> | undefined;
  let stopTicking: (() => void) | undefined;
  let lastFullPass = 0;
  /** The loop's tick: the whole pass when something is due (or now and then), else only the look. */
  const loopTick = async () => {
    const full = Date.now() - lastFullPass >= FULL_PASS_EVERY_MS;
    if (!full && !(await scheduledWorkDue(deps.pool, now(), config.automaticPayouts))) return;
    await tick();
    lastFullPass = Date.now();
  };
  const runTicks = async () => {
    while (ticking) {
      try {
        await loopTick();
      } catch (error) {
        if (ticking) log.warn({ err: error }, 'sandbox scheduler: tick failed');
      }
      if (!ticking) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, config.tickMs);
        stopTicking = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };

  let listening = false;
  return {
    app,
    baseUrl: () => base,
    now,
    setFaults: (next) => faults.set(next),
    resetFaults: () => faults.set(initialFaults),
    tick,
    deliverWebhooks: () => dispatcher.deliverDue(),
    async start(port = config.port, host = config.host) {
      const applied = await migrateSandbox(deps.pool);
      if (applied.length > 0) log.info({ applied }, 'sandbox migrations applied');
      offsetMs = (await readState<number>(deps.pool, CLOCK_OFFSET)) ?? 0;
      await app.listen({ port, host });
      listening = true;
      const address = app.server.address();
      const actualPort = typeof address === 'object' && address !== null ? address.port : port;
      if (config.publicUrl === undefined)
        base = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
      dispatcher.start();
      ticking = true;
      tickLoop = runTicks();
      log.info({ url: base }, 'sandbox PSP listening');
      return base;
    },
    async stop() {
      ticking = false;
      stopTicking?.();
      await tickLoop;
      await dispatcher.stop();
      if (listening) await app.close();
      listening = false;
    },
  };
}
