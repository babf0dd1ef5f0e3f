import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { loadMigrations, migrate } from '../../src/db/migrate.ts';
import { createPool, type Pool, type PoolClient } from '../../src/db/pool.ts';

export interface TestDatabase {
  pool: Pool;
  url: string;
  name: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

function urlWithDatabase(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * A fresh database of its own migrated up to, not including, migration `version` (an upgrade's starting point, for
 * testing what that migration does to the data it meets); `migrate(pool, loadMigrations())` then applies the rest.
 */
export async function createDatabaseBefore(version: string): Promise<TestDatabase> {
  const db = await newDatabase('t_mig', undefined, 2);
  await migrate(
    db.pool,
    loadMigrations().filter((m) => m.version < version),
  );
  return db;
}

/** A fresh, fully migrated database of its own, cloned from the template the global setup prepared. */
export async function createTestDatabase(options: { poolSize?: number } = {}): Promise<TestDatabase> {
  return await newDatabase('t', inject('pgTemplate'), options.poolSize ?? 10);
}

/** Creates a database named `<prefix>_<random>` (from `template`, or empty) and a pool of `poolSize` to it. */
async function newDatabase(
  prefix: string,
  template: string | undefined,
  poolSize: number,
): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = createPool(adminUrl, { max: 1 });
  try {
    await admin.query(`CREATE DATABASE ${name}${template === undefined ? '' : ` TEMPLATE ${template}`}`);
  } finally {
    await admin.end();
  }
  const url = urlWithDatabase(adminUrl, name);
  const pool = createPool(url, { max: poolSize });
  return {
    pool,
    url,
    name,
    drop: async () => {
      await pool.end();
      const cleanup = createPool(adminUrl, { max: 1 });
      try {
        await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await cleanup.end();
      }
    },
  };
}

/**
 * This backend's index counters for the tables of `schema` (optionally one table): scans and entries read, by index.
 * PostgreSQL 15 publishes a backend's counters when it next goes idle; `pg_stat_force_next_flush` makes that the
 * next statement, and the snapshot is cleared so the read sees them.
 */
export async function indexCounters(
  client: PoolClient,
  schema: string,
  table?: string,
): Promise<Map<string, { scans: number; read: number }>> {
  await client.query('SELECT pg_stat_force_next_flush()');
  await client.query('SELECT pg_stat_clear_snapshot()');
  const rows = await client.query<{ name: string; scans: string; read: string }>(
    `SELECT indexrelname AS name, idx_scan::text AS scans, idx_tup_read::text AS read FROM pg_stat_user_indexes
      WHERE schemaname = $1 AND ($2::text IS NULL OR relname = $2)`,
    [schema, table ?? null],
  );
  return new Map(rows.rows.map((row) => [row.name, { scans: Number(row.scans), read: Number(row.read) }]));
}
