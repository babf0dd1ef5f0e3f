import type { Pool, PoolClient, Queryable } from '../db/pool.ts';
import { notifyAfterCommit } from '../db/notify.ts';
import { withTransaction } from '../db/tx.ts';
import { insertDeadLetter, type DeadLetter } from '../jobs/dead-letters.ts';
import { PSP_EVENT_CHANNEL } from './runtime.ts';

/**
 * PSP events whose processing throws: each failure is recorded on the event (attempts, last error) and the event
 * waits a doubling delay before the loop tries it again (1 minute, 2, 4… at most 4 hours), so a PSP outage of a
 * few hours does not use its attempts up; after `PSP_EVENT_MAX_ATTEMPTS` (about 8 hours) the event is
 * dead-lettered (queue = the PSP event queue) and no loop picks it again until a person replays it with
 * `bursar dlq replay`.
 */
export const PSP_EVENT_MAX_ATTEMPTS = 10;
const RETRY_BASE_MS = 60_000;
const RETRY_MAX_MS = 4 * 60 * 60 * 1000;

export interface PspEventFailure {
  attempts: number;
  letter?: DeadLetter;
}

/** `recordPspEventFailureIn`, in a transaction of its own (after the event's own transaction rolled back). */
export async function recordPspEventFailure(
  pool: Pool,
  queue: string,
  eventRowId: bigint,
  error: unknown,
  maxAttempts = PSP_EVENT_MAX_ATTEMPTS,
): Promise<PspEventFailure> {
  return await withTransaction(pool, (client) =>
    recordPspEventFailureIn(client, queue, eventRowId, error, maxAttempts),
  );
}

/**
 * Records one failed attempt of an event in the caller's transaction (a batch's, after the event's savepoint was
 * rolled back): attempts, last error, the next attempt's time; after its last attempt, its dead letter.
 */
export async function recordPspEventFailureIn(
  db: Queryable,
  queue: string,
  eventRowId: bigint,
  error: unknown,
  maxAttempts = PSP_EVENT_MAX_ATTEMPTS,
): Promise<PspEventFailure> {
  const lastError = (error instanceof Error ? error.message : String(error)).slice(0, 500);
  const updated = await db.query<{ attempts: number }>(
    `UPDATE payins.psp_events SET attempts = attempts + 1, last_error = $2,
       next_attempt_at = now() + least($3::float8 * power(2, attempts), $4::float8) * interval '1 millisecond'
      WHERE id = $1 AND processed_at IS NULL AND dead_lettered_at IS NULL RETURNING attempts`,
    [eventRowId, lastError, RETRY_BASE_MS, RETRY_MAX_MS],
  );
  const attempts = updated.rows[0]?.attempts;
  if (attempts === undefined) return { attempts: 0 };
  if (attempts < maxAttempts) return { attempts };
  await db.query('UPDATE payins.psp_events SET dead_lettered_at = now() WHERE id = $1', [eventRowId]);
  const letter = await insertDeadLetter(db, {
    queue,
    subject: eventRowId.toString(),
    payload: { eventRowId: eventRowId.toString() },
    reason: `processing failed ${attempts} times: ${lastError}`.slice(0, 500),
    attempts,
  });
  return { attempts, letter };
}

/**
 * The dead-letter replay hook: the event gets a fresh set of attempts and is due at once. The events table is the
 * queue (no job to send): the workers' PSP event loops are woken once the replay commits.
 */
export async function requeueDeadPspEvent(client: PoolClient, letter: DeadLetter): Promise<'handled'> {
  const id = letter.payload.eventRowId;
  if (typeof id === 'string' && /^\d+$/.test(id)) {
    await client.query(
      `UPDATE payins.psp_events SET dead_lettered_at = NULL, attempts = 0, next_attempt_at = NULL
        WHERE id = $1 AND processed_at IS NULL`,
      [id],
    );
    await notifyAfterCommit(client, PSP_EVENT_CHANNEL);
  }
  return 'handled';
}
