/**
 * Retry timing: exponential backoff with jitter, capped, honouring a server's Retry-After. Pure; the random
 * source is passed in so tests can pin it.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included; after the last one fails transiently the job is dead-lettered. */
  maxAttempts: number;
  /** Delay before the second attempt, before jitter. */
  baseDelayMs: number;
  /** No computed delay exceeds this (a Retry-After from the server may still ask for more). */
  maxDelayMs: number;
  /** Part of the delay that is randomised, 0..1: 0.5 gives "equal jitter" (between half and all of it). */
  jitterRatio: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 1_000,
  maxDelayMs: 60_000,
  jitterRatio: 0.5,
};

/** The delay before attempt `attempt + 1`, given that `attempt` (1-based) just failed, without jitter. */
export function backoffCeilingMs(attempt: number, policy: RetryPolicy): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError('attempt is 1-based');
  // 2^(attempt-1) grows past any cap quickly; stop doubling once the cap is reached to stay in safe integers.
  let delay = policy.baseDelayMs;
  for (let i = 1; i < attempt && delay < policy.maxDelayMs; i++) delay *= 2;
  return Math.min(delay, policy.maxDelayMs);
}

/**
 * The delay before the next attempt: the capped exponential ceiling with its top `jitterRatio` part randomised,
 * and never less than what the server asked for in Retry-After.
 */
export function retryDelayMs(
  attempt: number,
  policy: RetryPolicy,
  options: { retryAfterSeconds?: number; random?: () => number } = {},
): number {
  const ceiling = backoffCeilingMs(attempt, policy);
  const random = options.random ?? Math.random;
  const jitterPart = ceiling * Math.min(Math.max(policy.jitterRatio, 0), 1);
  const delay = Math.round(ceiling - jitterPart + random() * jitterPart);
  const asked = options.retryAfterSeconds === undefined ? 0 : Math.max(0, options.retryAfterSeconds) * 1000;
  return Math.max(delay, Math.ceil(asked));
}

/** Whether another attempt is allowed after `attempt` (1-based) failed. */
export function canRetry(attempt: number, policy: RetryPolicy): boolean {
  return attempt < policy.maxAttempts;
}
