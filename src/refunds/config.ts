import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../jobs/backoff.ts';

/** Refund settings (docs/refunds.md); durations in milliseconds. */
export interface RefundsConfig {
  /** Retries of transient PSP failures when making a refund; then the refund is dead-lettered. */
  retry: RetryPolicy;
  /**
   * How long an attempt holds a refund: one not finished by then (its process died between the PSP's answer and
   * our commit) is taken again by the sweeper, which first asks the PSP whether the refund exists.
   */
  leaseMs: number;
  /** A refund the PSP holds as pending is asked about after this long without a webhook, doubling to the max. */
  pollAfterMs: number;
  pollMaxDelayMs: number;
  /** The PSP fee follow-up (policy psp_fee = seller): first retry and cap. */
  pspFeeRetryMs: number;
  pspFeeMaxAttempts: number;
  /** How often the refund worker looks for work. */
  tickIntervalMs: number;
  /**
   * How often the refund worker lists the PSP's refunds of the last 72 hours to find those whose webhooks were lost
   * (`BURSAR_REFUNDS_DISCOVER_MS`); 0 turns discovery off.
   */
  discoverEveryMs: number;
  /** Refunds taken per tick and step. */
  batchSize: number;
}

export const DEFAULT_REFUNDS_CONFIG: RefundsConfig = {
  retry: DEFAULT_RETRY_POLICY,
  leaseMs: 60_000,
  pollAfterMs: 10 * 60 * 1000,
  pollMaxDelayMs: 6 * 60 * 60 * 1000,
  pspFeeRetryMs: 60_000,
  pspFeeMaxAttempts: 20,
  tickIntervalMs: 1_000,
  discoverEveryMs: 60_000,
  batchSize: 20,
};

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,12}$/.test(raw)) throw new Error(`${name} must be a whole number, got "${raw}"`);
  return Number.parseInt(raw, 10);
}

/** Reads the BURSAR_REFUNDS_* variables. */
export function loadRefundsConfig(env: NodeJS.ProcessEnv = process.env): RefundsConfig {
  const d = DEFAULT_REFUNDS_CONFIG;
  return {
    retry: {
      maxAttempts: int(env, 'BURSAR_REFUNDS_MAX_ATTEMPTS', d.retry.maxAttempts),
      baseDelayMs: int(env, 'BURSAR_REFUNDS_RETRY_BASE_MS', d.retry.baseDelayMs),
      maxDelayMs: int(env, 'BURSAR_REFUNDS_RETRY_MAX_MS', d.retry.maxDelayMs),
      jitterRatio: d.retry.jitterRatio,
    },
    leaseMs: int(env, 'BURSAR_REFUNDS_LEASE_MS', d.leaseMs),
    pollAfterMs: int(env, 'BURSAR_REFUNDS_POLL_AFTER_MS', d.pollAfterMs),
    pollMaxDelayMs: d.pollMaxDelayMs,
    pspFeeRetryMs: d.pspFeeRetryMs,
    pspFeeMaxAttempts: d.pspFeeMaxAttempts,
    tickIntervalMs: int(env, 'BURSAR_REFUNDS_TICK_MS', d.tickIntervalMs),
    discoverEveryMs: int(env, 'BURSAR_REFUNDS_DISCOVER_MS', d.discoverEveryMs),
    batchSize: d.batchSize,
  };
}
