import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createKey } from '../../src/apikeys/service.ts';
import { SCOPES } from '../../src/apikeys/scopes.ts';
import {
  composeModules,
  createContext,
  routeModules,
  type ComposeOverrides,
  type Modules,
} from '../../src/compose.ts';
import type { BackgroundService } from '../../src/services.ts';
import { loadConfig } from '../../src/config.ts';
import type { AppContext } from '../../src/context.ts';
import { buildApp } from '../../src/http/app.ts';
import { getEntry, findEntryByReference, verifyLedger } from '../../src/ledger/service.ts';
import type { JournalEntry } from '../../src/ledger/types.ts';
import { createLogger } from '../../src/log.ts';
import type { PayinsConfig } from '../../src/payins/config.ts';
import type { PayinsRuntime } from '../../src/payins/runtime.ts';
import { createStripePsp } from '../../src/psp/stripe/index.ts';
import type { SandboxConfig, WebhookTarget } from '../../sandbox/index.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { bearer, waitFor } from './payins.ts';
import { startTestSandbox, type TestSandbox } from './sandbox.ts';
import { SwitchPsp } from './switch-psp.ts';

/**
 * A whole pay-in stack for end-to-end tests, every hop over real HTTP on 127.0.0.1: Bursar's app (every route
 * module) listening on a free port, its pay-in worker, and the sandbox PSP whose signed webhooks go to Bursar's
 * `/v1/webhooks/psp/stripe`. Bursar talks to the sandbox through the Stripe adapter (the official SDK).
 */
export interface PayinsStack {
  baseUrl: string;
  /** An API key with every scope. */
  key: string;
  ctx: AppContext;
  /** The modules the app and the worker run, built by the composition root. */
  modules: Modules;
  db: TestDatabase;
  sandbox: TestSandbox;
  /** The `whsec_` secret the sandbox signs with and Bursar verifies with. */
  webhookSecret: string;
  runtime(): PayinsRuntime;
  /** Changes pay-in settings from now on (the running worker picks them up at its next step). */
  configure(config: Partial<PayinsConfig>): void;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<HttpAnswer>;
  get(path: string): Promise<HttpAnswer>;
  put(path: string, body: unknown): Promise<HttpAnswer>;
  /** `POST /v1/payments` with an Idempotency-Key. */
  pay(body: unknown, idempotencyKey: string): Promise<HttpAnswer>;
  order(paymentOrderId: string): Promise<WireOrder>;
  /** Waits (polling the API) until the order has `status`; fails with the last answer after `timeoutMs`. */
  waitForStatus(paymentOrderId: string, status: string, timeoutMs?: number): Promise<WireOrder>;
  /** The seller's pending balance in minor units, read from `GET /v1/sellers/{id}/balance`. */
  pendingMinor(sellerAccount: string): Promise<bigint>;
  registerSellers(ids: string[], currency?: string): Promise<void>;
  /** The ledger entries posted for the order's success (0 or 1 when all is well). */
  successEntries(paymentOrderId: string): Promise<number>;
  successEntry(paymentOrderId: string): Promise<JournalEntry | undefined>;
  ledgerOk(): Promise<boolean>;
  /** PaymentIntents at the PSP that carry this payment order id (one per charge). */
  chargesAtPsp(paymentOrderId: string): Promise<number>;
  /** Checkout Sessions at the PSP created for this checkout (by client_reference_id). */
  sessionsAtPsp(checkoutId: string): Promise<string[]>;
  /** Who settled each status change of the order (`settled_by` in the history details), in order. */
  settledBy(paymentOrderId: string): Promise<Array<{ to: string; by: unknown }>>;
  close(): Promise<void>;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

export interface WireOrder {
  payment_order_id: string;
  status: string;
  status_reason: string | null;
  decline_code: string | null;
  ledger_updated: boolean;
  needs_attention: boolean;
  status_history: Array<{ from: string | null; to: string; why: string }>;
  [field: string]: unknown;
}

export interface PayinsStackOptions {
  /** Pay-in settings (short delays for tests). */
  config?: Partial<PayinsConfig>;
  /** Sandbox settings (review delay, session lifetime, faults…). */
  sandbox?: Partial<SandboxConfig>;
  /** More webhook destinations besides Bursar (e.g. a recorder), signed with the same secret. */
  extraWebhookUrls?: string[];
  /** Start the pay-in worker in this process (default true). */
  worker?: boolean;
  /** Overrides of the composition (refund settings, platform fee…), besides the PSP and pay-in settings. */
  compose?: Omit<ComposeOverrides, 'psp' | 'payins'>;
}

/** Settings that make a test stack react in tenths of a second instead of minutes. */
export const FAST_PAYINS: Partial<PayinsConfig> = {
  jobPollingIntervalSeconds: 0.5,
  tickIntervalMs: 100,
  workerConcurrency: 4,
  // Webhooks settle hosted checkouts here; tests that want the poller or the sweeper lower these.
  pollAfterMs: 60_000,
  sweepAfterMs: 60_000,
};

export async function startPayinsStack(options: PayinsStackOptions = {}): Promise<PayinsStack> {
  const db = await createTestDatabase({ poolSize: 30 });
  const ctx = createContext(
    { ...loadConfig({}), databaseUrl: db.url },
    db.pool,
    createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
  );
  // The Stripe adapter's address is known once the sandbox runs, and the sandbox needs the app's address first.
  const switchable = new SwitchPsp();
  const modules = composeModules(ctx, {
    ...(options.compose ?? {}),
    psp: switchable,
    payins: { ...FAST_PAYINS, ...(options.config ?? {}) },
  });
  const app = await buildApp(ctx, routeModules(modules));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const webhookSecret = `whsec_${randomBytes(16).toString('hex')}`;
  const targets: WebhookTarget[] = [
    { url: `${baseUrl}/v1/webhooks/psp/stripe`, secret: webhookSecret },
    ...(options.extraWebhookUrls ?? []).map((url) => ({ url, secret: webhookSecret })),
  ];
  const sandbox = await startTestSandbox({ webhookTargets: targets, config: options.sandbox ?? {} });
  const psp = createStripePsp({
    secretKey: sandbox.secretKey,
    webhookSecret,
    host: '127.0.0.1',
    port: sandbox.port,
    protocol: 'http',
    timeoutMs: 5_000,
  });
  switchable.use(psp);
  const key = (await createKey(db.pool, 'stack', [...SCOPES])).secret;
  let worker: BackgroundService | undefined;
  if (options.worker !== false) {
    worker = modules.payins.worker;
    await worker.start();
  }

  const request = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<HttpAnswer> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        ...bearer(key),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    };
  };

  const order = async (id: string): Promise<WireOrder> => {
    const answer = await request('GET', `/v1/payments/${id}`);
    if (answer.status !== 200)
      throw new Error(`GET /v1/payments/${id} → ${answer.status}: ${JSON.stringify(answer.json)}`);
    return answer.json as WireOrder;
  };

  return {
    baseUrl,
    key,
    ctx,
    db,
    sandbox,
    webhookSecret,
    modules,
    runtime: () => modules.payins.runtime,
    configure: (config) => {
      // The module reads its settings object at every step; the test changes it in place.
      Object.assign(modules.payins.runtime.config, config);
    },
    post: (path, body, headers) => request('POST', path, body, headers),
    get: (path) => request('GET', path),
    put: (path, body) => request('PUT', path, body),
    pay: (body, idempotencyKey) =>
      request('POST', '/v1/payments', body, { 'idempotency-key': idempotencyKey }),
    order,
    waitForStatus: async (id, status, timeoutMs = 20_000) => {
      let last: WireOrder | undefined;
      try {
        return await waitFor(
          async () => {
            last = await order(id);
            return last.status === status ? last : undefined;
          },
          timeoutMs,
          `${id} to become ${status}`,
        );
      } catch (error) {
        throw new Error(`${(error as Error).message}; last answer: ${JSON.stringify(last)}`);
      }
    },
    pendingMinor: async (seller) => {
      const answer = await request('GET', `/v1/sellers/${seller}/balance`);
      if (answer.status !== 200) throw new Error(`balance of ${seller} → ${answer.status}`);
      // Test sellers are in USD (two decimals): "12.34" → 1234n, without floats.
      const [units, cents = ''] = String(answer.json.pending).split('.');
      return BigInt(units ?? '0') * 100n + BigInt(cents.padEnd(2, '0'));
    },
    registerSellers: async (ids, currency = 'USD') => {
      for (const id of ids) {
        const answer = await request('POST', '/v1/sellers', { seller_account: id, name: id, currency });
        if (answer.status !== 201 && answer.status !== 200)
          throw new Error(`POST /v1/sellers ${id} → ${answer.status}: ${JSON.stringify(answer.json)}`);
      }
    },
    successEntries: async (id) =>
      (await db.pool.query('SELECT 1 FROM ledger.entries WHERE reference = $1', [`payin:${id}:succeeded`]))
        .rowCount ?? 0,
    successEntry: async (id) => {
      const entryId = await findEntryByReference(db.pool, `payin:${id}:succeeded`);
      return entryId === undefined ? undefined : await getEntry(db.pool, entryId);
    },
    ledgerOk: async () => (await verifyLedger(db.pool)).ok,
    chargesAtPsp: async (id) =>
      (
        await sandbox.stripe.paymentIntents.search({
          query: `metadata['payment_order_id']:'${id}'`,
          limit: 100,
        })
      ).data.length,
    sessionsAtPsp: async (checkoutId) => {
      const ids: string[] = [];
      for await (const session of sandbox.stripe.checkout.sessions.list({ limit: 100 })) {
        if (session.client_reference_id === checkoutId) ids.push(session.id);
      }
      return ids;
    },
    settledBy: async (id) => {
      const rows = await db.pool.query<{ to_status: string; details: Record<string, unknown> }>(
        `SELECT to_status, details FROM payins.payment_order_status_history
         WHERE payment_order_id = $1 ORDER BY id`,
        [id],
      );
      return rows.rows.map((row) => ({ to: row.to_status, by: row.details.settled_by }));
    },
    close: async () => {
      await worker?.stop();
      await app.close();
      await sandbox.stop();
      await db.drop();
    },
  };
}
