import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPort } from '../support/ports.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { runBursar, spawnBursar, type Spawned } from '../support/process.ts';

let db: TestDatabase;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-ext-'));
let proc: Spawned | undefined;
let api = '';

beforeAll(async () => {
  db = await createTestDatabase();
  const port = await testPort();
  api = `http://127.0.0.1:${port}`;
  proc = spawnBursar(['start', '--role', 'api'], {
    DATABASE_URL: db.url,
    BURSAR_DATA_DIR: dataDir,
    PORT: String(port),
    BURSAR_API_KEY: 'external_db_key_0123456789',
  });
  await proc.waitForOutput('Press Ctrl-C to stop.', 90_000);
});

afterAll(async () => {
  if (proc && proc.child.exitCode === null) {
    proc.child.kill('SIGTERM');
    await proc.exited();
  }
  await db.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('with DATABASE_URL', { timeout: 120_000 }, () => {
  it('uses that database and starts nothing embedded', async () => {
    expect((await fetch(`${api}/readyz`)).status).toBe(200);
    expect(fs.existsSync(path.join(dataDir, 'pg'))).toBe(false);
    expect(proc?.output()).toContain('Database:     DATABASE_URL');
  });

  it('names its database connections after its role: bursar-api in pg_stat_activity', async () => {
    expect((await fetch(`${api}/readyz`)).status).toBe(200);
    const names = await db.pool.query<{ name: string }>(
      `SELECT DISTINCT application_name AS name FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    const found = names.rows.map((row) => row.name);
    expect(found).toContain('bursar-api');
    expect(found).not.toContain('bursar-server');
  });

  it('creates a scoped key with the CLI, and a revoked key stops working at once', async () => {
    const env = { DATABASE_URL: db.url, BURSAR_DATA_DIR: dataDir };
    const created = await runBursar(
      ['keys', 'create', '--scope', 'payments:read', '--name', 'reporting'],
      env,
    );
    expect(created.code, created.output).toBe(0);
    const secret = /secret: (bsk_\S+)/.exec(created.output)?.[1] ?? '';
    const id = /id:\s+(key_[0-9a-f]+)/.exec(created.output)?.[1] ?? '';
    expect(secret).not.toBe('');
    const headers = { authorization: `Bearer ${secret}` };
    expect((await fetch(`${api}/v1/sellers/nobody`, { headers })).status).toBe(404);
    // The secret is never stored: only its hash is.
    const stored = await db.pool.query(
      "SELECT 1 FROM core.api_keys k WHERE row_to_json(k)::text LIKE '%' || $1 || '%'",
      [secret.slice(4)],
    );
    expect(stored.rowCount).toBe(0);

    const revoked = await runBursar(['keys', 'revoke', id], env);
    expect(revoked.code, revoked.output).toBe(0);
    expect((await fetch(`${api}/v1/sellers/nobody`, { headers })).status).toBe(401);
    const again = await runBursar(['keys', 'revoke', 'key_doesnotexist'], env);
    expect(again.code).toBe(1);
  });

  it('shuts down cleanly on SIGTERM', async () => {
    proc?.child.kill('SIGTERM');
    expect(await proc?.exited()).toBe(0);
  });
});
