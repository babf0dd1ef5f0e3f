import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Pool, PoolClient } from './pool.ts';

/**
 * Plain SQL migrations, forward-only: `migrations/NNNN_name.sql`, applied in order, each in its own transaction,
 * under an advisory lock so that several processes starting at once apply each file exactly once. An applied
 * file must never change: its checksum is recorded and checked at every start.
 */

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/** Arbitrary but fixed: the advisory lock key for migrations ("bursar" in ASCII, truncated to int8 range). */
const LOCK_KEY = 0x62757273_6172n;

/**
 * A chain of migrations and its bookkeeping: the table that records what was applied (schema-qualified) and the
 * advisory lock that serialises migrators. The product has one chain (`migrations/`, `public.bursar_migrations`);
 * a program beside it (the sandbox, `sandbox/migrations/`) runs the same code on a chain of its own.
 */
export interface MigrationChain {
  /** `schema.table`; the schema is created when missing. */
  table: string;
  lockKey: bigint;
  /**
   * Versions the chain once had and no longer ships, by version, with the name they had: found applied in a
   * database, they are accepted (reported as `retired`, not as unknown); a file may never reuse their number.
   */
  retired?: Readonly<Record<string, string>>;
}

/**
 * The product's retired migrations. 0040_sandbox and 0051_sandbox_payout_provider created the sandbox PSP's
 * tables while the sandbox lived inside the product. The sandbox is now its own program with its own chain
 * (sandbox/migrations, table sandbox.schema_migrations) whose first migration creates the same tables IF NOT
 * EXISTS; a database that applied the two old files (a developer's `.bursar/`) keeps their rows in
 * public.bursar_migrations, and those rows must not stop it from starting.
 */
export const RETIRED_PRODUCT_MIGRATIONS: Readonly<Record<string, string>> = {
  '0040': 'sandbox',
  '0051': 'sandbox_payout_provider',
};

export const PRODUCT_CHAIN: MigrationChain = {
  table: 'public.bursar_migrations',
  lockKey: LOCK_KEY,
  retired: RETIRED_PRODUCT_MIGRATIONS,
};

function checkedTable(chain: MigrationChain): { table: string; schema: string } {
  const match = /^([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)$/.exec(chain.table);
  if (!match?.[1])
    throw new Error(`migration table must be schema.table in lower case, got "${chain.table}"`);
  return { table: chain.table, schema: match[1] };
}

export interface Migration {
  version: string;
  name: string;
  sql: string;
  checksum: string;
}

export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = fs.readFileSync(path.join(dir, file), 'utf8');
      return {
        version: file.slice(0, 4),
        name: file.slice(5, -4),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });
}

function bookkeeping(table: string, schema: string): string {
  // The product's table sits in `public`, which always exists (and CREATE SCHEMA would need a privilege the
  // product's chain never needed); another chain's schema is created with its bookkeeping.
  const createSchema = schema === 'public' ? '' : `CREATE SCHEMA IF NOT EXISTS ${schema};`;
  return `
${createSchema}
CREATE TABLE IF NOT EXISTS ${table} (
  version    text PRIMARY KEY,
  name       text NOT NULL,
  checksum   text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
  /** Applied files whose content changed since: a forward-only violation. */
  modified: string[];
  /** Retired versions found applied (accepted; see MigrationChain.retired), as `version_name`. */
  retired: string[];
}

export async function migrationStatus(
  pool: Pool,
  migrations: Migration[] = loadMigrations(),
  chain: MigrationChain = PRODUCT_CHAIN,
): Promise<MigrationStatus> {
  const { table } = checkedTable(chain);
  const exists = await pool.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [
    table,
  ]);
  const applied = new Map<string, string>();
  const retired: string[] = [];
  if (exists.rows[0]?.present) {
    const rows = await pool.query<{ version: string; name: string; checksum: string }>(
      `SELECT version, name, checksum FROM ${table}`,
    );
    for (const row of rows.rows) {
      if (chain.retired?.[row.version] === row.name) retired.push(`${row.version}_${row.name}`);
      else applied.set(row.version, row.checksum);
    }
  }
  return {
    applied: [...applied.keys()].sort(),
    retired: retired.sort(),
    pending: migrations.filter((m) => !applied.has(m.version)).map((m) => `${m.version}_${m.name}`),
    modified: migrations
      .filter((m) => applied.has(m.version) && applied.get(m.version) !== m.checksum)
      .map((m) => `${m.version}_${m.name}`),
  };
}

/** Runs `fn` on one connection holding the product chain's migration lock (grants after migrations, say). */
export async function withMigrationLock<T>(
  pool: Pool,
  fn: (client: PoolClient) => Promise<T>,
  chain: MigrationChain = PRODUCT_CHAIN,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [chain.lockKey.toString()]);
    return await fn(client);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [chain.lockKey.toString()]).catch(() => undefined);
    client.release();
  }
}

export async function migrate(
  pool: Pool,
  migrations: Migration[] = loadMigrations(),
  chain: MigrationChain = PRODUCT_CHAIN,
): Promise<string[]> {
  const { table, schema } = checkedTable(chain);
  for (const migration of migrations) {
    if (chain.retired?.[migration.version] !== undefined)
      throw new Error(
        `migration ${migration.version}_${migration.name} reuses the number of a retired migration; ` +
          'number it above the highest',
      );
  }
  const client = await pool.connect();
  const appliedNow: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [chain.lockKey.toString()]);
    // Only when missing: a role without CREATE (the service role, all migrations applied) still passes through.
    const present = await client.query<{ present: boolean }>(
      'SELECT to_regclass($1) IS NOT NULL AS present',
      [table],
    );
    if (present.rows[0]?.present !== true) await client.query(bookkeeping(table, schema));
    const done = await client.query<{ version: string; checksum: string }>(
      `SELECT version, checksum FROM ${table}`,
    );
    const applied = new Map(done.rows.map((row) => [row.version, row.checksum]));
    for (const migration of migrations) {
      const previous = applied.get(migration.version);
      if (previous !== undefined) {
        if (previous !== migration.checksum) {
          throw new Error(
            `migration ${migration.version}_${migration.name} changed after it was applied; migrations are ` +
              'forward-only: add a new file instead',
          );
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query(`INSERT INTO ${table} (version, name, checksum) VALUES ($1, $2, $3)`, [
          migration.version,
          migration.name,
          migration.checksum,
        ]);
        await client.query('COMMIT');
        appliedNow.push(`${migration.version}_${migration.name}`);
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(
          `migration ${migration.version}_${migration.name} failed: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [chain.lockKey.toString()]).catch(() => undefined);
    client.release();
  }
  return appliedNow;
}
