import type { Pool, PoolClient } from './pool.ts';

/** SQLSTATEs after which the whole transaction can safely run again. */
const RETRYABLE = new Set(['40001', '40P01']);

export function sqlState(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

export interface TxOptions {
  isolation?: 'read committed' | 'repeatable read' | 'serializable';
  /** How many times a serialization failure or deadlock is retried before it surfaces. */
  retries?: number;
}

/**
 * Runs `work` in one transaction on one connection. Serialization failures and deadlocks are retried with a
 * short randomized pause, so callers never see them unless they keep happening.
 */
export async function withTransaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  options: TxOptions = {},
): Promise<T> {
  const retries = options.retries ?? 8;
  for (let attempt = 0; ; attempt++) {
    const client = await pool.connect();
    let released = false;
    try {
      await client.query(
        options.isolation ? `BEGIN ISOLATION LEVEL ${options.isolation.toUpperCase()}` : 'BEGIN',
      );
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch {
        // The connection is broken; release it as such so the pool drops it.
        client.release(true);
        released = true;
      }
      const state = sqlState(error);
      if (state !== undefined && RETRYABLE.has(state) && attempt < retries) {
        await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * (5 + attempt * 10))));
        continue;
      }
      throw error;
    } finally {
      if (!released) client.release();
    }
  }
}
