import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privilegeCheck } from '../../src/cli/doctor.ts';
import { loadConfig } from '../../src/config.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { createPool } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';

/**
 * Least privilege on the embedded database (issue 11, item 6): Bursar serves as a service role that the database
 * itself refuses changes to the ledger's entries and postings, the migrations run as an owner role, and nothing in
 * the data dir is readable by other accounts.
 */

let dataDir: string;
let db: Database;

async function refusal(pool: pg.Pool, sql: string): Promise<{ code?: string; message: string }> {
  try {
    await pool.query(sql);
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error(`expected "${sql}" to be refused`);
}

function walk(dir: string, out: { file: string; mode: number; isDir: boolean }[] = []): typeof out {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    const mode = fs.statSync(full).mode & 0o777;
    out.push({ file: full, mode, isDir: entry.isDirectory() });
    if (entry.isDirectory()) walk(full, out);
  }
  return out;
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-roles-'));
  const config = loadConfig({ BURSAR_DATA_DIR: dataDir });
  db = await openDatabase(config, createLogger('warn'), { role: 'cli', poolSize: 2 });
}, 120_000);

afterAll(async () => {
  await db.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('the embedded database serves as a service role', () => {
  it('connects as bursar_service, which is no superuser and owns none of the ledger', async () => {
    const who = await db.pool.query<{ who: string; su: boolean }>(
      'SELECT current_user AS who, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su',
    );
    expect(who.rows[0]).toEqual({ who: 'bursar_service', su: false });
    const owner = await db.pool.query<{ owner: string }>(
      "SELECT tableowner AS owner FROM pg_tables WHERE schemaname = 'ledger' AND tablename = 'postings'",
    );
    expect(owner.rows[0]?.owner).toBe('bursar_owner');
  });

  it('may read and insert ledger postings and entries but the database refuses UPDATE, DELETE and TRUNCATE by privilege', async () => {
    for (const [table, column] of [
      ['ledger.postings', 'entry_id'],
      ['ledger.entries', 'kind'],
    ] as const) {
      await db.pool.query(`SELECT count(*) FROM ${table}`);
      const ins = await db.pool.query<{ ok: boolean }>(`SELECT has_table_privilege($1, 'INSERT') AS ok`, [
        table,
      ]);
      expect(ins.rows[0]?.ok).toBe(true);
      for (const sql of [
        `UPDATE ${table} SET ${column} = ${column} WHERE false`,
        `DELETE FROM ${table} WHERE false`,
        `TRUNCATE ${table}`,
      ]) {
        const error = await refusal(db.pool, sql);
        // 42501 insufficient_privilege: refused before any trigger could run (a trigger raises P0001).
        expect(error.code, `${sql}: ${error.message}`).toBe('42501');
        expect(error.message).toMatch(/permission denied/);
      }
    }
  });

  it('cannot create, alter or drop in the product schemas', async () => {
    expect((await refusal(db.pool, 'CREATE TABLE ledger.evil (id int)')).code).toBe('42501');
    expect((await refusal(db.pool, 'ALTER TABLE ledger.postings DISABLE TRIGGER ALL')).code).toBe('42501');
    expect((await refusal(db.pool, 'DROP TABLE ledger.postings')).code).toBe('42501');
  });

  it('gets the grants on a table a later migration creates (the owner default privileges)', async () => {
    const embedded = db.embedded;
    if (embedded === undefined) throw new Error('expected the embedded server');
    const owner = createPool(embedded.ownerUrl, { max: 1 });
    try {
      await owner.query('CREATE TABLE payins.later_table (id bigserial PRIMARY KEY, note text)');
    } finally {
      await owner.end();
    }
    await db.pool.query("INSERT INTO payins.later_table (note) VALUES ('x')");
    await db.pool.query("UPDATE payins.later_table SET note = 'y'");
    await db.pool.query('DELETE FROM payins.later_table');
  });
});

describe('bursar doctor checks the service role for real', () => {
  it('passes the service role and fails a superuser connection', async () => {
    expect(await privilegeCheck(db.pool, 'bursar_service')).toMatchObject({ verdict: 'ok' });
    const embedded = db.embedded;
    if (embedded === undefined) throw new Error('expected the embedded server');
    const superuser = createPool(embedded.urlFor('bursar'), { max: 1 });
    try {
      const line = await privilegeCheck(superuser, 'bursar');
      expect(line.verdict).toBe('FAIL');
      expect(line.detail).toMatch(/is a superuser/);
      expect(line.detail).toMatch(/may UPDATE ledger\.entries/);
    } finally {
      await superuser.end();
    }
  });
});

describe('the connection to the embedded database', () => {
  it('goes through the Unix-domain socket in its own data dir, which still asks for the role password', async () => {
    const via = await db.pool.query<{ addr: string | null }>('SELECT inet_server_addr()::text AS addr');
    // No server address: not a TCP connection.
    expect(via.rows[0]?.addr).toBeNull();
    const socket = fs.readdirSync(path.join(dataDir, 'pg')).find((name) => /^\.s\.PGSQL\.\d+$/.test(name));
    expect(socket).toBeDefined();
    const url = new URL(db.url);
    const guess = new pg.Client({
      host: path.join(dataDir, 'pg'),
      port: Number(url.port),
      user: 'bursar_service',
      password: 'not-the-password',
      database: 'bursar',
    });
    guess.on('error', () => undefined);
    await expect(guess.connect()).rejects.toThrow(/password authentication failed/);
  });
});

describe('the data dir', () => {
  it('holds every file 0600 and every directory 0700, postgres.log and the role passwords included', () => {
    const entries = walk(dataDir);
    const names = entries.map((e) => path.basename(e.file));
    expect(names).toEqual(
      expect.arrayContaining(['postgres.log', 'pg-password', 'pg-owner-password', 'pg-service-password']),
    );
    const wrong = entries.filter((e) => e.mode !== (e.isDir ? 0o700 : 0o600));
    expect(wrong.map((e) => `${e.file} ${e.mode.toString(8)}`)).toEqual([]);
    // The data dir itself: 0700, or 0710 to the PostgreSQL account's group when we run as root; never "other".
    const own = fs.statSync(dataDir).mode & 0o777;
    expect(process.getuid?.() === 0 ? [0o700, 0o710] : [0o700]).toContain(own);
  });

  it('is tightened at start when an older version left a world-readable log', async () => {
    const log = path.join(dataDir, 'postgres.log');
    await db.close();
    fs.chmodSync(log, 0o644);
    fs.chmodSync(dataDir, 0o755);
    const again = await startEmbeddedPostgres({ dataDir, log: createLogger('warn') });
    await again.stop();
    expect(fs.statSync(log).mode & 0o777).toBe(0o600);
    expect(fs.statSync(dataDir).mode & 0o007).toBe(0);
  });
});
