import path from 'node:path';
import { loadMigrations, migrate, type MigrationChain } from '../src/db/migrate.ts';
import type { Pool } from '../src/db/pool.ts';

/**
 * The sandbox's own migration chain: plain SQL files in `sandbox/migrations/`, recorded in
 * `sandbox.schema_migrations`, run by the product's migrator (same forward-only and checksum rules) under a lock
 * of their own. The product's chain knows nothing of these tables.
 */
export const SANDBOX_MIGRATIONS_DIR = path.join(import.meta.dirname, 'migrations');

export const SANDBOX_CHAIN: MigrationChain = {
  table: 'sandbox.schema_migrations',
  // "sandbx" in ASCII: any fixed key other than the product's.
  lockKey: 0x73616e64_6278n,
};

/** Applies the sandbox's pending migrations; returns the ones applied now (`0001_sandbox`, …). */
export async function migrateSandbox(pool: Pool): Promise<string[]> {
  return await migrate(pool, loadMigrations(SANDBOX_MIGRATIONS_DIR), SANDBOX_CHAIN);
}
