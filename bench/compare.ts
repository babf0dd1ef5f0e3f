/**
 * Prints the last two runs of `bench/results/history.jsonl` (or two given by their position, counted from the
 * end) side by side: per row, each run's throughput, p50/p99, ratio to its reference, and the figures in `extra`
 * that both runs have, with the change.
 *
 *   npx tsx bench/compare.ts            # the last run against the one before
 *   npx tsx bench/compare.ts 3 1        # the third-last against the last
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchRow } from './lib/types.ts';

const HISTORY = path.join(import.meta.dirname, 'results', 'history.jsonl');

interface Run {
  commit?: string;
  startedAt: string;
  quick: boolean;
  machine?: { loadAverage?: number[] };
  rows: (BenchRow & { bench?: string; ratio?: number })[];
}

export function readHistory(file = HISTORY): Run[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Run);
}

function change(a: number, b: number): string {
  if (a === 0) return b === 0 ? '' : 'new';
  const factor = b / a;
  return `×${factor.toFixed(2)}`;
}

function cell(value: unknown): string {
  return value === undefined ? '—' : String(value);
}

/** The side-by-side table of two runs, as text. */
export function compareRuns(a: Run, b: Run): string {
  const head = (run: Run) =>
    `${run.commit?.slice(0, 12) ?? 'unknown'} ${run.startedAt}${run.quick ? ' (quick)' : ''} load ${cell(run.machine?.loadAverage?.join('/'))}`;
  const lines = [`A: ${head(a)}`, `B: ${head(b)}`, ''];
  const names = [...new Set([...a.rows.map((row) => row.name), ...b.rows.map((row) => row.name)])];
  for (const name of names) {
    const ra = a.rows.find((row) => row.name === name);
    const rb = b.rows.find((row) => row.name === name);
    lines.push(name);
    const figures: [string, number | undefined, number | undefined][] = [
      ['ops/s', ra?.throughputPerSec, rb?.throughputPerSec],
      ['ratio', ra?.ratio, rb?.ratio],
      ['p50 ms', ra?.p50Ms, rb?.p50Ms],
      ['p99 ms', ra?.p99Ms, rb?.p99Ms],
      ['peak MB', ra?.peakRssMb, rb?.peakRssMb],
    ];
    const keys = new Set([...Object.keys(ra?.extra ?? {}), ...Object.keys(rb?.extra ?? {})]);
    for (const key of keys) {
      const va = ra?.extra?.[key];
      const vb = rb?.extra?.[key];
      if (typeof va === 'number' || typeof vb === 'number')
        figures.push([key, typeof va === 'number' ? va : undefined, typeof vb === 'number' ? vb : undefined]);
    }
    for (const [label, va, vb] of figures) {
      if (va === undefined && vb === undefined) continue;
      const delta = va !== undefined && vb !== undefined ? change(va, vb) : '';
      lines.push(`  ${label.padEnd(34)} ${cell(va).padStart(12)} ${cell(vb).padStart(12)}  ${delta}`);
    }
  }
  return lines.join('\n');
}

function main(): number {
  const runs = readHistory();
  const [fromEnd1, fromEnd2] = [Number(process.argv[2] ?? 2), Number(process.argv[3] ?? 1)];
  const a = runs[runs.length - fromEnd1];
  const b = runs[runs.length - fromEnd2];
  if (a === undefined || b === undefined) {
    process.stderr.write(`bench/results/history.jsonl has ${runs.length} run(s); need two\n`);
    return 1;
  }
  process.stdout.write(`${compareRuns(a, b)}\n`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = main();
}
