import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Stripe from 'stripe';
import type { Clock } from '../../src/clock.ts';
import type { Pool } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';
import type { PaymentServiceProvider } from '../../src/psp/port.ts';
import { createStripePsp } from '../../src/psp/stripe/index.ts';
import {
  DEFAULT_SANDBOX_CONFIG,
  createSandboxServer,
  type Faults,
  type SandboxConfig,
  type SandboxServer,
  type WebhookTarget,
} from '../../sandbox/index.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';

export interface TestSandboxOptions {
  /** Share a database (e.g. the one of a test app); otherwise the sandbox gets a fresh one of its own. */
  pool?: Pool;
  clock?: Clock;
  /** Destinations that receive every event (e.g. Bursar's webhook route on a listening test app). */
  webhookTargets?: WebhookTarget[];
  /** Overrides of the sandbox configuration (faults, seed, reviewDelayMs, webhookRetry, tickMs…). */
  config?: Partial<SandboxConfig>;
  /** Start the webhook dispatcher and scheduler loops (default true). */
  background?: boolean;
}

export interface TestSandbox {
  url: string;
  port: number;
  secretKey: string;
  /** The admin endpoints' key (`sbx_admin_…`); `admin()` sends it. */
  adminKey: string;
  /** The `whsec_` secret of the configured targets (and of the adapter's verifyWebhook). */
  webhookSecret: string;
  /** The official SDK, pointed at the sandbox, with its own retries off. */
  stripe: Stripe;
  /** The Stripe adapter (the PSP port) pointed at the sandbox. */
  psp: PaymentServiceProvider & { readonly stripe: Stripe };
  server: SandboxServer;
  pool: Pool;
  setFaults(faults: Partial<Faults>): void;
  resetFaults(): void;
  /** Calls an admin endpoint (`/v1/sandbox/…`) with JSON. */
  admin(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

/** A sandbox PSP listening on a free port, on its own database unless given one. */
export async function startTestSandbox(options: TestSandboxOptions = {}): Promise<TestSandbox> {
  let db: TestDatabase | undefined;
  const pool = options.pool ?? (db = await createTestDatabase()).pool;
  const secretKey = `sk_test_${randomBytes(8).toString('hex')}`;
  const adminKey = `sbx_admin_${randomBytes(16).toString('hex')}`;
  const webhookSecret = `whsec_${randomBytes(16).toString('hex')}`;
  const config: SandboxConfig = {
    ...DEFAULT_SANDBOX_CONFIG,
    port: 0,
    host: '127.0.0.1',
    secretKey,
    adminKey,
    tickMs: 100,
    webhookRetry: { baseDelayMs: 50, maxDelayMs: 1000, maxAttempts: 8, timeoutMs: 5000 },
    ...options.config,
    webhookTargets: options.webhookTargets ?? options.config?.webhookTargets ?? [],
  };
  const server = createSandboxServer({
    pool,
    log: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    config,
  });
  let url: string;
  if (options.background === false) {
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
  } else {
    url = await server.start(0, '127.0.0.1');
  }
  const port = Number(new URL(url).port);
  const psp = createStripePsp({
    secretKey,
    webhookSecret,
    host: '127.0.0.1',
    port,
    protocol: 'http',
    timeoutMs: 10_000,
  });
  return {
    url,
    port,
    secretKey,
    adminKey,
    webhookSecret,
    stripe: psp.stripe,
    psp,
    server,
    pool,
    setFaults: (faults) => server.setFaults({ rules: faults.rules ?? [], webhooks: faults.webhooks ?? {} }),
    resetFaults: () => server.resetFaults(),
    admin: async (method, path, body) => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${path} → ${response.status}: ${text}`);
      return response.headers.get('content-type')?.startsWith('text/csv')
        ? text
        : (JSON.parse(text) as unknown);
    },
    stop: async () => {
      if (options.background === false) await server.app.close();
      else await server.stop();
      await db?.drop();
    },
  };
}

export interface ReceivedWebhook {
  body: string;
  signature: string | undefined;
  event: { id: string; type: string; data: { object: Record<string, unknown> } };
}

/**
 * A webhook receiver on a free port that records what it gets. `failFirst` answers 500 to the first n requests
 * (to exercise retries). `waitFor` resolves when a matching webhook arrived (no fixed sleeps).
 */
export async function startWebhookReceiver(options: { failFirst?: number } = {}): Promise<{
  url: string;
  received: ReceivedWebhook[];
  attempts: () => number;
  waitFor(predicate: (hook: ReceivedWebhook) => boolean, timeoutMs?: number): Promise<ReceivedWebhook>;
  close(): Promise<void>;
}> {
  const received: ReceivedWebhook[] = [];
  const waiters: Array<{
    predicate: (hook: ReceivedWebhook) => boolean;
    resolve: (hook: ReceivedWebhook) => void;
  }> = [];
  let attempts = 0;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      attempts++;
      if (attempts <= (options.failFirst ?? 0)) {
        response.writeHead(500).end('not now');
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      const signature = request.headers['stripe-signature'];
      const hook: ReceivedWebhook = {
        body,
        signature: typeof signature === 'string' ? signature : undefined,
        event: JSON.parse(body) as ReceivedWebhook['event'],
      };
      received.push(hook);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(hook)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(hook);
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    attempts: () => attempts,
    waitFor: (predicate, timeoutMs = 15_000) => {
      const already = received.find(predicate);
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('timed out waiting for a webhook')), timeoutMs);
        waiters.push({
          predicate,
          resolve: (hook) => {
            clearTimeout(timer);
            resolve(hook);
          },
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
