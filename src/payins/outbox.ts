import type { Pool } from '../db/pool.ts';
import { retryDelayMs, type RetryPolicy } from '../jobs/backoff.ts';

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

/** Retries of a failed delivery: never given up on, but at most an hour apart. */
export const OUTBOX_RETRY_POLICY: RetryPolicy = {
  maxAttempts: Number.MAX_SAFE_INTEGER,
  baseDelayMs: 1_000,
  maxDelayMs: 60 * 60 * 1000,
  jitterRatio: 0.5,
};

/** How long a claimed message is left alone by other publishers; longer than any one delivery may take. */
export const OUTBOX_LEASE_MS = 60_000;

export interface PublishResult {
  delivered: number;
  failed: number;
}

/**
 * Publishes due outbox messages at least once. No transaction is held while the sink works (it may be a network
 * call): a batch is claimed with a lease in one short statement, each message is handed to the sink, and its
 * outcome is recorded in another. A crashed publisher's claims expire and another takes them over; a failed
 * delivery is tried again after a backoff. Several publishers may run at once.
 */
export async function publishOutbox(
  pool: Pool,
  sink: OutboxSink,
  options: { limit?: number; leaseMs?: number; retry?: RetryPolicy } = {},
): Promise<PublishResult> {
  const claimed = await pool.query<{
    id: bigint;
    topic: string;
    payload: Record<string, unknown>;
    created_at: Date;
    attempts: number;
  }>(
    `UPDATE payins.outbox o
        SET lease_until = now() + make_interval(secs => $2::float8 / 1000), attempts = o.attempts + 1
      WHERE o.id IN (SELECT id FROM payins.outbox
                      WHERE published_at IS NULL AND next_attempt_at <= now()
                        AND (lease_until IS NULL OR lease_until < now())
                      ORDER BY next_attempt_at, id
                      LIMIT $1
                      FOR UPDATE SKIP LOCKED)
      RETURNING o.id, o.topic, o.payload, o.created_at, o.attempts`,
    [options.limit ?? 100, options.leaseMs ?? OUTBOX_LEASE_MS],
  );
  const result: PublishResult = { delivered: 0, failed: 0 };
  const rows = [...claimed.rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const row of rows) {
    try {
      await sink({
        id: row.id,
        topic: row.topic,
        payload: row.payload,
        createdAt: row.created_at,
        attempt: row.attempts,
      });
      await pool.query(
        'UPDATE payins.outbox SET published_at = now(), lease_until = NULL, last_error = NULL WHERE id = $1',
        [row.id],
      );
      result.delivered++;
    } catch (error) {
      const delayMs = retryDelayMs(row.attempts, options.retry ?? OUTBOX_RETRY_POLICY);
      await pool.query(
        `UPDATE payins.outbox
            SET lease_until = NULL, last_error = $2,
                next_attempt_at = now() + make_interval(secs => $3::float8 / 1000)
          WHERE id = $1`,
        [row.id, (error as Error).message.slice(0, 500), delayMs],
      );
      result.failed++;
    }
  }
  return result;
}
