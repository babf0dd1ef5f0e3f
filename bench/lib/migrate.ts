import { createPool, type Pool } from '../../src/db/pool.ts';
import { migrateAndGrant } from '../../src/db/database.ts';
import { DEFAULT_SERVICE_ROLE } from '../../src/db/roles.ts';

/**
 * Migrates a benchmark's own embedded database as its owner role and grants the service role what it needs, as
 * `bursar start` does: the benchmark then connects as the service role (docs/security.md, "Database roles").
 */
export async function migrateAsOwner(ownerUrl: string): Promise<void> {
  await migrateAndGrant(ownerUrl, DEFAULT_SERVICE_ROLE, { alwaysGrant: true });
}

/**
 * A one-connection pool as the cluster's superuser on Bursar's database, for bulk loads that switch triggers off
 * (`session_replication_role = replica`), which the service role may not do. Close it when the load is done.
 */
export function superuserPool(server: { urlFor(database: string): string }): Pool {
  return createPool(server.urlFor('bursar'), { max: 1, applicationName: 'bursar-bench-load' });
}
