import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.ts';
import { migrateAndGrant } from '../src/db/database.ts';
import { createPool, type Pool } from '../src/db/pool.ts';
import { createLogger } from '../src/log.ts';
import { migrateSandbox } from '../sandbox/migrate.ts';

/**
 * Bursar as separate processes (`bursar start --role api|worker|sandbox`) on one embedded PostgreSQL of its own,
 * everything on 127.0.0.1 — what the pay-in benchmark and the chaos run drive. Every child and the database
 * server are killed when the cluster stops, and also when this process exits for any reason.
 */

export const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(REPO_ROOT, 'bin/bursar.mjs');
const READY_LINE = 'Press Ctrl-C to stop.';
const OUTPUT_KEEP_CHARS = 64 * 1024;
/** How long a process may take to print that it is ready (CHAOS_START_TIMEOUT_MS; generous, the run often shares a loaded machine). */
const START_TIMEOUT_MS = Number.parseInt(process.env.CHAOS_START_TIMEOUT_MS ?? '', 10) || 180_000;

export type ProcessRole = 'api' | 'worker' | 'sandbox' | 'all';

export interface BursarProcess {
  name: string;
  role: ProcessRole;
  /** The HTTP port (API port for `api`; the sandbox's for `sandbox`). */
  port: number;
  pid(): number | undefined;
  alive(): boolean;
  /** The last 64 KiB of its output. */
  output(): string;
  /** How many times it exited without being told to (kill, restart, stop): a process that did not ride through. */
  unplannedExits(): number;
  /** SIGKILL now; resolves once it is gone. */
  kill(): Promise<void>;
  /** Starts it again (same name, role, port and environment); resolves once it is ready. */
  restart(): Promise<void>;
  /** Asks it to stop (SIGTERM) and waits. */
  stop(): Promise<void>;
}

export interface Cluster {
  /** The service role's connection string (what Bursar's processes use). */
  databaseUrl: string;
  /** The superuser's connection string to the `postgres` database: for tools that create databases (pgbench). */
  adminUrl(): string;
  /** A pool for the harness's own queries and checks. */
  pool: Pool;
  apiKey: string;
  webhookSecret: string;
  sandboxPort: number;
  dataDir: string;
  /**
   * SIGKILLs PostgreSQL (the postmaster and every backend: its whole process group), waits `downMs`, and starts it
   * again on the same port and data (crash recovery from the WAL). Resolves once it accepts connections.
   */
  killDatabase(downMs: number): Promise<void>;
  /** Starts one process and waits until it prints that it is ready. */
  start(
    name: string,
    role: ProcessRole,
    extraEnv?: NodeJS.ProcessEnv,
    port?: number,
    onOutput?: (chunk: string) => void,
  ): Promise<BursarProcess>;
  processes(): BursarProcess[];
  /** The base environment every process gets. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Passed to every process (BURSAR_PAYINS_*, SANDBOX_*, STRIPE_TIMEOUT_MS…). */
  env?: NodeJS.ProcessEnv;
  durability?: 'full' | 'relaxed';
  /** The API port the sandbox sends its webhooks to (the first API process's port, usually). */
  webhookApiPort?: number;
  tmpDir?: string;
  log?: (line: string) => void;
  /** Extra PostgreSQL settings (`-c name=value`): the benchmarks preload pg_stat_statements this way. */
  pgSettings?: Record<string, string>;
}

const liveChildren = new Set<ChildProcess>();
const liveServers = new Set<string>();
let exitHookInstalled = false;

/** Synchronous last-resort cleanup: kills our children and asks our PostgreSQL servers to stop. */
function killEverythingNow(): void {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const pgDir of liveServers) {
    try {
      const pid = Number.parseInt(
        fs.readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '',
        10,
      );
      if (Number.isInteger(pid)) process.kill(pid, 'SIGINT');
    } catch {
      // already stopped
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killEverythingNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killEverythingNow();
      process.exit(130);
    });
  }
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  installExitHook();
  const log = options.log ?? (() => undefined);
  const dataDir = fs.mkdtempSync(path.join(options.tmpDir ?? os.tmpdir(), 'bursar-cluster-'));
  const durability = options.durability ?? 'full';
  let server: EmbeddedPostgres = await startEmbeddedPostgres({
    dataDir,
    log: createLogger('warn'),
    durability,
    ...(options.pgSettings === undefined ? {} : { settings: options.pgSettings }),
  });
  liveServers.add(path.join(dataDir, 'pg'));
  // The harness reads and writes as the service role, as Bursar's processes do.
  const pool = createPool(server.url, { max: 10, applicationName: 'bursar-harness' });
  const apiKey = `bsk_cluster_${randomBytes(16).toString('hex')}`;
  const webhookSecret = `whsec_${randomBytes(24).toString('base64url')}`;
  const sandboxPort = await freePort();
  const processes: BursarProcess[] = [];
  try {
    // The migrations as the owner role, then the service role's grants (what `bursar migrate` does).
    await migrateAndGrant(server.ownerUrl, server.serviceRole, { alwaysGrant: true });
    // The sandbox processes apply their own chain when they start; applied here, the harness's checks can read
    // the sandbox's tables before the first one is up.
    await migrateSandbox(pool);
  } catch (error) {
    await pool.end().catch(() => undefined);
    await server.stop().catch(() => undefined);
    throw error;
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: server.url,
    BURSAR_DATA_DIR: path.join(dataDir, 'app'),
    BURSAR_API_KEY: apiKey,
    STRIPE_WEBHOOK_SECRET: webhookSecret,
    SANDBOX_PORT: String(sandboxPort),
    // The harness is one client address driving the whole load on purpose: the API's rate limits would measure
    // themselves, not the money paths (they are tested in test/http/limits.test.ts).
    BURSAR_RATE_LIMIT_MONEY: '0',
    BURSAR_RATE_LIMIT_READS: '0',
    BURSAR_RATE_LIMIT_WEBHOOKS: '0',
    ...options.env,
  };

  const start = async (
    name: string,
    role: ProcessRole,
    extraEnv: NodeJS.ProcessEnv = {},
    givenPort?: number,
    onOutput?: (chunk: string) => void,
  ): Promise<BursarProcess> => {
    const port = role === 'sandbox' ? sandboxPort : (givenPort ?? (await freePort()));
    // The sandbox sends its webhooks to the API at PORT; other roles listen there.
    const portEnv = role === 'sandbox' ? String(options.webhookApiPort ?? port) : String(port);
    let child: ChildProcess | undefined;
    let text = '';
    let unplanned = 0;
    let told = false;
    const launch = async (): Promise<void> => {
      text = '';
      const spawned = spawn(process.execPath, [BIN, 'start', '--role', role], {
        cwd: REPO_ROOT,
        env: { ...env, PORT: portEnv, ...extraEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = spawned;
      told = false;
      liveChildren.add(spawned);
      spawned.on('exit', (code, signal) => {
        liveChildren.delete(spawned);
        if (!told) {
          unplanned++;
          log(`${name} (${role}) exited by itself (${String(code ?? signal)}): ${text.slice(-1500)}`);
        }
      });
      const onData = (chunk: Buffer) => {
        const piece = chunk.toString('utf8');
        onOutput?.(piece);
        text += piece;
        if (text.length > OUTPUT_KEEP_CHARS * 2) text = text.slice(-OUTPUT_KEEP_CHARS);
      };
      spawned.stdout?.on('data', onData);
      spawned.stderr?.on('data', onData);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          finish();
          reject(
            new Error(
              `${name} (${role}) did not start in ${START_TIMEOUT_MS / 1000} s; output:\n${text.slice(-4000)}`,
            ),
          );
        }, START_TIMEOUT_MS);
        const check = () => {
          if (text.includes(READY_LINE)) {
            finish();
            resolve();
          }
        };
        const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
          finish();
          reject(
            new Error(`${name} (${role}) exited (${String(code ?? signal)}) at start:\n${text.slice(-4000)}`),
          );
        };
        const finish = () => {
          clearTimeout(timer);
          spawned.stdout?.off('data', check);
          spawned.stderr?.off('data', check);
          spawned.off('exit', onExit);
        };
        spawned.stdout?.on('data', check);
        spawned.stderr?.on('data', check);
        spawned.on('exit', onExit);
        check();
      });
    };
    const waitExit = async (target: ChildProcess | undefined): Promise<void> => {
      if (target === undefined || target.exitCode !== null || target.signalCode !== null) return;
      await new Promise<void>((resolve) => target.once('exit', () => resolve()));
    };
    await launch();
    log(`started ${name} (${role}) pid ${String(child?.pid)} port ${port}`);
    const proc: BursarProcess = {
      name,
      role,
      port,
      pid: () => child?.pid,
      alive: () => child !== undefined && child.exitCode === null && child.signalCode === null,
      output: () => text,
      unplannedExits: () => unplanned,
      kill: async () => {
        const target = child;
        told = true;
        target?.kill('SIGKILL');
        await waitExit(target);
      },
      restart: async () => {
        await proc.kill();
        await launch();
      },
      stop: async () => {
        const target = child;
        told = true;
        target?.kill('SIGTERM');
        const timer = setTimeout(() => target?.kill('SIGKILL'), 15_000);
        await waitExit(target);
        clearTimeout(timer);
      },
    };
    processes.push(proc);
    return proc;
  };

  const killDatabase = async (downMs: number): Promise<void> => {
    const pgDir = path.join(dataDir, 'pg');
    const pid = Number.parseInt(
      fs.readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '',
      10,
    );
    if (!Number.isInteger(pid)) throw new Error('no postmaster.pid to kill');
    // Started detached, PostgreSQL leads its own process group: kill it all at once, as a crash would.
    process.kill(-pid, 'SIGKILL');
    const groupAlive = () => {
      try {
        process.kill(-pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    while (groupAlive()) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, downMs));
    server = await startEmbeddedPostgres({
      dataDir,
      log: createLogger('warn'),
      durability,
      port: server.port,
      ...(options.pgSettings === undefined ? {} : { settings: options.pgSettings }),
    });
  };

  return {
    databaseUrl: server.url,
    adminUrl: () => server.urlFor('postgres'),
    killDatabase,
    pool,
    apiKey,
    webhookSecret,
    sandboxPort,
    dataDir,
    env,
    start,
    processes: () => [...processes],
    stop: async () => {
      await Promise.all(processes.map((proc) => proc.kill().catch(() => undefined)));
      await pool.end().catch(() => undefined);
      await server.stop().catch(() => undefined);
      liveServers.delete(path.join(dataDir, 'pg'));
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
