import type { EventEmitter } from 'node:events';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../log.ts';
import type { Pool, PoolClient, Queryable } from './pool.ts';

/** SQLSTATEs after which the whole transaction can safely run again. */
const RETRYABLE = new Set(['40001', '40P01']);

/** A deadlock or serialization failure: `withTransaction` runs the whole transaction again. */
export function isRetryableTxError(error: unknown): boolean {
  const state = sqlState(error);
  return state !== undefined && RETRYABLE.has(state);
}

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
  /** READ ONLY: the transaction may not write. */
  readOnly?: boolean;
  /**
   * A snapshot another open transaction exported (`pg_export_snapshot()`): this one sees exactly what that one
   * saw when it began (needs `repeatable read` or `serializable`).
   */
  snapshot?: string;
}

/** What `pg_export_snapshot()` returns: hexadecimal words joined by dashes (checked before it is put in SQL). */
const SNAPSHOT_ID = /^[0-9A-F]+(-[0-9A-F]+)+$/;

function beginStatement(options: TxOptions): string {
  const modes = [
    ...(options.isolation ? [`ISOLATION LEVEL ${options.isolation.toUpperCase()}`] : []),
    ...(options.readOnly === true ? ['READ ONLY'] : []),
  ];
  return modes.length === 0 ? 'BEGIN' : `BEGIN ${modes.join(' ')}`;
}

/** Emitted on the pool each time a transaction is run again after a deadlock or serialization failure. */
export const TX_RETRY_EVENT = 'bursar:transaction-retry';

export interface TxRetry {
  /** 1 for the first retry (the second run of the transaction). */
  attempt: number;
  sqlState: string;
  delayMs: number;
}

/** What runs once a transaction has committed; carried on its connection only while the transaction is open. */
const AFTER_COMMIT = Symbol('bursar.afterCommit');
const TX_POOL = Symbol('bursar.transactionPool');
type WithHooks = { [AFTER_COMMIT]?: Array<() => void>; [TX_POOL]?: Pool };

/** The pool of the `withTransaction` transaction `db` belongs to, or undefined outside one. */
export function transactionPool(db: Queryable): Pool | undefined {
  return (db as Queryable & WithHooks)[TX_POOL];
}

/**
 * Runs `hook` once the transaction `db` belongs to has committed — never when it rolls back, never twice when
 * it is retried. For effects that must not count an attempt that did not happen (metrics, in-process
 * notifications). Outside `withTransaction` (a pool, an autocommit connection) it runs at once.
 */
export function afterCommit(db: Queryable, hook: () => void): void {
  const hooks = (db as Queryable & WithHooks)[AFTER_COMMIT];
  if (hooks) hooks.push(hook);
  else runHook(hook);
}

let savepoints = 0;

/**
 * Runs `work` under a savepoint of the caller's `withTransaction` transaction: when it throws, its writes are
 * rolled back to the savepoint, the after-commit hooks it added are dropped (what they count did not happen), the
 * error is rethrown, and the transaction goes on for the rest of its work. The savepoint is not released: a
 * RELEASE is one more round trip, and the transaction's end releases it. For batches of independent items in one
 * transaction (one item failing alone); keep them to a few dozen per transaction (PostgreSQL caches 64
 * subtransactions per backend).
 */
export async function withSavepoint<T>(client: PoolClient, work: () => Promise<T>): Promise<T> {
  savepoints = (savepoints + 1) % 1_000_000;
  const name = `bursar_sp_${savepoints}`;
  const hooks = (client as PoolClient & WithHooks)[AFTER_COMMIT];
  const mark = hooks?.length ?? 0;
  await client.query(`SAVEPOINT ${name}`);
  try {
    return await work();
  } catch (error) {
    await client.query(`ROLLBACK TO SAVEPOINT ${name}`);
    hooks?.splice(mark);
    throw error;
  }
}

function runHook(hook: () => void): void {
  try {
    hook();
  } catch {
    // An after-commit effect (a metric) failing must not turn a committed transaction into an error.
  }
}

/**
 * Runs `work` in one transaction on one connection. Serialization failures and deadlocks are retried with a
 * short randomized pause, so callers never see them unless they keep happening; each retry is announced on the
 * pool (`TX_RETRY_EVENT`, logged and counted by `observeTransactionRetries`). Hooks given to `afterCommit`
 * during the successful run are run after its COMMIT; those of a rolled-back run are dropped.
 */
export async function withTransaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  options: TxOptions = {},
): Promise<T> {
  const retries = options.retries ?? 8;
  for (let attempt = 0; ; attempt++) {
    const client = await pool.connect();
    const holder = client as PoolClient & WithHooks;
    let released = false;
    try {
      await client.query(beginStatement(options));
      if (options.snapshot !== undefined) {
        if (!SNAPSHOT_ID.test(options.snapshot)) throw new Error('not a snapshot id');
        // SET TRANSACTION takes no parameters; the id was checked against the only shape PostgreSQL gives it.
        await client.query(`SET TRANSACTION SNAPSHOT '${options.snapshot}'`);
      }
      const hooks: Array<() => void> = [];
      holder[AFTER_COMMIT] = hooks;
      holder[TX_POOL] = pool;
      const result = await work(client);
      await client.query('COMMIT');
      delete holder[AFTER_COMMIT];
      delete holder[TX_POOL];
      for (const hook of hooks) runHook(hook);
      return result;
    } catch (error) {
      delete holder[AFTER_COMMIT];
      delete holder[TX_POOL];
      try {
        await client.query('ROLLBACK');
      } catch {
        // The connection is broken; release it as such so the pool drops it.
        client.release(true);
        released = true;
      }
      const state = sqlState(error);
      if (state !== undefined && RETRYABLE.has(state) && attempt < retries) {
        const delayMs = Math.floor(Math.random() * (5 + attempt * 10));
        const retry: TxRetry = { attempt: attempt + 1, sqlState: state, delayMs };
        pool.emit(TX_RETRY_EVENT, retry);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        continue;
      }
      throw error;
    } finally {
      if (!released) client.release();
    }
  }
}

export const TX_RETRIES_METRIC = 'bursar_db_transaction_retries_total';

/**
 * Logs (warn: attempt and SQLSTATE) and counts (`bursar_db_transaction_retries_total{sqlstate}`) every retried
 * transaction of `pool`. Called once per pool by the composition root.
 */
export function observeTransactionRetries(pool: Pool, log: Logger, registry: Registry): void {
  const existing = registry.getSingleMetric(TX_RETRIES_METRIC);
  const counter =
    existing instanceof Counter
      ? (existing as Counter<'sqlstate'>)
      : new Counter({
          name: TX_RETRIES_METRIC,
          help: 'Transactions run again after a deadlock (40P01) or serialization failure (40001).',
          labelNames: ['sqlstate'],
          registers: [registry],
        });
  // pg's Pool is an EventEmitter whose typings list only its own events.
  const events: EventEmitter = pool;
  events.on(TX_RETRY_EVENT, (retry: TxRetry) => {
    counter.inc({ sqlstate: retry.sqlState });
    log.warn(
      { attempt: retry.attempt, sqlState: retry.sqlState, delayMs: retry.delayMs },
      'transaction retried after a deadlock or serialization failure',
    );
  });
}
