import type { Pool, PoolClient, Queryable } from '../db/pool.ts';
import { sqlState, withTransaction } from '../db/tx.ts';
import { answerFromRecord, requestInProgress } from './decide.ts';
import {
  beginIdempotentRequest,
  completeIdempotentRequest,
  findIdempotencyRecord,
  type IdempotencyKeyRef,
} from './store.ts';

/** What a route answers: the stored reply, and whether it was replayed (`Idempotent-Replayed: true`). */
export interface OnceAnswer {
  status: number;
  body: unknown;
  replayed: boolean;
}

export interface OnceOptions {
  /** How long the key is kept (null: for ever). */
  ttlMs: number | null;
  /** How long the claim holds the key; the claim commits with the work, so no one ever sees it in progress. */
  leaseMs: number;
  /** The `idempotency_key_reused` message (the key seen with another request). */
  reusedMessage?: string;
}

/** The stored reply of an earlier request with this key; 429 while it is in progress; undefined when none. */
async function replayOf(
  db: Queryable,
  ref: IdempotencyKeyRef,
  fingerprint: Buffer,
  options: OnceOptions,
): Promise<OnceAnswer | undefined> {
  const record = await findIdempotencyRecord(db, ref);
  if (!record) return undefined;
  const answer =
    options.reusedMessage === undefined
      ? answerFromRecord(record, fingerprint)
      : answerFromRecord(record, fingerprint, options.reusedMessage);
  if (answer.outcome !== 'replay') {
    throw requestInProgress(answer.outcome === 'in_progress' ? answer.retryAfterSeconds : 1);
  }
  return { status: answer.status, body: answer.body, replayed: true };
}

/**
 * Runs a money-moving POST exactly once per Idempotency-Key, all in one transaction: replay the stored reply, or
 * claim the key, do `work` and store its reply. A concurrent request with the same key waits on the key's row and
 * then replays (or, when the other committed first, the unique key makes this one start again once and replay).
 * Refusals thrown by `work` roll the claim back, so a corrected retry is decided afresh.
 */
export async function idempotentOnce(
  pool: Pool,
  ref: IdempotencyKeyRef,
  fingerprint: Buffer,
  options: OnceOptions,
  work: (client: PoolClient) => Promise<{ status: number; body: unknown }>,
): Promise<OnceAnswer> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await withTransaction(pool, async (client) => {
        const prior = await replayOf(client, ref, fingerprint, options);
        if (prior) return prior;
        const claim = { fingerprint, ttlMs: options.ttlMs, leaseMs: options.leaseMs };
        if (!(await beginIdempotentRequest(client, ref, claim))) {
          const winner = await replayOf(client, ref, fingerprint, options);
          if (winner) return winner;
          throw requestInProgress(1);
        }
        const reply = await work(client);
        await completeIdempotentRequest(client, ref, reply);
        return { ...reply, replayed: false };
      });
    } catch (error) {
      if (sqlState(error) === '23505' && attempt === 0) continue;
      throw error;
    }
  }
}
