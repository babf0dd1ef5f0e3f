import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Pool } from './pool.ts';

/**
 * Plain SQL migrations, forward-only: `migrations/NNNN_name.sql`, applied in order, each in its own transaction,
 * under an advisory lock so that several processes starting at once apply each file exactly once. An applied
 * file must never change: its checksum is recorded and checked at every start.
 */

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/** Arbitrary but fixed: the advisory lock key for migrations ("bursar" in ASCII, truncated to int8 range). */
const LOCK_KEY = 0x62757273_6172n;

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

const BOOKKEEPING = `
CREATE TABLE IF NOT EXISTS public.bursar_migrations (
  version    text PRIMARY KEY,
  name       text NOT NULL,
  checksum   text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

export interface MigrationStatus {
  applied: string[];
  pending: string[];
  /** Applied files whose content changed since: a forward-only violation. */
  modified: string[];
}

export async function migrationStatus(
  pool: Pool,
  migrations: Migration[] = loadMigrations(),
): Promise<MigrationStatus> {
  const exists = await pool.query<{ present: boolean }>(
    "SELECT to_regclass('public.bursar_migrations') IS NOT NULL AS present",
  );
  const applied = new Map<string, string>();
  if (exists.rows[0]?.present) {
    const rows = await pool.query<{ version: string; checksum: string }>(
      'SELECT version, checksum FROM public.bursar_migrations',
    );
    for (const row of rows.rows) applied.set(row.version, row.checksum);
  }
  return {
    applied: [...applied.keys()].sort(),
    pending: migrations.filter((m) => !applied.has(m.version)).map((m) => `${m.version}_${m.name}`),
    modified: migrations
      .filter((m) => applied.has(m.version) && applied.get(m.version) !== m.checksum)
      .map((m) => `${m.version}_${m.name}`),
  };
}

export async function migrate(pool: Pool, migrations: Migration[] = loadMigrations()): Promise<string[]> {
  const client = await pool.connect();
  const appliedNow: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY.toString()]);
    await client.query(BOOKKEEPING);
    const done = await client.query<{ version: string; checksum: string }>(
      'SELECT version, checksum FROM public.bursar_migrations',
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
        await client.query(
          'INSERT INTO public.bursar_migrations (version, name, checksum) VALUES ($1, $2, $3)',
          [migration.version, migration.name, migration.checksum],
        );
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
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY.toString()]).catch(() => undefined);
    client.release();
  }
  return appliedNow;
}
