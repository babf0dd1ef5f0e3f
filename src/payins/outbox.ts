import type { Pool, PoolClient } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { backoffCeilingMs, canRetry, retryDelayMs, type RetryPolicy } from '../jobs/backoff.ts';
import { insertDeadLetter, type DeadLetter } from '../jobs/dead-letters.ts';

export interface OutboxMessage {
  id: bigint;
  topic: string;
  payload: Record<string, unknown>;
  createdAt: Date;
  /** 1 on the first delivery attempt. */
  attempt: number;
}

/** Where outbox messages go (outgoing webhooks, analytics…). It must tolerate a message delivered twice. */
export type OutboxSink = (message: OutboxMessage) => Promise<void>;

/** The dead-letter queue (jobs.dead_letters.queue) of outbox messages whose attempts ran out. */
export const OUTBOX_DEAD_LETTER_QUEUE = 'payins-outbox';

/**
 * Attempts in all before a message is dead-lettered: with the delays below (1 s doubling to an hour), 84 attempts
 * spread over about three days (the delays' ceilings add up to 3.0 days; with jitter, 2¼ to 3 days).
 */
export const DEFAULT_OUTBOX_MAX_ATTEMPTS = 84;

/** Retries of a failed delivery: at most an hour apart, and `maxAttempts` in all. */
export const OUTBOX_RETRY_POLICY: RetryPolicy = {
  maxAttempts: DEFAULT_OUTBOX_MAX_ATTEMPTS,
  baseDelayMs: 1_000,
  maxDelayMs: 60 * 60 * 1000,
  jitterRatio: 0.5,
};

/** BURSAR_WEBHOOK_MAX_ATTEMPTS (1–10000, default 84 ≈ three days) bounds the delivery attempts of a message. */
export function outboxRetryPolicy(env: NodeJS.ProcessEnv): RetryPolicy {
  const raw = env.BURSAR_WEBHOOK_MAX_ATTEMPTS;
  if (raw === undefined || raw === '') return OUTBOX_RETRY_POLICY;
  const attempts = /^\d{1,5}$/.test(raw) ? Number.parseInt(raw, 10) : Number.NaN;
  if (!(attempts >= 1 && attempts <= 10_000)) {
    throw new Error(`BURSAR_WEBHOOK_MAX_ATTEMPTS must be a whole number from 1 to 10000, got "${raw}"`);
  }
  return { ...OUTBOX_RETRY_POLICY, maxAttempts: attempts };
}

/** The longest a message is retried under `policy` before it is dead-lettered (the sum of the delays' ceilings). */
export function retrySpanMs(policy: RetryPolicy): number {
  let total = 0;
  for (let attempt = 1; attempt < policy.maxAttempts; attempt++) total += backoffCeilingMs(attempt, policy);
  return total;
}

/** How long a claimed message is left alone by other publishers; longer than any one delivery may take. */
export const OUTBOX_LEASE_MS = 60_000;

export interface PublishResult {
  delivered: number;
  failed: number;
  /** Messages whose last attempt failed, moved to the dead-letter queue (included in `failed`). */
  deadLettered?: number;
}

export interface PublishOptions {
  limit?: number;
  leaseMs?: number;
  retry?: RetryPolicy;
  /** Told of each message dead-lettered (to log and count it). */
  onDeadLetter?: (letter: DeadLetter) => void;
  /** Told of a message whose outcome could not be recorded (it is tried again once its lease runs out). */
  onError?: (messageId: bigint, error: unknown) => void;
}

interface ClaimedRow {
  id: bigint;
  topic: string;
  payload: Record<string, unknown>;
  created_at: Date;
  attempts: number;
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text === '' ? 'delivery failed' : text).slice(0, 500);
}

/**
 * Publishes due outbox messages at least once. No transaction is held while the sink works (it may be a network
 * call): a batch is claimed with a lease in one short statement, each message is handed to the sink, and its
 * outcome is recorded in another. A crashed publisher's claims expire and another takes them over; a failed
 * delivery is tried again after a backoff, and after the policy's last attempt the message goes to the
 * dead-letter queue (`bursar dlq`). Each message is on its own: one that fails, or whose bookkeeping fails,
 * never keeps the others of the batch from being delivered. Several publishers may run at once.
 */
export async function publishOutbox(
  pool: Pool,
  sink: OutboxSink,
  options: PublishOptions = {},
): Promise<PublishResult> {
  const claimed = await pool.query<ClaimedRow>(
    `UPDATE payins.outbox o
        SET lease_until = now() + make_interval(secs => $2::float8 / 1000), attempts = o.attempts + 1
      WHERE o.id IN (SELECT id FROM payins.outbox
                      WHERE published_at IS NULL AND dead_lettered_at IS NULL AND next_attempt_at <= now()
                        AND (lease_until IS NULL OR lease_until < now())
                      ORDER BY next_attempt_at, id
                      LIMIT $1
                      FOR UPDATE SKIP LOCKED)
      RETURNING o.id, o.topic, o.payload, o.created_at, o.attempts`,
    [options.limit ?? 100, options.leaseMs ?? OUTBOX_LEASE_MS],
  );
  const result: PublishResult = { delivered: 0, failed: 0, deadLettered: 0 };
  const rows = [...claimed.rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const row of rows) {
    try {
      const outcome = await deliverOne(pool, sink, row, options);
      if (outcome === 'delivered') result.delivered++;
      else result.failed++;
      if (outcome === 'dead_lettered') result.deadLettered = (result.deadLettered ?? 0) + 1;
    } catch (error) {
      // Recording the outcome failed (the database went away…): the lease runs out and it is tried again.
      result.failed++;
      options.onError?.(row.id, error);
    }
  }
  if (result.deadLettered === 0) delete result.deadLettered;
  return result;
}

async function deliverOne(
  pool: Pool,
  sink: OutboxSink,
  row: ClaimedRow,
  options: PublishOptions,
): Promise<'delivered' | 'retry_scheduled' | 'dead_lettered'> {
  let failure: unknown;
  try {
    await sink({
      id: row.id,
      topic: row.topic,
      payload: row.payload,
      createdAt: row.created_at,
      attempt: row.attempts,
    });
  } catch (error) {
    failure = error ?? new Error('delivery failed');
  }
  if (failure === undefined) {
    await pool.query(
      'UPDATE payins.outbox SET published_at = now(), lease_until = NULL, last_error = NULL WHERE id = $1',
      [row.id],
    );
    return 'delivered';
  }
  const policy = options.retry ?? OUTBOX_RETRY_POLICY;
  const lastError = errorText(failure);
  if (canRetry(row.attempts, policy)) {
    const delayMs = retryDelayMs(row.attempts, policy);
    await pool.query(
      `UPDATE payins.outbox
          SET lease_until = NULL, last_error = $2,
              next_attempt_at = now() + make_interval(secs => $3::float8 / 1000)
        WHERE id = $1`,
      [row.id, lastError, delayMs],
    );
    return 'retry_scheduled';
  }
  const letter = await withTransaction(pool, async (client) => {
    await client.query(
      `UPDATE payins.outbox SET lease_until = NULL, last_error = $2, dead_lettered_at = now() WHERE id = $1`,
      [row.id, lastError],
    );
    return await insertDeadLetter(client, {
      queue: OUTBOX_DEAD_LETTER_QUEUE,
      subject: row.id.toString(),
      payload: { outboxId: row.id.toString(), topic: row.topic },
      reason: `delivery attempts exhausted: ${lastError}`.slice(0, 500),
      attempts: row.attempts,
    });
  });
  options.onDeadLetter?.(letter);
  return 'dead_lettered';
}

/**
 * The dead-letter replay of an outbox message: it gets a fresh set of attempts and is due at once, so the next
 * publish delivers it. Runs in the replay's transaction; no job is sent (the outbox is its own queue).
 */
export async function requeueOutboxMessage(client: PoolClient, letter: DeadLetter): Promise<'handled'> {
  const id = letter.payload.outboxId;
  if (typeof id === 'string' && /^\d+$/.test(id)) {
    await client.query(
      `UPDATE payins.outbox SET dead_lettered_at = NULL, attempts = 0, next_attempt_at = now(), lease_until = NULL
        WHERE id = $1 AND published_at IS NULL`,
      [id],
    );
  }
  return 'handled';
}
