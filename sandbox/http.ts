import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Pool, PoolClient } from '../src/db/pool.ts';
import type { Logger } from '../src/log.ts';
import type { SandboxConfig } from './config.ts';
import { SANDBOX_API_VERSION, type SandboxCtx } from './context.ts';
import { StripeApiError, errorResponse, type StripeErrorBody } from './errors.ts';
import type { FaultInjector } from './faults.ts';
import type { FormObject } from './form.ts';
import { newId } from './ids.ts';
import { Params } from './params.ts';
import { BufferedWrites, getObject, savedResponse, type StoredObject } from './store.ts';

/**
 * The request pipeline every Stripe API route goes through, in Stripe's order: authentication, fault injection,
 * then the handler, whose writes are sent in one statement together with the idempotency record, so that the
 * effect and the saved response commit together (a replay can never see one without the other).
 */

export interface ApiRequest {
  ctx: SandboxCtx;
  params: Record<string, string>;
  /** Form body (POST) or query string (GET/DELETE), parsed from bracket notation. */
  input: FormObject;
}

export interface ApiResult {
  status?: number;
  body: unknown;
}

export type ApiHandler = (request: ApiRequest) => Promise<ApiResult>;

export interface SandboxRuntime {
  pool: Pool;
  log: Logger;
  config: SandboxConfig;
  faults: FaultInjector;
  now(): Date;
  baseUrl(): string;
  /** Called after a transaction that may have queued webhooks committed. */
  onCommit(): void;
  /** The fixed test PaymentMethods this server has stored (see `SandboxCtx.testMethods`). */
  testMethods?: Map<string, StoredObject>;
}

const KEY_PATTERN = /^sk_test_[A-Za-z0-9_]{1,247}$/;

export function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Checks `Authorization: Bearer sk_test_…` (or HTTP Basic with the key as user name, which Stripe also accepts). */
export function authenticate(request: FastifyRequest, config: SandboxConfig): string {
  const header = request.headers.authorization;
  if (header === undefined || header === '') {
    throw new StripeApiError(401, {
      type: 'invalid_request_error',
      message:
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
    });
  }
  let key = '';
  if (header.startsWith('Bearer ')) key = header.slice(7).trim();
  else if (header.startsWith('Basic '))
    key = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':')[0] ?? '';
  const accepted = config.secretKey === undefined ? KEY_PATTERN.test(key) : key === config.secretKey;
  if (!accepted) {
    const shown =
      key.length > 4 ? `${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}` : '';
    throw new StripeApiError(401, {
      type: 'invalid_request_error',
      message: `Invalid API Key provided: ${shown}`,
    });
  }
  return key;
}

/**
 * Checks `Authorization: Bearer <admin key>` for the admin endpoints. The comparison is of digests, in constant
 * time. A `sk_test_…` key is refused: the admin endpoints change the PSP's clock, faults and money.
 */
export function authenticateAdmin(request: FastifyRequest, config: SandboxConfig): void {
  const header = request.headers.authorization ?? '';
  const key = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  const expected = config.adminKey;
  const ok =
    expected !== undefined &&
    key !== '' &&
    timingSafeEqual(
      createHash('sha256').update(key).digest(),
      createHash('sha256').update(expected).digest(),
    );
  if (!ok) {
    throw new StripeApiError(401, {
      type: 'invalid_request_error',
      message:
        "The sandbox's admin endpoints need its admin key (Authorization: Bearer sbx_admin_…; SANDBOX_ADMIN_KEY, or " +
        'the file sandbox-admin-key in the data dir). A secret key is not enough.',
    });
  }
}

/** Canonical JSON (sorted keys), so the same parameters give the same fingerprint whatever their order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonical(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function fingerprint(method: string, path: string, input: FormObject): string {
  return createHash('sha256')
    .update(`${method} ${path} ${canonical(input)}`)
    .digest('hex');
}

/** Balance transactions become available when their `available_on` passes; their status is computed when shown. */
export function present(value: unknown, nowSeconds: number): unknown {
  if (Array.isArray(value)) return value.map((item) => present(item, nowSeconds));
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(record)) out[key] = present(inner, nowSeconds);
  if (out.object === 'balance_transaction' && typeof out.available_on === 'number') {
    out.status = out.available_on <= nowSeconds ? 'available' : 'pending';
  }
  return out;
}

/** Replaces ids by the objects they name along each `expand` path (`latest_charge.balance_transaction`, `data.source`). */
export async function expandPaths(ctx: SandboxCtx, value: unknown, paths: string[]): Promise<unknown> {
  for (const path of paths) await expandOne(ctx, value, path.split('.'), 0);
  return value;
}

async function expandOne(ctx: SandboxCtx, value: unknown, segments: string[], depth: number): Promise<void> {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) await expandOne(ctx, item, segments, depth);
    return;
  }
  const [head, ...rest] = segments;
  if (head === undefined) return;
  const record = value as Record<string, unknown>;
  let inner = record[head];
  if (typeof inner === 'string') {
    const found = await getObject(ctx.db, inner);
    if (found !== undefined) {
      inner = structuredClone(found.data);
      if (found.object === 'webhook_endpoint') delete (inner as Record<string, unknown>).secret;
      record[head] = inner;
    }
  }
  if (rest.length > 0) await expandOne(ctx, inner, rest, depth + 1);
}

function sendJson(reply: FastifyReply, status: number, body: string, apiVersion: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'application/json')
    .header('stripe-version', apiVersion)
    .send(body);
}

function serialize(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

function faultErrorBody(status: number): StripeErrorBody {
  if (status === 429) {
    return {
      type: 'invalid_request_error',
      code: 'rate_limit',
      message:
        'Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.',
    };
  }
  return {
    type: 'api_error',
    message: `The sandbox injected a ${status} fault. This is the kind of error Stripe answers when something went wrong on its side.`,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface RequestSpec {
  method: string;
  path: string;
  input: FormObject;
  params: Record<string, string>;
  apiKey: string;
  idempotencyKey: string | undefined;
  handler: ApiHandler;
}

interface Outcome {
  replayed: boolean;
  status: number;
  body: string;
}

/** Runs once more after a deadlock or serialization failure, as `withTransaction` does. */
const RETRIES = 8;

/**
 * Runs one API request: the handler's writes are held and sent at its end in one statement together with its
 * Idempotency-Key and answer (store.ts `BufferedWrites`), which begins a transaction only when the handler
 * needs one (a lock, a write before the end). A key used before — or by a request still running, which the
 * statement waits for — leaves everything unwritten, and the request answers from the key, as it does when the
 * handler fails on a state the first request left. A request with no key, and every GET, needs no transaction.
 */
async function executeRequest(runtime: SandboxRuntime, spec: RequestSpec): Promise<Outcome> {
  const print = fingerprint(spec.method, spec.path, spec.input);
  for (let attempt = 0; ; attempt++) {
    const client = await runtime.pool.connect();
    const db = new BufferedWrites(client, runtime.config.webhookTargets);
    let broken = false;
    let outcome: Outcome | 'key_taken';
    try {
      outcome = await runOnce(runtime, spec, db, print);
      if (db.inTransaction()) await client.query(outcome === 'key_taken' ? 'ROLLBACK' : 'COMMIT');
    } catch (error) {
      if (db.inTransaction()) await client.query('ROLLBACK').catch(() => (broken = true));
      const state = (error as { code?: unknown }).code;
      if ((state === '40P01' || state === '40001') && attempt < RETRIES && !broken) {
        client.release();
        await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * (5 + attempt * 10))));
        continue;
      }
      // A request that fails on a state its key's first request left answers as that one did.
      let answer: Outcome | StripeApiError | undefined;
      try {
        answer = broken ? undefined : await replayOf(client, spec, print);
      } catch (lookup) {
        // Other parameters under a used key: that is the answer. A failed look-up leaves the handler's error.
        if (lookup instanceof StripeApiError) answer = lookup;
      } finally {
        client.release(broken);
      }
      if (answer instanceof StripeApiError) throw answer;
      if (answer !== undefined) return answer;
      throw error;
    }
    try {
      if (outcome !== 'key_taken') return outcome;
      const replay = await replayOf(client, spec, print);
      if (replay === undefined) throw new Error('an Idempotency-Key was taken and then not found');
      return replay;
    } finally {
      client.release();
    }
  }
}

/** The handler's work and answer; `key_taken` when the Idempotency-Key turned out used (nothing was written). */
async function runOnce(
  runtime: SandboxRuntime,
  spec: RequestSpec,
  db: BufferedWrites,
  print: string,
): Promise<Outcome | 'key_taken'> {
  const now = runtime.now();
  const ctx: SandboxCtx = {
    db,
    now,
    config: runtime.config,
    baseUrl: runtime.baseUrl(),
    faults: runtime.faults,
    ...(runtime.testMethods === undefined ? {} : { testMethods: runtime.testMethods }),
  };
  let result: ApiResult;
  try {
    result = await spec.handler({ ctx, params: spec.params, input: spec.input });
  } catch (error) {
    // A card error happens after the work began: Stripe keeps its effects and replays it. Other errors
    // (validation, missing resources) roll back and leave the key free.
    if (!(error instanceof StripeApiError && error.status === 402)) throw error;
    result = errorResponse(error);
  }
  const expanded = await expandPaths(
    ctx,
    result.body,
    new Params(spec.input, Object.keys(spec.input)).expand(),
  );
  const body = serialize(present(expanded, Math.floor(now.getTime() / 1000)));
  const status = result.status ?? 200;
  // The objects, events, deliveries, the key and the saved answer: one statement.
  const written = await db.flush(
    spec.idempotencyKey === undefined
      ? {}
      : {
          idempotency: {
            apiKeyHash: keyHash(spec.apiKey),
            key: spec.idempotencyKey,
            method: spec.method,
            path: spec.path,
            fingerprint: print,
            status,
            body,
          },
        },
  );
  return written ? { replayed: false, status, body } : 'key_taken';
}

/** The answer saved under the request's key (a replay), an error for other parameters, or undefined (unused). */
async function replayOf(client: PoolClient, spec: RequestSpec, print: string): Promise<Outcome | undefined> {
  if (spec.idempotencyKey === undefined) return undefined;
  const saved = await savedResponse(client, keyHash(spec.apiKey), spec.idempotencyKey);
  if (saved === undefined) return undefined;
  if (saved.fingerprint !== print || saved.path !== spec.path || saved.method !== spec.method) {
    throw new StripeApiError(400, {
      type: 'idempotency_error',
      message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${spec.idempotencyKey}' if you meant to execute a different request.`,
    });
  }
  return { replayed: true, status: saved.status, body: saved.body };
}

/** Registers one Stripe API route with the whole pipeline. */
export function apiRoute(
  app: FastifyInstance,
  runtime: SandboxRuntime,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  handler: ApiHandler,
): void {
  app.route({
    method,
    url,
    handler: async (request, reply) => {
      const requestId = newId('req');
      const apiVersionHeader = request.headers['stripe-version'];
      const apiVersion =
        typeof apiVersionHeader === 'string' && apiVersionHeader !== ''
          ? apiVersionHeader
          : SANDBOX_API_VERSION;
      void reply.header('request-id', requestId);
      const path = request.url.split('?')[0] ?? request.url;
      try {
        const apiKey = authenticate(request, runtime.config);
        const fault = runtime.faults.decide(method, path);
        if (fault.latencyMs > 0) await sleep(fault.latencyMs);
        if (fault.kind === 'error') {
          runtime.log.debug({ path, status: fault.status }, 'sandbox fault: error');
          if (fault.status === 429 || fault.status === 503) void reply.header('retry-after', '1');
          return sendJson(
            reply,
            fault.status,
            serialize({ error: faultErrorBody(fault.status) }),
            apiVersion,
          );
        }
        if (fault.kind === 'timeout') {
          // Never answer: the client's timeout fires. The socket is destroyed when the server stops.
          reply.hijack();
          runtime.log.debug({ path }, 'sandbox fault: timeout');
          return reply;
        }
        const input = ((method === 'POST' ? request.body : request.query) ?? {}) as FormObject;
        const idempotencyHeader = request.headers['idempotency-key'];
        const idempotencyKey =
          method === 'POST' && typeof idempotencyHeader === 'string' && idempotencyHeader !== ''
            ? idempotencyHeader
            : undefined;
        if (idempotencyKey !== undefined && idempotencyKey.length > 255) {
          throw new StripeApiError(400, {
            type: 'invalid_request_error',
            message: 'Idempotency-Key must be at most 255 characters long.',
          });
        }
        const outcome = await executeRequest(runtime, {
          method,
          path,
          input,
          params: request.params as Record<string, string>,
          apiKey,
          idempotencyKey,
          handler,
        });
        runtime.onCommit();
        if (fault.kind === 'lost_response') {
          // The work is committed; the answer never arrives. The client must retry with the same key.
          runtime.log.debug({ path }, 'sandbox fault: lost response');
          reply.hijack();
          request.raw.socket.destroy();
          return reply;
        }
        if (idempotencyKey !== undefined) void reply.header('idempotency-key', idempotencyKey);
        if (outcome.replayed) void reply.header('idempotent-replayed', 'true');
        return sendJson(reply, outcome.status, outcome.body, apiVersion);
      } catch (error) {
        if (error instanceof StripeApiError) {
          const { status, body } = errorResponse(error);
          return sendJson(reply, status, serialize(body), apiVersion);
        }
        runtime.log.error({ err: error, path }, 'sandbox: unexpected error');
        return sendJson(
          reply,
          500,
          serialize({
            error: { type: 'api_error', message: 'An unexpected error occurred in the sandbox.' },
          }),
          apiVersion,
        );
      }
    },
  });
}
