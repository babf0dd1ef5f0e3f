import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../jobs/backoff.ts';

/** Pay-in settings; every duration is in milliseconds unless its name says otherwise. */
export interface PayinsConfig {
  /** How long an Idempotency-Key is remembered (24 hours by default), then purged. */
  idempotencyTtlMs: number;
  /**
   * How long a request may hold an Idempotency-Key in progress (the hosted flow calls the PSP meanwhile). A
   * retry arriving later takes the work over; one arriving sooner gets 429 request_in_progress.
   */
  inProgressLeaseMs: number;
  /** Executor retries of transient PSP failures. */
  retry: RetryPolicy;
  /** An order EXECUTING untouched for this long is asked about at the PSP by the sweeper. */
  sweepAfterMs: number;
  /** First gap between two sweeps of one order; doubles up to `sweepMaxDelayMs`. */
  sweepBaseDelayMs: number;
  sweepMaxDelayMs: number;
  /** After this many sweeps without a final answer, the order is flagged for attention and left alone. */
  maxSweeps: number;
  /** A hosted checkout without a final webhook for this long is polled at the PSP. */
  pollAfterMs: number;
  pollBaseDelayMs: number;
  pollMaxDelayMs: number;
  maxPolls: number;
  /**
   * The PSP fee follow-up (psp-fee-followup.ts): a fee the PSP could not say when its payment settled is asked
   * again after `feeRetryBaseMs`, doubling up to `feeRetryMaxMs`, at most `feeMaxAttempts` times in all; then it
   * is left to reconciliation.
   */
  feeMaxAttempts: number;
  feeRetryBaseMs: number;
  feeRetryMaxMs: number;
  /** How often the background loop looks for work (sweeps, polls, outbox, purges). */
  tickIntervalMs: number;
  /** Concurrent executor jobs per worker process. */
  workerConcurrency: number;
  /**
   * How often the executor's loop looks for due jobs without being woken (a retry that became due, a lost
   * notification); new checkouts wake it at once through LISTEN/NOTIFY.
   */
  claimPollMs: number;
  /**
   * The gathering window of the worker's loops (`BURSAR_PAYINS_GATHER_MS`, 0–1000). A notification of new work (a
   * checkout's orders, a PSP event) that finds a loop idle is taken this long after it, with whatever else arrived
   * meanwhile; an executor's settlement waits as long for the answers of the other PSP charges in flight; events
   * put off while their order was being charged are taken this long after they fall due. At a low rate, one
   * transaction then serves several orders or events instead of one each. It adds at most this much to the take
   * and to the settlement of an order; under load the loops are busy and batches fill without waiting. 0 takes
   * and settles each at once.
   */
  gatherMs: number;
  /** pg-boss's polling interval for new jobs (at least 0.5). */
  jobPollingIntervalSeconds: number;
  /**
   * A PSP event about a saved-method order whose executor is charging it right now (EXECUTING, attempt in flight)
   * waits up to this long after it arrived: the executor's own settlement, a moment later, usually makes it a
   * no-op, instead of two transactions settling the same order at once. 0 processes it at once.
   */
  pspEventDeferMs: number;
}

export const DEFAULT_PAYINS_CONFIG: PayinsConfig = {
  idempotencyTtlMs: 24 * 60 * 60 * 1000,
  inProgressLeaseMs: 30_000,
  retry: DEFAULT_RETRY_POLICY,
  sweepAfterMs: 5 * 60 * 1000,
  sweepBaseDelayMs: 60_000,
  sweepMaxDelayMs: 60 * 60 * 1000,
  maxSweeps: 12,
  pollAfterMs: 10 * 60 * 1000,
  pollBaseDelayMs: 60_000,
  pollMaxDelayMs: 60 * 60 * 1000,
  maxPolls: 30,
  feeMaxAttempts: 12,
  feeRetryBaseMs: 2_000,
  feeRetryMaxMs: 30 * 60 * 1000,
  tickIntervalMs: 5_000,
  workerConcurrency: 4,
  claimPollMs: 1_000,
  gatherMs: 50,
  jobPollingIntervalSeconds: 1,
  pspEventDeferMs: 5_000,
};

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,12}$/.test(raw)) throw new Error(`${name} must be a whole number, got "${raw}"`);
  return Number.parseInt(raw, 10);
}

/** Reads the BURSAR_PAYINS_* variables (documented in docs/payins.md). */
export function loadPayinsConfig(env: NodeJS.ProcessEnv = process.env): PayinsConfig {
  const d = DEFAULT_PAYINS_CONFIG;
  return {
    idempotencyTtlMs: int(env, 'BURSAR_IDEMPOTENCY_TTL_HOURS', d.idempotencyTtlMs / 3_600_000) * 3_600_000,
    inProgressLeaseMs: int(env, 'BURSAR_IDEMPOTENCY_LEASE_MS', d.inProgressLeaseMs),
    retry: {
      maxAttempts: int(env, 'BURSAR_PAYINS_MAX_ATTEMPTS', d.retry.maxAttempts),
      baseDelayMs: int(env, 'BURSAR_PAYINS_RETRY_BASE_MS', d.retry.baseDelayMs),
      maxDelayMs: int(env, 'BURSAR_PAYINS_RETRY_MAX_MS', d.retry.maxDelayMs),
      jitterRatio: d.retry.jitterRatio,
    },
    sweepAfterMs: int(env, 'BURSAR_PAYINS_SWEEP_AFTER_MS', d.sweepAfterMs),
    sweepBaseDelayMs: int(env, 'BURSAR_PAYINS_SWEEP_BASE_MS', d.sweepBaseDelayMs),
    sweepMaxDelayMs: int(env, 'BURSAR_PAYINS_SWEEP_MAX_MS', d.sweepMaxDelayMs),
    maxSweeps: int(env, 'BURSAR_PAYINS_MAX_SWEEPS', d.maxSweeps),
    pollAfterMs: int(env, 'BURSAR_PAYINS_POLL_AFTER_MS', d.pollAfterMs),
    pollBaseDelayMs: int(env, 'BURSAR_PAYINS_POLL_BASE_MS', d.pollBaseDelayMs),
    pollMaxDelayMs: int(env, 'BURSAR_PAYINS_POLL_MAX_MS', d.pollMaxDelayMs),
    maxPolls: int(env, 'BURSAR_PAYINS_MAX_POLLS', d.maxPolls),
    feeMaxAttempts: int(env, 'BURSAR_PAYINS_FEE_MAX_ATTEMPTS', d.feeMaxAttempts),
    feeRetryBaseMs: int(env, 'BURSAR_PAYINS_FEE_RETRY_BASE_MS', d.feeRetryBaseMs),
    feeRetryMaxMs: int(env, 'BURSAR_PAYINS_FEE_RETRY_MAX_MS', d.feeRetryMaxMs),
    tickIntervalMs: int(env, 'BURSAR_PAYINS_TICK_MS', d.tickIntervalMs),
    workerConcurrency: int(env, 'BURSAR_PAYINS_WORKER_CONCURRENCY', d.workerConcurrency),
    claimPollMs: Math.max(50, int(env, 'BURSAR_PAYINS_CLAIM_POLL_MS', d.claimPollMs)),
    gatherMs: Math.min(1_000, int(env, 'BURSAR_PAYINS_GATHER_MS', d.gatherMs)),
    jobPollingIntervalSeconds: d.jobPollingIntervalSeconds,
    pspEventDeferMs: int(env, 'BURSAR_PAYINS_EVENT_DEFER_MS', d.pspEventDeferMs),
  };
}
