import pg from 'pg';

/** PostgreSQL type OIDs whose text form we parse ourselves: money never passes through a JS number. */
const INT8_OID = 20;
const NUMERIC_OID = 1700;

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => BigInt(value);
    // NUMERIC stays a string: callers convert it with the money module when it is money.
    if (oid === NUMERIC_OID) return (value: string) => value;
    return pg.types.getTypeParser(oid, format ?? 'text');
  },
} as pg.CustomTypesConfig;

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
export type QueryResultRow = pg.QueryResultRow;

export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
}

/**
 * Runs `text` as a named (prepared) statement: parsed and planned once per connection, not on every call. `name`
 * must stand for this one text (a connection refuses a second text under a name it has prepared).
 */
export async function preparedQuery<R extends pg.QueryResultRow>(
  db: Queryable,
  name: string,
  text: string,
  values: unknown[],
): Promise<pg.QueryResult<R>> {
  // Every Queryable in Bursar is a pg Pool or client, which take a query config object.
  return await (db as unknown as pg.ClientBase).query<R>({ name, text, values });
}

export function createPool(
  connectionString: string,
  options: {
    max?: number;
    applicationName?: string;
    /**
     * Commits return before their WAL is flushed (`synchronous_commit = off`): only for a component whose writes
     * may be lost in a database crash without breaking anyone's guarantee (the sandbox PSP, see sandbox/launch.ts).
     */
    asyncCommit?: boolean;
  } = {},
): Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    types,
    application_name: options.applicationName ?? 'bursar',
    ...(options.asyncCommit === true ? { options: '-c synchronous_commit=off' } : {}),
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  // Nor a checked-out one (a transaction between statements, a held advisory lock) when the server dies under it:
  // without a listener its 'error' event would crash the process. Its next query fails instead, and the pool
  // discards it on release (it is no longer queryable).
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}

/** Whether an error is the database connection going away (the server restarting, a network cut). */
export function isConnectionLoss(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof code === 'string' ? code : '';
  if (text.startsWith('08') || ['57P01', '57P02', '57P03'].includes(text)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(text)) return true;
  return /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect/i.test(
    typeof message === 'string' ? message : '',
  );
}

/**
 * pg-boss 10 acknowledges a finished job (`complete`/`fail`) without awaiting it, so a database restart at that
 * moment surfaces as an unhandled rejection, which would end the process. Such a rejection (a lost connection) is
 * logged and ridden through: the job is not lost, it expires and is retried, and our jobs are idempotent. Any other
 * unhandled rejection still ends the process, as by default.
 */
export function rideThroughConnectionLoss(warn: (error: unknown) => void): void {
  process.on('unhandledRejection', (reason) => {
    if (isConnectionLoss(reason)) {
      warn(reason);
      return;
    }
    throw reason;
  });
}
