/**
 * A statement profile for a benchmark (`--profile` or `BENCH_PROFILE=1`): every query a pool's clients send is
 * counted and timed from the client's side (sent → answered: the round trip, the server's work and any wait for
 * a lock), grouped by its SQL text (whitespace collapsed, cut at 100 characters), and printed as a table sorted by
 * total time, with the process's CPU time and the wall time beside it. Times of statements running concurrently on
 * several connections add up, so their sum can exceed the wall time.
 */
import type { Pool } from '../../src/db/pool.ts';

interface Tally {
  count: number;
  ms: number;
}

export interface Profiler {
  /** Starts a measured span (clears what was counted before). */
  start(): void;
  /** The table of the span since `start()`, most total time first, `top` rows. */
  report(top?: number): string;
}

export function profileWanted(argv: string[] = process.argv): boolean {
  return argv.includes('--profile') || (process.env.BENCH_PROFILE ?? '') !== '';
}

function keyOf(query: unknown): string {
  const text =
    typeof query === 'string'
      ? query
      : typeof query === 'object' && query !== null && 'text' in query
        ? String((query as { text: unknown }).text)
        : '(other)';
  return text.replace(/\s+/g, ' ').trim().slice(0, 100);
}

type QueryFn = (...args: unknown[]) => unknown;

/** Wraps the `query` of every client `pool` connects from now on (pool.query goes through them too). */
export function profilePool(pool: Pool): Profiler {
  const tallies = new Map<string, Tally>();
  let wallStarted = performance.now();
  let cpuStarted = process.cpuUsage();
  const add = (key: string, ms: number): void => {
    const tally = tallies.get(key) ?? { count: 0, ms: 0 };
    tally.count += 1;
    tally.ms += ms;
    tallies.set(key, tally);
  };
  pool.on('connect', (client) => {
    const holder = client as unknown as { query: QueryFn };
    const original = holder.query.bind(client) as QueryFn;
    holder.query = (...args: unknown[]): unknown => {
      const key = keyOf(args[0]);
      const started = performance.now();
      const last = args.length - 1;
      const callback = args[last];
      if (typeof callback === 'function') {
        args[last] = (...results: unknown[]): unknown => {
          add(key, performance.now() - started);
          return (callback as QueryFn)(...results);
        };
        return original(...args);
      }
      const result = original(...args);
      if (result instanceof Promise) {
        void result.then(
          () => add(key, performance.now() - started),
          () => add(key, performance.now() - started),
        );
      }
      return result;
    };
  });
  return {
    start() {
      tallies.clear();
      wallStarted = performance.now();
      cpuStarted = process.cpuUsage();
    },
    report(top = 20) {
      const wallMs = performance.now() - wallStarted;
      const cpu = process.cpuUsage(cpuStarted);
      const rows = [...tallies.entries()].sort((a, b) => b[1].ms - a[1].ms);
      const statements = rows.reduce((sum, [, t]) => sum + t.count, 0);
      const statementMs = rows.reduce((sum, [, t]) => sum + t.ms, 0);
      const lines = [
        `profile: wall ${(wallMs / 1000).toFixed(1)} s; this process's CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s; ` +
          `${statements} statements, ${(statementMs / 1000).toFixed(1)} s summed over connections`,
        '   count   total s   mean ms  statement',
      ];
      for (const [key, t] of rows.slice(0, top)) {
        lines.push(
          `${String(t.count).padStart(8)} ${(t.ms / 1000).toFixed(1).padStart(9)} ${(t.ms / t.count).toFixed(2).padStart(9)}  ${key}`,
        );
      }
      return lines.join('\n');
    },
  };
}

/** The server setting that makes `pg_stat_user_functions` count PL/pgSQL functions (triggers included). */
export const TRACK_FUNCTIONS = { track_functions: 'pl' } as const;

interface FunctionRow {
  name: string;
  calls: string;
  self_ms: number;
  total_ms: number;
}

/**
 * The server side of a profile: every PL/pgSQL function (trigger functions are most of them) the span called,
 * with its calls and its own time, read from `pg_stat_user_functions` (the server must run with
 * `TRACK_FUNCTIONS`). `start()` takes the baseline; `report()` prints the difference, most self time first.
 */
export function functionProfile(pool: Pool): {
  start(): Promise<void>;
  report(top?: number): Promise<string>;
} {
  const read = async (): Promise<Map<string, FunctionRow>> => {
    // Statistics are sent by each backend at the end of its transactions; a fresh snapshot is read each time.
    await pool.query('SELECT pg_stat_clear_snapshot()');
    const result = await pool.query<FunctionRow>(
      `SELECT schemaname || '.' || funcname AS name, calls::text AS calls, self_time AS self_ms,
              total_time AS total_ms
         FROM pg_stat_user_functions`,
    );
    return new Map(result.rows.map((row) => [row.name, row]));
  };
  let before = new Map<string, FunctionRow>();
  return {
    async start() {
      before = await read();
    },
    async report(top = 15) {
      const after = await read();
      const rows = [...after.values()]
        .map((row) => {
          const base = before.get(row.name);
          return {
            name: row.name,
            calls: Number(row.calls) - Number(base?.calls ?? 0),
            selfMs: row.self_ms - (base?.self_ms ?? 0),
            totalMs: row.total_ms - (base?.total_ms ?? 0),
          };
        })
        .filter((row) => row.calls > 0)
        .sort((a, b) => b.selfMs - a.selfMs);
      const lines = ['server functions:   calls    self s   total s  µs/call  function'];
      for (const row of rows.slice(0, top)) {
        lines.push(
          `${String(row.calls).padStart(24)} ${(row.selfMs / 1000).toFixed(1).padStart(9)} ${(row.totalMs / 1000).toFixed(1).padStart(9)} ${((row.selfMs * 1000) / row.calls).toFixed(1).padStart(8)}  ${row.name}`,
        );
      }
      return lines.join('\n');
    },
  };
}
