import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.ts';
import { migrate } from './migrate.ts';
import { createPool, type Pool } from './pool.ts';

/** A migrated database and how to let go of it: the pool, and the embedded server when we own it. */
export interface Database {
  pool: Pool;
  url: string;
  embedded: EmbeddedPostgres | undefined;
  close(): Promise<void>;
}

/**
 * Opens the database the configuration names: `DATABASE_URL`, or else the embedded server under the data dir
 * (started, or shared when one is running already). Applies pending migrations.
 */
export async function openDatabase(
  config: Config,
  log: Logger,
  options: { role: 'server' | 'cli'; poolSize?: number },
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
  const pool = createPool(url, { max: options.poolSize ?? 10, applicationName: `bursar-${options.role}` });
  try {
    const applied = await migrate(pool);
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
  } catch (error) {
    await pool.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
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
