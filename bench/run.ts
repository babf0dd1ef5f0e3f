/**
 * `npm run bench`: runs every benchmark under bench/ — each directory with a `run.ts` that exports
 * `run(options): Promise<BenchRow[]>` (bench/lib/types.ts) — each in its own process, one after another, and prints
 * one table (throughput, p50/p99, peak memory, ratio to the reference measured in the same run on the same
 * database), then writes it as JSON to bench/results/latest.json.
 *
 *   npm run bench                       # everything
 *   npm run bench -- --only payins,ledger
 *   npm run bench -- --quick            # short phases: a smoke run, not figures to quote
 *
 * Not part of `npm test`.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatRows, ratioOf } from './lib/table.ts';
import type { BenchModule, BenchRow } from './lib/types.ts';

const BENCH_DIR = import.meta.dirname;
const RESULTS = path.join(BENCH_DIR, 'results', 'latest.json');
/** Every run, one JSON object a line, with the commit it measured: committed, so the history travels with the code. */
export const HISTORY = path.join(BENCH_DIR, 'results', 'history.jsonl');

/** The commit measured (`<sha>` or `<sha>+dirty` when the worktree had changes), or 'unknown' outside git. */
function commitId(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: BENCH_DIR, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: BENCH_DIR,
      encoding: 'utf8',
    }).trim();
    return dirty === '' ? sha : `${sha}+dirty`;
  } catch {
    return 'unknown';
  }
}
/**
 * No benchmark may run longer than this; the whole suite must fit in 15 minutes on two cores. BENCH_LIMIT_MS
 * raises it on a machine so loaded that its processes take minutes to start.
 */
const PER_BENCH_LIMIT_MS = Number.parseInt(process.env.BENCH_LIMIT_MS ?? '', 10) || 8 * 60 * 1000;
const NOT_BENCHES = new Set(['lib', 'results', 'node_modules']);

export function discoverBenches(dir = BENCH_DIR): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !NOT_BENCHES.has(entry.name))
    .filter((entry) => fs.existsSync(path.join(dir, entry.name, 'run.ts')))
    .map((entry) => entry.name)
    .sort();
}

interface BenchOutcome {
  name: string;
  ok: boolean;
  durationMs: number;
  error?: string;
  rows: BenchRow[];
}

/** Child mode: imports one benchmark, runs it, writes its rows as JSON to `outFile`. */
async function runOne(name: string, outFile: string, quick: boolean): Promise<void> {
  const mod = (await import(
    pathToFileURL(path.join(BENCH_DIR, name, 'run.ts')).href
  )) as Partial<BenchModule>;
  if (typeof mod.run !== 'function') throw new Error(`bench/${name}/run.ts does not export run(options)`);
  const rows = await mod.run({ quick, log: (line) => process.stderr.write(`[${name}] ${line}\n`) });
  fs.writeFileSync(outFile, JSON.stringify(rows));
}

async function runInChild(name: string, quick: boolean): Promise<BenchOutcome> {
  const outFile = path.join(os.tmpdir(), `bursar-bench-${process.pid}-${name}.json`);
  fs.rmSync(outFile, { force: true });
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(BENCH_DIR, 'run.ts'),
      '--one',
      name,
      '--out',
      outFile,
      ...(quick ? ['--quick'] : []),
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const killer = setTimeout(() => child.kill('SIGTERM'), PER_BENCH_LIMIT_MS);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(killer);
  const durationMs = Math.round(performance.now() - started);
  try {
    const rows = JSON.parse(fs.readFileSync(outFile, 'utf8')) as BenchRow[];
    return { name, ok: code === 0, durationMs, rows };
  } catch {
    return {
      name,
      ok: false,
      durationMs,
      rows: [],
      error:
        durationMs >= PER_BENCH_LIMIT_MS ? 'stopped: over its time limit' : `exited with ${String(code)}`,
    };
  } finally {
    fs.rmSync(outFile, { force: true });
  }
}

function arg(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

async function main(): Promise<number> {
  const quick = process.argv.includes('--quick');
  const one = arg('--one');
  if (one !== undefined) {
    await runOne(one, arg('--out') ?? path.join(os.tmpdir(), `bursar-bench-${one}.json`), quick);
    return 0;
  }
  const only = arg('--only')
    ?.split(',')
    .map((name) => name.trim());
  const names = discoverBenches().filter((name) => only === undefined || only.includes(name));
  const startedAt = new Date();
  process.stderr.write(`benchmarks: ${names.join(', ')}${quick ? ' (quick)' : ''}\n`);
  const outcomes: BenchOutcome[] = [];
  for (const name of names) {
    process.stderr.write(`\n=== bench/${name} ===\n`);
    const outcome = await runInChild(name, quick);
    outcomes.push(outcome);
    process.stderr.write(
      `=== bench/${name}: ${outcome.ok ? 'done' : `FAILED (${outcome.error ?? ''})`} in ${Math.round(outcome.durationMs / 1000)} s ===\n`,
    );
  }
  const rows = outcomes.flatMap((outcome) => outcome.rows.map((row) => ({ ...row, bench: outcome.name })));
  process.stdout.write(`\n${formatRows(rows)}\n`);
  for (const outcome of outcomes)
    if (!outcome.ok) process.stdout.write(`bench/${outcome.name} FAILED: ${outcome.error ?? 'see above'}\n`);
  const finishedAt = new Date();
  process.stdout.write(`\nsuite: ${Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000)} s\n`);
  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  const result = {
    commit: commitId(),
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    quick,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryMb: Math.round(os.totalmem() / 1024 / 1024),
      // The machine may be shared: the load when the run ended says how much the figures are worth.
      loadAverage: os.loadavg().map((value) => Number(value.toFixed(2))),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    benches: outcomes.map(({ name, ok, durationMs, error }) => ({
      name,
      ok,
      durationMs,
      ...(error ? { error } : {}),
    })),
    rows: rows.map((row) => {
      const ratio = ratioOf(row);
      return ratio === undefined ? row : { ...row, ratio: Number(ratio.toFixed(4)) };
    }),
  };
  fs.writeFileSync(RESULTS, `${JSON.stringify(result, null, 2)}\n`);
  fs.appendFileSync(HISTORY, `${JSON.stringify(result)}\n`);
  process.stdout.write(
    `written: ${path.relative(process.cwd(), RESULTS)}, appended to ${path.relative(process.cwd(), HISTORY)}` +
      ` (compare: npx tsx bench/compare.ts)\n`,
  );
  return outcomes.every((outcome) => outcome.ok) ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
