/**
 * Round-trip benchmark (not part of `npm test`): `npx tsx bench/roundtrip/run.ts [--quick]`. One node-postgres
 * client runs a prepared one-row SELECT again and again against the embedded PostgreSQL, over loopback TCP and
 * over the server's Unix-domain socket (what Bursar's processes use, src/db/embedded.ts), and prints the latency
 * and this process's CPU per round trip for each. A Bursar checkout is a few dozen such round trips.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { createLogger } from '../../src/log.ts';
import { latencySummary } from '../lib/stats.ts';
import type { BenchOptions, BenchRow } from '../lib/types.ts';
import { runWhenMain } from '../lib/standalone.ts';

async function measure(url: string, label: string, queries: number): Promise<BenchRow> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const once = () => client.query({ name: 'roundtrip', text: 'SELECT $1::int AS x', values: [1] });
    for (let i = 0; i < Math.min(500, queries); i++) await once();
    const samples: number[] = [];
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < queries; i++) {
      const at = performance.now();
      await once();
      samples.push(performance.now() - at);
    }
    const elapsedMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const latency = latencySummary(samples);
    return {
      name: `postgres round trip over ${label}`,
      conditions: `one node-postgres client, prepared SELECT, ${queries} in a row, embedded PostgreSQL`,
      throughputPerSec: Math.round((queries * 1000) / elapsedMs),
      p50Ms: latency.p50Ms,
      p99Ms: latency.p99Ms,
      peakRssMb: Math.round(process.memoryUsage().rss / 1_048_576),
      referenceMissing: 'a latency, not a rate',
      extra: {
        clientCpuUsPerQuery: Number(((cpu.user + cpu.system) / queries).toFixed(1)),
        meanUs: Number(((elapsedMs * 1000) / queries).toFixed(1)),
      },
    };
  } finally {
    await client.end();
  }
}

export async function run(options: BenchOptions = {}): Promise<BenchRow[]> {
  const queries = options.quick ? 2_000 : 20_000;
  const dataDir = fs.mkdtempSync(path.join(options.tmpDir ?? os.tmpdir(), 'bursar-roundtrip-bench-'));
  const server = await startEmbeddedPostgres({ dataDir, log: createLogger('warn') });
  try {
    const socketUrl = server.urlFor('postgres');
    const tcp = new URL(socketUrl);
    tcp.searchParams.delete('host');
    if (tcp.toString() === socketUrl) throw new Error('the embedded server has no Unix socket here');
    const rows: BenchRow[] = [];
    for (const [url, label] of [
      [tcp.toString(), 'loopback TCP'],
      [socketUrl, 'Unix socket'],
    ] as const)
      rows.push(await measure(url, label, queries));
    return rows;
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

runWhenMain(import.meta.url, () => run({ quick: process.argv.includes('--quick') }));
