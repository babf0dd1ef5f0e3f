import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.ts';
import { migrate, withMigrationLock } from './migrate.ts';
import { applyGrants, serviceRoleName } from './roles.ts';
import { createPool, type Pool } from './pool.ts';

/** A migrated database and how to let go of it: the pool, and the embedded server when we own it. */
export interface Database {
  pool: Pool;
  url: string;
  embedded: EmbeddedPostgres | undefined;
  close(): Promise<void>;
}

/**
 * Applies pending migrations as the role `url` names, then (under the migration lock, so processes starting at
 * once do not race) the service role's grants: always for the embedded server, whose owner role runs this; with
 * `DATABASE_URL` when migrations were applied now (the role is then the owner; a service role has no pending
 * migrations to apply and no grants to give).
 */
export async function migrateAndGrant(
  url: string,
  serviceRole: string,
  options: { alwaysGrant: boolean },
): Promise<string[]> {
  const pool = createPool(url, { max: 1, applicationName: 'bursar-migrate' });
  try {
    const applied = await migrate(pool);
    if (options.alwaysGrant || applied.length > 0) {
      await withMigrationLock(pool, async (client) => {
        await applyGrants(client, serviceRole);
      });
    }
    return applied;
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/**
 * Opens the database the configuration names: `DATABASE_URL`, or else the embedded server under the data dir
 * (started, or shared when one is running already). Applies pending migrations: the embedded server's as its
 * owner role, before the pool connects as the service role (src/db/roles.ts).
 */
export async function openDatabase(
  config: Config,
  log: Logger,
  options: {
    role: 'server' | 'cli';
    poolSize?: number;
    /** The pool's `application_name` (what pg_stat_activity shows); `bursar-<role>` by default. */
    applicationName?: string;
  },
): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let url = config.databaseUrl;
  if (url === undefined) {
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      log,
      adoptOrphan: options.role === 'server',
    });
    url = embedded.url;
  }
  try {
    const applied = await migrateAndGrant(
      embedded?.ownerUrl ?? url,
      embedded?.serviceRole ?? serviceRoleName(),
      { alwaysGrant: embedded !== undefined },
    );
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
  } catch (error) {
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
  const pool = createPool(url, {
    max: options.poolSize ?? 10,
    applicationName: options.applicationName ?? `bursar-${options.role}`,
  });
  return {
    pool,
    url,
    embedded,
    close: async () => {
      await pool.end().catch(() => undefined);
      await embedded?.stop();
    },
  };
}
