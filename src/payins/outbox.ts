import type { Pool } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';

export interface OutboxMessage {
  id: bigint;
  topic: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}

/** Where outbox messages go (outgoing webhooks, analytics…). It must tolerate a message delivered twice. */
export type OutboxSink = (message: OutboxMessage) => Promise<void>;

/**
 * Publishes unpublished outbox messages in order, at least once: a message is marked published only after the
 * sink took it, in a transaction that locks the batch (SKIP LOCKED lets several publishers share the work).
 */
export async function publishOutbox(pool: Pool, sink: OutboxSink, limit = 100): Promise<number> {
  return await withTransaction(pool, async (client) => {
    const batch = await client.query<{
      id: bigint;
      topic: string;
      payload: Record<string, unknown>;
      created_at: Date;
    }>(
      `SELECT id, topic, payload, created_at FROM payins.outbox WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    for (const row of batch.rows) {
      await sink({ id: row.id, topic: row.topic, payload: row.payload, createdAt: row.created_at });
      await client.query('UPDATE payins.outbox SET published_at = now() WHERE id = $1', [row.id]);
    }
    return batch.rows.length;
  });
}
