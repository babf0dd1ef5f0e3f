import type { RetryPolicy } from '../jobs/backoff.ts';

/** How webhook endpoints are sent to (docs/events.md lists the variables). */
export interface EventsConfig {
  /** BURSAR_WEBHOOK_ALLOW_PRIVATE_URLS=true: endpoints may be on loopback or private networks (tests, sandbox). */
  allowPrivateUrls: boolean;
  /** BURSAR_WEBHOOK_DISABLE_AFTER_FAILURES: consecutive failed attempts after which an endpoint is disabled. */
  disableAfterFailures: number;
  /** BURSAR_WEBHOOK_TIMEOUT_MS: how long one attempt may take. */
  timeoutMs: number;
  /** How an endpoint's failed delivery is retried: up to three days by default (BURSAR_WEBHOOK_MAX_ATTEMPTS). */
  retry: RetryPolicy;
  /** How often the sender looks for due retries when no NOTIFY wakes it. */
  pollMs: number;
  /** How many deliveries one pass sends at once. */
  concurrency: number;
  /** How long a rolled secret keeps signing when the roll names no expiry (24 h). */
  defaultGraceSeconds: number;
}

/** 84 attempts, 1 s doubling to an hour apart: the delays' ceilings add up to three days. */
export const DELIVERY_RETRY: RetryPolicy = {
  maxAttempts: 84,
  baseDelayMs: 1_000,
  maxDelayMs: 60 * 60 * 1000,
  jitterRatio: 0.5,
};

function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = /^\d{1,9}$/.test(raw) ? Number.parseInt(raw, 10) : Number.NaN;
  if (!(value >= 1 && value <= max))
    throw new Error(`${name} must be a whole number from 1 to ${max}, got "${raw}"`);
  return value;
}

export function loadEventsConfig(env: NodeJS.ProcessEnv): EventsConfig {
  const allow = env.BURSAR_WEBHOOK_ALLOW_PRIVATE_URLS;
  if (allow !== undefined && allow !== '' && allow !== 'true' && allow !== 'false') {
    throw new Error(`BURSAR_WEBHOOK_ALLOW_PRIVATE_URLS must be true or false, got "${allow}"`);
  }
  return {
    allowPrivateUrls: allow === 'true',
    disableAfterFailures: wholeNumber(env, 'BURSAR_WEBHOOK_DISABLE_AFTER_FAILURES', 100, 100_000),
    timeoutMs: wholeNumber(env, 'BURSAR_WEBHOOK_TIMEOUT_MS', 10_000, 120_000),
    retry: { ...DELIVERY_RETRY, maxAttempts: wholeNumber(env, 'BURSAR_WEBHOOK_MAX_ATTEMPTS', 84, 10_000) },
    pollMs: 1_000,
    concurrency: 16,
    defaultGraceSeconds: 24 * 60 * 60,
  };
}
