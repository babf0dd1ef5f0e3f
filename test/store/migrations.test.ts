import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate, migrationStatus } from '../../src/db/migrate.ts';
import { createPool } from '../../src/db/pool.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

describe('migrations on the embedded PostgreSQL', () => {
  it('are all applied to a fresh database, and applying again changes nothing', async () => {
    const status = await migrationStatus(db.pool);
    expect(status.pending).toEqual([]);
    expect(status.applied.length).toBe(loadMigrations().length);
    expect(await migrate(db.pool)).toEqual([]);
  });

  it('refuse to run when an applied file was edited (forward-only)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-mig-'));
    for (const m of loadMigrations()) fs.writeFileSync(path.join(dir, `${m.version}_${m.name}.sql`), m.sql);
    const first = loadMigrations(dir)[0];
    if (!first) throw new Error('no migrations');
    fs.appendFileSync(path.join(dir, `${first.version}_${first.name}.sql`), '\n-- edited\n');
    await expect(migrate(db.pool, loadMigrations(dir))).rejects.toThrow(/forward-only/);
    expect((await migrationStatus(db.pool, loadMigrations(dir))).modified).toEqual([
      `${first.version}_${first.name}`,
    ]);
  });

  it('apply each file exactly once when several processes migrate at the same time', async () => {
    const fresh = await createTestDatabase();
    try {
      // A probe migration set: four concurrent migrators, one application of the file.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-mig-'));
      fs.writeFileSync(
        path.join(dir, '9001_probe.sql'),
        'CREATE SCHEMA probe; CREATE TABLE probe.t (x int);',
      );
      const results = await Promise.all(
        Array.from({ length: 4 }, () => migrate(fresh.pool, loadMigrations(dir))),
      );
      expect(results.flat()).toEqual(['9001_probe']);
    } finally {
      await fresh.drop();
    }
  });
});

/** The machine's own PostgreSQL 15, when one listens on 127.0.0.1:5432 (CI machines have it; laptops may not). */
async function systemPostgresUrl(): Promise<string | undefined> {
  const url = process.env.BURSAR_TEST_PG15_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return url;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('migrations on the machine’s PostgreSQL 15', () => {
  it('apply cleanly to a new database there, where one is reachable', async (context) => {
    const adminUrl = await systemPostgresUrl();
    if (!adminUrl) {
      context.skip();
      return;
    }
    const admin = createPool(adminUrl, { max: 1 });
    const name = `bursar_mig_${randomBytes(4).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const pool = createPool(url.toString(), { max: 2 });
    try {
      const version = await pool.query<{ server_version_num: string }>('SHOW server_version_num');
      expect(Number.parseInt(version.rows[0]?.server_version_num ?? '0', 10)).toBeGreaterThanOrEqual(150000);
      const applied = await migrate(pool);
      expect(applied.length).toBe(loadMigrations().length);
      expect((await migrationStatus(pool)).pending).toEqual([]);
    } finally {
      await pool.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});
