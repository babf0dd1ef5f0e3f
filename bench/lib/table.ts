import type { BenchRow } from './types.ts';

/** throughput ÷ reference, or undefined when there is no reference. */
export function ratioOf(row: BenchRow): number | undefined {
  if (row.reference === undefined || row.reference.perSec <= 0 || row.throughputPerSec <= 0) return undefined;
  return row.throughputPerSec / row.reference.perSec;
}

function ratioText(row: BenchRow): string {
  const ratio = ratioOf(row);
  if (ratio !== undefined) return `${ratio.toFixed(3)}× ${row.reference?.name ?? ''}`;
  if (row.referenceMissing !== undefined) return 'no reference (see below)';
  return '';
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

/** The table `npm run bench` prints: one line per row, then each row's conditions and extras indented. */
export function formatRows(rows: readonly BenchRow[]): string {
  const nameWidth = Math.max(9, ...rows.map((row) => row.name.length));
  const lines = [
    `${pad('benchmark', nameWidth)}  ${pad('ops/s', 9, true)}  ${pad('p50 ms', 9, true)}  ${pad('p99 ms', 9, true)}  ${pad('peak MB', 7, true)}  ratio to reference`,
  ];
  const missing = new Set<string>();
  for (const row of rows) {
    lines.push(
      `${pad(row.name, nameWidth)}  ${pad(String(row.throughputPerSec), 9, true)}  ${pad(row.p50Ms.toFixed(2), 9, true)}  ${pad(row.p99Ms.toFixed(2), 9, true)}  ${pad(String(row.peakRssMb), 7, true)}  ${ratioText(row)}`,
    );
    lines.push(`    ${row.conditions}`);
    const extra = Object.entries(row.extra ?? {})
      .map(([key, value]) => `${key}=${value}`)
      .join(' ');
    if (extra !== '') lines.push(`    ${extra}`);
    if (row.referenceMissing !== undefined) missing.add(row.referenceMissing);
  }
  for (const reason of missing) lines.push(`no reference: ${reason}`);
  return lines.join('\n');
}
