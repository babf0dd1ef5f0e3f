import type { FastifyRequest, RouteOptions } from 'fastify';
import { AppError } from '../errors.ts';
import type { RouteAuth } from './route-auth.ts';

/**
 * How much a client may ask of the API, and for how long a connection may hold it (issue 11, item 4).
 *
 * Rate limits are per process, in memory (a token bucket per API key and per client address, per route class).
 * Several API processes each apply the figures on their own, so N processes admit up to N times the figure; set
 * the figures as the budget of one process (docs/security.md says why: a shared counter in PostgreSQL would put a
 * write on the hot row of every request, the very load the limits are there to keep off the database).
 */

/** The route classes limits are set for. Public routes (probes, the OpenAPI description) are not limited. */
export type RouteClass = 'money' | 'reads' | 'webhooks';

export interface HttpLimits {
  /** Requests per minute per API key and per client address, by route class; 0 turns the class's limit off. */
  ratePerMinute: Record<RouteClass, number>;
  /** Largest body of a money-moving POST, in bytes. */
  moneyBodyLimitBytes: number;
  /** Largest body of any other route, in bytes (uploads of settlement reports included). */
  bodyLimitBytes: number;
  /** Time to receive a request's headers. */
  headersTimeoutMs: number;
  /** Time to receive a whole request, headers and body: a slow body is cut off (408) after this. */
  requestTimeoutMs: number;
  /** Time an idle keep-alive connection is held after a response. */
  keepAliveTimeoutMs: number;
  /** Time a socket may be silent (no bytes either way) before it is closed. */
  idleTimeoutMs: number;
  /** Proxies whose X-Forwarded-For is believed (addresses or CIDR ranges); none by default. */
  trustedProxies: string[];
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  ratePerMinute: { money: 3000, reads: 12_000, webhooks: 12_000 },
  moneyBodyLimitBytes: 256 * 1024,
  bodyLimitBytes: 1024 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  trustedProxies: [],
};

/** The variables, their fields and bounds; src/config-check.ts lists the same names for `bursar doctor`. */
export const LIMIT_VARIABLES = {
  BURSAR_RATE_LIMIT_MONEY: { max: 10_000_000 },
  BURSAR_RATE_LIMIT_READS: { max: 10_000_000 },
  BURSAR_RATE_LIMIT_WEBHOOKS: { max: 10_000_000 },
  BURSAR_MONEY_BODY_LIMIT_BYTES: { max: 64 * 1024 * 1024 },
  BURSAR_BODY_LIMIT_BYTES: { max: 256 * 1024 * 1024 },
  BURSAR_HEADERS_TIMEOUT_MS: { max: 600_000 },
  BURSAR_REQUEST_TIMEOUT_MS: { max: 3_600_000 },
  BURSAR_KEEP_ALIVE_TIMEOUT_MS: { max: 600_000 },
  BURSAR_IDLE_TIMEOUT_MS: { max: 3_600_000 },
} as const;

function whole(env: NodeJS.ProcessEnv, name: keyof typeof LIMIT_VARIABLES, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const max = LIMIT_VARIABLES[name].max;
  if (!/^\d{1,10}$/.test(raw) || Number.parseInt(raw, 10) > max) {
    throw new Error(`${name} must be a whole number, 0–${max}, got "${raw}"`);
  }
  return Number.parseInt(raw, 10);
}

/** A comma-separated list of IPv4/IPv6 addresses or CIDR ranges. */
export const PROXY_ENTRY =
  /^(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)(?:\/[0-9]{1,3})?$/;

export function parseTrustedProxies(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === '') return [];
  const entries = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  for (const entry of entries) {
    if (!PROXY_ENTRY.test(entry)) {
      throw new Error(`BURSAR_TRUSTED_PROXIES: "${entry}" is not an IP address or CIDR range`);
    }
  }
  return entries;
}

export function loadHttpLimits(env: NodeJS.ProcessEnv): HttpLimits {
  const d = DEFAULT_HTTP_LIMITS;
  const limits: HttpLimits = {
    ratePerMinute: {
      money: whole(env, 'BURSAR_RATE_LIMIT_MONEY', d.ratePerMinute.money),
      reads: whole(env, 'BURSAR_RATE_LIMIT_READS', d.ratePerMinute.reads),
      webhooks: whole(env, 'BURSAR_RATE_LIMIT_WEBHOOKS', d.ratePerMinute.webhooks),
    },
    moneyBodyLimitBytes: whole(env, 'BURSAR_MONEY_BODY_LIMIT_BYTES', d.moneyBodyLimitBytes),
    bodyLimitBytes: whole(env, 'BURSAR_BODY_LIMIT_BYTES', d.bodyLimitBytes),
    headersTimeoutMs: whole(env, 'BURSAR_HEADERS_TIMEOUT_MS', d.headersTimeoutMs),
    requestTimeoutMs: whole(env, 'BURSAR_REQUEST_TIMEOUT_MS', d.requestTimeoutMs),
    keepAliveTimeoutMs: whole(env, 'BURSAR_KEEP_ALIVE_TIMEOUT_MS', d.keepAliveTimeoutMs),
    idleTimeoutMs: whole(env, 'BURSAR_IDLE_TIMEOUT_MS', d.idleTimeoutMs),
    trustedProxies: parseTrustedProxies(env.BURSAR_TRUSTED_PROXIES),
  };
  if (limits.requestTimeoutMs > 0 && limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new Error('BURSAR_HEADERS_TIMEOUT_MS must not exceed BURSAR_REQUEST_TIMEOUT_MS');
  }
  return limits;
}

/** The class of a route, from its auth marker and method; undefined for public routes (not limited). */
export function routeClassOf(auth: RouteAuth | undefined, method: string): RouteClass | undefined {
  if (auth === undefined || auth === 'public') return undefined;
  if (auth === 'signature') return 'webhooks';
  return method === 'GET' || method === 'HEAD' ? 'reads' : 'money';
}

/** The body limit of a route: money-moving POSTs get the smaller one. */
export function bodyLimitOf(auth: RouteAuth | undefined, limits: HttpLimits): number {
  return typeof auth === 'object' && 'scope' in auth && auth.moneyMoving === true
    ? limits.moneyBodyLimitBytes
    : limits.bodyLimitBytes;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

/**
 * Token buckets: each holds up to a minute's allowance and refills continuously, so a client may burst up to its
 * per-minute figure and then gets one request per (60 s / figure). Buckets that have refilled are dropped.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.now = now;
  }

  /** Takes one token from `key`'s bucket; returns 0 when admitted, or the seconds to wait when not. */
  take(key: string, perMinute: number): number {
    const now = this.now();
    const ratePerMs = perMinute / 60_000;
    const bucket = this.buckets.get(key) ?? { tokens: perMinute, atMs: now };
    bucket.tokens = Math.min(perMinute, bucket.tokens + (now - bucket.atMs) * ratePerMs);
    bucket.atMs = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      this.buckets.set(key, bucket);
      if (this.buckets.size > 100_000) this.sweep(now);
      return 0;
    }
    this.buckets.set(key, bucket);
    return Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000));
  }

  private sweep(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.atMs > 60_000) this.buckets.delete(key);
    }
  }
}

function refuse(retryAfterSeconds: number, who: string): never {
  throw new AppError(
    'rate_limited',
    `too many requests from this ${who}; retry after ${retryAfterSeconds} s`,
    {
      retryAfterSeconds,
    },
  );
}

/**
 * The two checks of a limited route: by client address before authentication (so a flood of bad keys is turned
 * away without a database lookup), and by API key once the key is known (before the body is read).
 */
export function rateLimitHooks(
  limiter: RateLimiter,
  routeClass: RouteClass,
  perMinute: number,
): {
  byAddress: (request: FastifyRequest) => Promise<void>;
  byKey: (request: FastifyRequest) => Promise<void>;
} {
  return {
    byAddress: async (request) => {
      const wait = limiter.take(`${routeClass}|ip|${request.ip}`, perMinute);
      if (wait > 0) refuse(wait, 'client address');
    },
    byKey: async (request) => {
      const keyId = request.apiKey?.id;
      if (keyId === undefined) return;
      const wait = limiter.take(`${routeClass}|key|${keyId}`, perMinute);
      if (wait > 0) refuse(wait, 'API key');
    },
  };
}

/**
 * Installs the limits on a route as it is registered (an `onRoute` step): the body limit, the address check first
 * among `onRequest` hooks, and the key check first among `preParsing` hooks.
 */
export function applyRouteLimits(route: RouteOptions, limits: HttpLimits, limiter: RateLimiter): void {
  const auth = route.config?.auth;
  route.bodyLimit ??= bodyLimitOf(auth, limits);
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  const routeClass = routeClassOf(auth, String(methods[0]));
  if (routeClass === undefined) return;
  const perMinute = limits.ratePerMinute[routeClass];
  if (perMinute === 0) return;
  const { byAddress, byKey } = rateLimitHooks(limiter, routeClass, perMinute);
  const onRequest =
    route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
  route.onRequest = [byAddress, ...onRequest];
  const preParsing =
    route.preParsing === undefined
      ? []
      : Array.isArray(route.preParsing)
        ? route.preParsing
        : [route.preParsing];
  route.preParsing = [byKey, ...preParsing];
}
