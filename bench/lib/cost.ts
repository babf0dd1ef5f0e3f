/**
 * What one unit of work costs: CPU milliseconds per process (from /proc/<pid>/stat, before and after), and the
 * database's transactions, commits, WAL flushes and statements (round trips) per unit, from pg_stat_database,
 * pg_stat_wal and pg_stat_statements (when the server preloads it; see `PG_STAT_SETTINGS`).
 *
 *   const meter = new CostMeter(pgPool, { api: apiPid, worker: workerPid, sandbox: sandboxPid }, postmasterPid, 'bursar');
 *   const before = await meter.snapshot();
 *   ... the work ...
 *   const cost = meter.perUnit(before, await meter.snapshot(), units);
 *
 * PostgreSQL's CPU is the postmaster's and every child's of it (backends, WAL writer, checkpointer…) plus what its
 * reaped children used (the postmaster's cutime/cstime): backends that ended meanwhile count. (Until 2026-12-03 it
 * counted the postmaster's process group, which holds the postmaster alone — each child of PostgreSQL gets a group
 * of its own — so the PostgreSQL CPU of earlier runs in bench/results/history.jsonl is only the postmaster's and the
 * backends that ended during the phase.)
 *
 * PostgreSQL's CPU is also split by client: each backend of the measured database is named by its connection's
 * `application_name` (bursar-server, bursar-sandbox, bursar-jobs…), and its CPU is counted under that name; what is
 * left (auxiliary processes, backends that began and ended within the window) is `other`.
 */
import fs from 'node:fs';
import os from 'node:os';
import type pg from 'pg';

/** Settings that make the statement counts available (the embedded server takes them as `-c` flags). */
export const PG_STAT_SETTINGS: Record<string, string> = {
  shared_preload_libraries: 'pg_stat_statements',
  'pg_stat_statements.track': 'all',
  'pg_stat_statements.max': '10000',
};

/** Clock ticks per second of /proc's CPU times (sysconf(_SC_CLK_TCK): 100 on Linux). */
const TICKS_PER_SEC = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  /** utime + stime, in ticks. */
  self: number;
  /** cutime + cstime (reaped children), in ticks. */
  children: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: the fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const num = (index: number) => Number.parseInt(fields[index] ?? '0', 10);
    // After the name: state(0) ppid(1) pgrp(2) … utime(11) stime(12) cutime(13) cstime(14).
    return { pid, ppid: num(1), pgrp: num(2), self: num(11) + num(12), children: num(13) + num(14) };
  } catch {
    return undefined;
  }
}

/** CPU ticks of one process and its reaped children. */
function processTicks(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const stat = readStat(pid);
  return stat === undefined ? 0 : stat.self + stat.children;
}

/**
 * CPU ticks of the postmaster and its children (every live backend and auxiliary process, which PostgreSQL puts
 * in process groups of their own, so the postmaster's group holds only itself), plus the postmaster's reaped
 * children (backends that ended meanwhile).
 */
function serverTicks(postmaster: number): number {
  let total = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number.parseInt(entry, 10));
    if (stat === undefined) continue;
    if (stat.pid === postmaster) total += stat.self + stat.children;
    else if (stat.ppid === postmaster) total += stat.self;
  }
  return total;
}

export interface DbCounters {
  commits: number;
  rollbacks: number;
  walSyncs: number;
  walBytes: number;
  /** Statements executed (each one round trip from the client), or undefined without pg_stat_statements. */
  statements: number | undefined;
}

export interface CostSnapshot {
  atMs: number;
  ticks: Record<string, number>;
  db: DbCounters;
  /** The database's backends: CPU ticks and application_name, by pid. */
  backends: Map<number, { client: string; ticks: number }>;
}

export interface CostPerUnit {
  /** CPU ms per unit, by process name (and `postgres`, and `total`). */
  cpuMs: Record<string, number>;
  commits: number;
  walSyncs: number;
  walKb: number;
  statements: number | undefined;
  /** PostgreSQL's CPU ms per unit by client (application_name), and `other`: the rest of `cpuMs.postgres`. */
  postgresByClient: Record<string, number>;
  /** All cores' CPU per second divided by the CPU of one unit: the most units per second this machine carries. */
  ceilingPerSec: number;
  /** The share of the machine's CPU used during the window (1 = every core busy all the time). */
  cpuBusy: number;
}

export class CostMeter {
  constructor(
    private readonly admin: pg.Pool,
    private readonly pids: Record<string, () => number | undefined>,
    private readonly postmasterPid: () => number | undefined,
    private readonly database: string,
  ) {}

  /** Whether pg_stat_statements is there (creates the extension in the admin database when it is preloaded). */
  async enableStatements(): Promise<boolean> {
    try {
      await this.admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      await this.admin.query('SELECT count(*) FROM pg_stat_statements');
      return true;
    } catch {
      return false;
    }
  }

  private async dbCounters(): Promise<DbCounters> {
    const db = await this.admin.query<{ xact_commit: string; xact_rollback: string }>(
      'SELECT xact_commit::text, xact_rollback::text FROM pg_stat_database WHERE datname = $1',
      [this.database],
    );
    const wal = await this.admin.query<{ wal_sync: string; wal_bytes: string }>(
      'SELECT wal_sync::text, wal_bytes::text FROM pg_stat_wal',
    );
    let statements: number | undefined;
    try {
      // Counted from the last reset (the per-phase delta is taken after it).
      const calls = await this.admin.query<{ calls: string | null }>(
        `SELECT sum(s.calls)::text AS calls FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
          WHERE d.datname = $1`,
        [this.database],
      );
      statements = Number(calls.rows[0]?.calls ?? 0);
    } catch {
      statements = undefined;
    }
    return {
      commits: Number(db.rows[0]?.xact_commit ?? 0),
      rollbacks: Number(db.rows[0]?.xact_rollback ?? 0),
      walSyncs: Number(wal.rows[0]?.wal_sync ?? 0),
      walBytes: Number(wal.rows[0]?.wal_bytes ?? 0),
      statements,
    };
  }

  /** `settleMs`: how long to let the backends' counters land first (0 to read the CPU times now). */
  async snapshot(settleMs = 1_100): Promise<CostSnapshot> {
    // Backends publish their counters when idle, at most once a second: let the last ones land.
    if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
    const ticks: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) ticks[name] = processTicks(pid());
    const postmaster = this.postmasterPid();
    ticks.postgres = postmaster === undefined ? 0 : serverTicks(postmaster);
    return { atMs: Date.now(), ticks, db: await this.dbCounters(), backends: await this.backends() };
  }

  private async backends(): Promise<CostSnapshot['backends']> {
    const rows = await this.admin.query<{ pid: number; client: string }>(
      `SELECT pid, coalesce(nullif(application_name, ''), backend_type) AS client FROM pg_stat_activity
        WHERE datname = $1`,
      [this.database],
    );
    return new Map(rows.rows.map((row) => [row.pid, { client: row.client, ticks: processTicks(row.pid) }]));
  }

  /** Forgets the statement statistics (so `topStatements` covers what follows). */
  async resetStatements(): Promise<void> {
    await this.admin.query('SELECT pg_stat_statements_reset()').catch(() => undefined);
  }

  /** The statements run most often since the last reset, as lines `calls  query` (empty without the extension). */
  /**
   * The phase's statements, most frequent first (`by: 'calls'`) or most server time first (`by: 'time'`: total
   * execution time; with `track = all` a trigger's statements count inside the statement that fired them too).
   */
  async topStatements(limit = 20, by: 'calls' | 'time' = 'calls'): Promise<string[]> {
    try {
      const top = await this.admin.query<{ calls: string; ms: string; query: string }>(
        `SELECT s.calls::text, round(s.total_exec_time)::text AS ms, regexp_replace(s.query, '\\s+', ' ', 'g') AS query
           FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
          WHERE d.datname = $1
          ORDER BY ${by === 'time' ? 's.total_exec_time' : 's.calls'} DESC LIMIT $2`,
        [this.database, limit],
      );
      return top.rows.map(
        (row) => `${row.calls.padStart(8)} ${`${row.ms} ms`.padStart(10)}  ${row.query.slice(0, 150)}`,
      );
    } catch {
      return [];
    }
  }

  async close(): Promise<void> {
    await this.admin.end();
  }

  perUnit(before: CostSnapshot, after: CostSnapshot, units: number): CostPerUnit {
    const n = Math.max(1, units);
    const round = (value: number, digits = 2) => Number(value.toFixed(digits));
    const cpuMs: Record<string, number> = {};
    let total = 0;
    for (const name of Object.keys(after.ticks)) {
      const ms = (((after.ticks[name] ?? 0) - (before.ticks[name] ?? 0)) * 1000) / TICKS_PER_SEC;
      cpuMs[name] = round(ms / n);
      total += ms;
    }
    cpuMs.total = round(total / n);
    const postgresByClient = byClient(before, after, n, cpuMs.postgres ?? 0);
    const cores = os.cpus().length;
    const windowMs = Math.max(1, after.atMs - before.atMs);
    return {
      cpuMs,
      commits: round((after.db.commits - before.db.commits) / n),
      walSyncs: round((after.db.walSyncs - before.db.walSyncs) / n),
      walKb: round((after.db.walBytes - before.db.walBytes) / 1024 / n),
      statements:
        after.db.statements === undefined || before.db.statements === undefined
          ? undefined
          : round((after.db.statements - before.db.statements) / n),
      postgresByClient,
      ceilingPerSec: total > 0 ? Math.round((cores * 1000 * n) / total) : 0,
      cpuBusy: round(total / (cores * windowMs)),
    };
  }
}

/** PostgreSQL CPU ms per unit of each client's backends (those alive at the end), and `other` for the rest. */
function byClient(before: CostSnapshot, after: CostSnapshot, units: number, postgresMs: number) {
  const ms = new Map<string, number>();
  for (const [pid, backend] of after.backends) {
    const earlier = before.backends.get(pid);
    const start = earlier !== undefined && earlier.client === backend.client ? earlier.ticks : 0;
    const used = ((backend.ticks - start) * 1000) / TICKS_PER_SEC / units;
    ms.set(backend.client, (ms.get(backend.client) ?? 0) + used);
  }
  const result: Record<string, number> = {};
  let clients = 0;
  for (const [client, value] of [...ms].sort((a, b) => b[1] - a[1])) {
    result[client] = Number(value.toFixed(2));
    clients += value;
  }
  result.other = Number(Math.max(0, postgresMs - clients).toFixed(2));
  return result;
}

/** The cost as a BenchRow's `extra` fields. */
export function costExtra(cost: CostPerUnit, unit = 'checkout'): Record<string, number | string> {
  const extra: Record<string, number | string> = {};
  for (const [name, ms] of Object.entries(cost.cpuMs)) extra[`cpuMsPer${cap(unit)}_${name}`] = ms;
  extra[`cpuMsPer${cap(unit)}_postgresByClient`] = Object.entries(cost.postgresByClient)
    .map(([client, ms]) => `${client} ${ms}`)
    .join(', ');
  extra[`commitsPer${cap(unit)}`] = cost.commits;
  extra[`walSyncsPer${cap(unit)}`] = cost.walSyncs;
  extra[`walKbPer${cap(unit)}`] = cost.walKb;
  extra[`statementsPer${cap(unit)}`] = cost.statements ?? 'n/a (no pg_stat_statements)';
  extra.cpuCeilingPerSec = cost.ceilingPerSec;
  extra.cpuBusy = cost.cpuBusy;
  return extra;
}

function cap(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
