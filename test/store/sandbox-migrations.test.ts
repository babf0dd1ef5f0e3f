import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import {
  loadMigrations,
  migrate,
  migrationStatus,
  PRODUCT_CHAIN,
  type Migration,
} from '../../src/db/migrate.ts';
import { createPool, type Pool } from '../../src/db/pool.ts';
import { migrateSandbox, SANDBOX_MIGRATIONS_DIR } from '../../sandbox/migrate.ts';

/**
 * The sandbox's tables left the product's migration chain for a chain of the sandbox's own. A new database gets
 * them only from the sandbox; a database that applied the product's old 0040/0051 files still starts, and the
 * sandbox's first migration finds its tables there and keeps their rows.
 */

/** Copies of the two files as the product shipped them, before they were retired. */
const RETIRED_DIR = path.resolve(import.meta.dirname, '../fixtures/retired-migrations');

/** Every migration of the sandbox's chain, in order (0001_sandbox first). */
const SANDBOX_MIGRATION_NAMES = loadMigrations(SANDBOX_MIGRATIONS_DIR).map((m) => `${m.version}_${m.name}`);

const opened: Array<{ pool: Pool; name: string }> = [];

/** An empty database (not the migrated template), dropped after the test. */
async function emptyDatabase(): Promise<Pool> {
  const adminUrl = inject('pgAdminUrl');
  const name = `t_empty_${randomBytes(6).toString('hex')}`;
  const admin = createPool(adminUrl, { max: 1 });
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pool = createPool(url.toString(), { max: 4 });
  opened.push({ pool, name });
  return pool;
}

afterEach(async () => {
  for (const { pool, name } of opened.splice(0)) {
    await pool.end();
    const admin = createPool(inject('pgAdminUrl'), { max: 1 });
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }
});

async function tableExists(pool: Pool, table: string): Promise<boolean> {
  const result = await pool.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [
    table,
  ]);
  return result.rows[0]?.present === true;
}

/** The product's chain as it was before the sandbox left it: today's files plus the two retired ones. */
function oldProductChain(): Migration[] {
  return [...loadMigrations(), ...loadMigrations(RETIRED_DIR)].sort((a, b) =>
    a.version.localeCompare(b.version),
  );
}

describe('the sandbox’s own migration chain', () => {
  it('on a new database: the product chain creates no sandbox table; the sandbox chain creates them, in sandbox.schema_migrations', async () => {
    const pool = await emptyDatabase();
    const product = await migrate(pool);
    expect(product.length).toBe(loadMigrations().length);
    expect(product.some((name) => name.includes('sandbox'))).toBe(false);
    expect(await tableExists(pool, 'sandbox.objects')).toBe(false);

    expect(await migrateSandbox(pool)).toEqual(SANDBOX_MIGRATION_NAMES);
    for (const table of [
      'sandbox.objects',
      'sandbox.idempotency_keys',
      'sandbox.webhook_deliveries',
      'sandbox.state',
      'sandbox.payout_transfers',
    ])
      expect(await tableExists(pool, table), table).toBe(true);
    const sandboxRows = await pool.query<{ version: string }>(
      'SELECT version FROM sandbox.schema_migrations ORDER BY version',
    );
    expect(sandboxRows.rows.map((row) => row.version)).toEqual(
      loadMigrations(SANDBOX_MIGRATIONS_DIR).map((m) => m.version),
    );
    const productRows = await pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM public.bursar_migrations WHERE version IN ('0040', '0051')",
    );
    expect(Number(productRows.rows[0]?.n)).toBe(0);
    expect(await migrateSandbox(pool)).toEqual([]);
    expect(await migrate(pool)).toEqual([]);
  });

  it('on a database that applied the old chain (0040 and 0051 in the product’s): the product starts, and the sandbox keeps its rows', async () => {
    const pool = await emptyDatabase();
    // The old migrator knew no retired numbers.
    const old = await migrate(pool, oldProductChain(), { ...PRODUCT_CHAIN, retired: {} });
    expect(old).toContain('0040_sandbox');
    expect(old).toContain('0051_sandbox_payout_provider');
    await pool.query(
      `INSERT INTO sandbox.objects (id, object, created, data) VALUES ('pi_kept', 'payment_intent', 1, '{}')`,
    );

    // The new product chain: the two retired rows are accepted, nothing is pending, nothing is applied again.
    expect(await migrate(pool)).toEqual([]);
    const status = await migrationStatus(pool);
    expect(status.pending).toEqual([]);
    expect(status.modified).toEqual([]);
    expect(status.retired).toEqual(['0040_sandbox', '0051_sandbox_payout_provider']);
    expect(status.applied.length).toBe(loadMigrations().length);

    // The sandbox's first migration finds its tables (IF NOT EXISTS) and records itself in its own table.
    expect(await migrateSandbox(pool)).toEqual(SANDBOX_MIGRATION_NAMES);
    const kept = await pool.query<{ id: string }>('SELECT id FROM sandbox.objects');
    expect(kept.rows.map((row) => row.id)).toEqual(['pi_kept']);
    expect(await migrateSandbox(pool)).toEqual([]);
  });

  it('refuses a product migration that reuses a retired number', async () => {
    const pool = await emptyDatabase();
    const [retired] = loadMigrations(RETIRED_DIR);
    if (!retired) throw new Error('no retired fixture');
    await expect(migrate(pool, [...loadMigrations(), retired])).rejects.toThrow(/retired migration/);
  });
});
