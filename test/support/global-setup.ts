import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createPool } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';
import { migrateSandbox } from '../../sandbox/migrate.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection string to the test cluster's `postgres` database; test files clone `bursar_template`. */
    pgAdminUrl: string;
    pgTemplate: string;
  }
}

let server: EmbeddedPostgres | undefined;
let dataDir: string | undefined;

/**
 * One embedded PostgreSQL for the whole run, in a throwaway directory. The schema (the product's and the
 * sandbox's) is migrated once into a template database; every test file gets its own database cloned from it (fast, and isolated).
 */
export async function setup(project: TestProject): Promise<void> {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-test-'));
  server = await startEmbeddedPostgres({
    dataDir,
    log: createLogger('warn'),
    durability: 'relaxed',
    settings: { max_connections: '400' },
  });
  const admin = createPool(server.urlFor('postgres'), { max: 1 });
  await admin.query('CREATE DATABASE bursar_template');
  await admin.end();
  const template = createPool(server.urlFor('bursar_template'), { max: 1 });
  await migrate(template);
  // The sandbox PSP's own chain too (it would apply it when it starts), so tests can share one database with it.
  await migrateSandbox(template);
  await template.end();
  project.provide('pgAdminUrl', server.urlFor('postgres'));
  project.provide('pgTemplate', 'bursar_template');
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}
