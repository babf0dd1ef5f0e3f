import type { Pool, PoolClient, Queryable } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import type { JobSender } from './queue.ts';
import { randomHexId } from '../random-id.ts';

export interface DeadLetter {
  id: string;
  queue: string;
  subject: string;
  payload: Record<string, unknown>;
  reason: string;
  attempts: number;
  createdAt: Date;
  replayedAt: Date | null;
}

interface Row {
  id: string;
  queue: string;
  subject: string;
  payload: Record<string, unknown>;
  reason: string;
  attempts: number;
  created_at: Date;
  replayed_at: Date | null;
}

const COLUMNS = 'id, queue, subject, payload, reason, attempts, created_at, replayed_at';

function toDeadLetter(row: Row): DeadLetter {
  return {
    id: row.id,
    queue: row.queue,
    subject: row.subject,
    payload: row.payload,
    reason: row.reason,
    attempts: row.attempts,
    createdAt: row.created_at,
    replayedAt: row.replayed_at,
  };
}

/**
 * Puts a job in the dead-letter queue, in the caller's transaction. At most one open dead letter exists per
 * queue and subject: a second one for the same subject returns the first.
 */
export async function insertDeadLetter(
  db: Queryable,
  letter: {
    queue: string;
    subject: string;
    payload: Record<string, unknown>;
    reason: string;
    attempts: number;
  },
): Promise<DeadLetter> {
  const id = randomHexId('dl', 10);
  const inserted = await db.query<Row>(
    `INSERT INTO jobs.dead_letters (id, queue, subject, payload, reason, attempts) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (queue, subject) WHERE replayed_at IS NULL DO NOTHING RETURNING ${COLUMNS}`,
    [id, letter.queue, letter.subject, JSON.stringify(letter.payload), letter.reason, letter.attempts],
  );
  const row = inserted.rows[0];
  if (row) return toDeadLetter(row);
  const existing = await db.query<Row>(
    `SELECT ${COLUMNS} FROM jobs.dead_letters WHERE queue = $1 AND subject = $2 AND replayed_at IS NULL`,
    [letter.queue, letter.subject],
  );
  const first = existing.rows[0];
  if (!first) throw new Error(`dead letter for ${letter.queue}/${letter.subject} vanished`);
  return toDeadLetter(first);
}

export async function listDeadLetters(
  db: Queryable,
  options: { includeReplayed?: boolean } = {},
): Promise<DeadLetter[]> {
  const result = await db.query<Row>(
    `SELECT ${COLUMNS} FROM jobs.dead_letters ${options.includeReplayed ? '' : 'WHERE replayed_at IS NULL'}
     ORDER BY created_at, id`,
  );
  return result.rows.map(toDeadLetter);
}

export async function getDeadLetter(db: Queryable, id: string): Promise<DeadLetter | undefined> {
  const result = await db.query<Row>(`SELECT ${COLUMNS} FROM jobs.dead_letters WHERE id = $1`, [id]);
  const row = result.rows[0];
  return row ? toDeadLetter(row) : undefined;
}

/**
 * What a queue's owner does, in the replay's transaction, before the job is sent again (reset attempts…). A
 * hook that puts the work back itself (a queue that is a table, like the outbox) answers 'handled', and no job
 * is sent.
 */
export type ReplayHook = (client: PoolClient, letter: DeadLetter) => Promise<void | 'handled'>;

export type ReplayResult =
  { outcome: 'replayed'; letter: DeadLetter } | { outcome: 'already_replayed' | 'not_found' };

/**
 * Sends a dead letter's job again. The claim (`replayed_at` set where it was null), the owner's hook and the
 * new job commit together, so running the replay twice, even at once, sends one job.
 */
export async function replayDeadLetter(
  pool: Pool,
  sender: JobSender,
  id: string,
  hooks: Record<string, ReplayHook>,
): Promise<ReplayResult> {
  return await withTransaction(pool, async (client) => {
    const claimed = await client.query<Row>(
      `UPDATE jobs.dead_letters SET replayed_at = now() WHERE id = $1 AND replayed_at IS NULL RETURNING ${COLUMNS}`,
      [id],
    );
    const row = claimed.rows[0];
    if (!row) {
      const existing = await getDeadLetter(client, id);
      return { outcome: existing ? 'already_replayed' : 'not_found' };
    }
    const letter = toDeadLetter(row);
    const hook = hooks[letter.queue];
    const handled = hook ? await hook(client, letter) : undefined;
    if (handled !== 'handled') await sender.send(client, letter.queue, letter.payload);
    return { outcome: 'replayed', letter };
  });
}

/** Dead letters not replayed yet, by queue. */
export async function openDeadLetterCounts(db: Queryable): Promise<Record<string, number>> {
  const result = await db.query<{ queue: string; n: number }>(
    'SELECT queue, count(*)::int AS n FROM jobs.dead_letters WHERE replayed_at IS NULL GROUP BY queue',
  );
  return Object.fromEntries(result.rows.map((row) => [row.queue, row.n]));
}
