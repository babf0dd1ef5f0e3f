import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { migrateAndGrant } from '../../src/db/database.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createPool } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';
import { migrateSandbox } from '../../sandbox/migrate.ts';
import { copyDataDir } from './data-dir.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection string to the test cluster's `postgres` database; test files clone `bursar_template`. */
    pgAdminUrl: string;
    pgTemplate: string;
    /** A stopped embedded data dir, initialised and migrated as `bursar start` leaves it: copied by seededDataDir. */
    pgDataDirTemplate: string;
  }
}

interface Started {
  server: EmbeddedPostgres;
  pgAdminUrl: string;
  pgDataDirTemplate: string;
}

/**
 * What the projects that name this file (integration and e2e, vitest.config.ts) share: vitest loads a global
 * setup once per project, and both must get the one server, so it is kept on globalThis (one vitest process),
 * started by the first project's setup and stopped by the last teardown.
 */
interface Shared {
  ready: Promise<Started>;
  users: number;
  /** The directories made for the run, removed by the last teardown. */
  made: string[];
}
const SHARED = Symbol.for('bursar.test.global-setup');
const holder = globalThis as { [SHARED]?: Shared };

/**
 * A data dir as the first `bursar start` leaves it (initdb, the roles, the `bursar` database migrated), stopped.
 * Made by the product's own code, once per run: the test cluster below starts from a copy of it, and so does
 * every test that runs `bursar start` without testing the first start itself (test/support/data-dir.ts).
 */
async function makeDataDirTemplate(made: string[], log: ReturnType<typeof createLogger>): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-test-datadir-'));
  made.push(dir);
  const pg = await startEmbeddedPostgres({ dataDir: dir, log, durability: 'relaxed' });
  try {
    await migrateAndGrant(pg.ownerUrl, pg.serviceRole, { alwaysGrant: true });
  } finally {
    // A clean shutdown (a checkpoint): every copy starts without crash recovery.
    await pg.stop();
  }
  fs.rmSync(path.join(dir, 'postgres.log'), { force: true });
  return dir;
}

/**
 * One embedded PostgreSQL for the whole run, in a throwaway directory. The schema (the product's and the
 * sandbox's) is migrated once into a template database; every test file gets its own database cloned from it (fast, and isolated).
 */
async function start(made: string[]): Promise<Started> {
  const log = createLogger('warn');
  const pgDataDirTemplate = await makeDataDirTemplate(made, log);
  // The test cluster starts from a copy of that data dir too: initdb runs once per run.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-test-'));
  made.push(dataDir);
  copyDataDir(pgDataDirTemplate, dataDir);
  const server = await startEmbeddedPostgres({
    dataDir,
    log,
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
  return { server, pgAdminUrl: server.urlFor('postgres'), pgDataDirTemplate };
}

export async function setup(project: TestProject): Promise<void> {
  let shared = holder[SHARED];
  if (shared === undefined) {
    const made: string[] = [];
    shared = { ready: start(made), users: 0, made };
    holder[SHARED] = shared;
  }
  shared.users += 1;
  const started = await shared.ready;
  project.provide('pgAdminUrl', started.pgAdminUrl);
  project.provide('pgTemplate', 'bursar_template');
  project.provide('pgDataDirTemplate', started.pgDataDirTemplate);
}

export async function teardown(): Promise<void> {
  const shared = holder[SHARED];
  if (shared === undefined) return;
  shared.users -= 1;
  if (shared.users > 0) return;
  holder[SHARED] = undefined;
  const started = await shared.ready.catch(() => undefined);
  await started?.server.stop();
  for (const dir of shared.made) fs.rmSync(dir, { recursive: true, force: true });
}
