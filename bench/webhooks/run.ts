/**
 * Webhook delivery latency: from an event's commit to the first delivery attempt reaching the endpoint, when the
 * sender is idle (issue 14: p99 under 1 s; LISTEN/NOTIFY wakes the sender at commit).
 *
 *   npx tsx bench/webhooks/run.ts [--events 200]
 *
 * It starts its own embedded PostgreSQL, applies the migrations, runs the real webhook sender (the events module's
 * background service) and a local HTTP endpoint, then records one event at a time in its own transaction and
 * times commit -> arrival at the endpoint, waiting for each arrival and a short idle gap before the next, so every
 * event meets an idle sender. Prints p50/p99. Not part of `npm test`.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { Registry } from 'prom-client';
import { systemClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { createPool } from '../../src/db/pool.ts';
import { withTransaction } from '../../src/db/tx.ts';
import { createEvents, recordEvent } from '../../src/events/index.ts';
import { createLogger } from '../../src/log.ts';
import { latencySummary } from '../lib/stats.ts';
import { migrateAsOwner } from '../lib/migrate.ts';
import type { BenchOptions, BenchRow } from '../lib/types.ts';

/** A local endpoint that tells the waiting bench when each event arrives. */
async function endpoint(): Promise<{ url: string; arrived: (id: string) => Promise<number>; close(): void }> {
  const waiting = new Map<string, (at: number) => void>();
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const at = performance.now();
      const { id } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string };
      response.writeHead(200).end();
      waiting.get(id)?.(at);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    arrived: (id) => new Promise((resolve) => waiting.set(id, resolve)),
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

export async function runWebhooksBench(
  options: { events?: number; tmpDir?: string; log?: (line: string) => void } = {},
): Promise<BenchRow[]> {
  const count = options.events ?? 200;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dataDir = fs.mkdtempSync(path.join(options.tmpDir ?? os.tmpdir(), 'bursar-webhooks-bench-'));
  const server = await startEmbeddedPostgres({ dataDir, log: createLogger('warn'), durability: 'full' });
  const pool = createPool(server.url, { max: 6 });
  const hook = await endpoint();
  process.env.BURSAR_WEBHOOK_ENDPOINTS_KEY ??= randomBytes(32).toString('hex');
  const ctx = {
    config: { ...loadConfig({}), databaseUrl: server.url, dataDir },
    pool,
    log: createLogger('warn'),
    clock: systemClock,
    metrics: new Registry(),
  };
  const events = createEvents({ ctx, config: { allowPrivateUrls: true } });
  const [sender] = events.services;
  try {
    await migrateAsOwner(server.ownerUrl);
    await pool.query(
      `INSERT INTO events.webhook_endpoints (id, url, enabled_events, secret_enc) VALUES ('we_bench', $1, '{*}', $2)`,
      [hook.url, sealedBenchSecret(events)],
    );
    await sender?.start();
    const latencies: number[] = [];
    for (let i = 0; i < count; i++) {
      // An idle gap longer than one delivery, shorter than the poll interval: the wake-up must come from NOTIFY.
      await new Promise((resolve) => setTimeout(resolve, 20 + (i % 7) * 10));
      let arrival: Promise<number> | undefined;
      await withTransaction(pool, async (client) => {
        const id = await recordEvent(client, 'payment_order.succeeded', {
          payment_order_id: `po_bench_${i}`,
        });
        arrival = hook.arrived(id);
      });
      const committed = performance.now();
      latencies.push((await (arrival ?? Promise.resolve(committed))) - committed);
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    const { p50Ms, p99Ms } = latencySummary(sorted);
    const row: BenchRow = {
      name: 'webhooks commit->first attempt',
      conditions: `idle sender, LISTEN/NOTIFY, ${count} events one at a time, local endpoint`,
      throughputPerSec: 0,
      p50Ms,
      p99Ms,
      peakRssMb: Math.round(process.memoryUsage().rss / 1e6),
      referenceMissing: 'a latency, not a rate',
      extra: { events: count, max_ms: Math.round((sorted.at(-1) ?? 0) * 10) / 10 },
    };
    log(`${row.name}: p50 ${p50Ms.toFixed(1)} ms, p99 ${p99Ms.toFixed(1)} ms over ${count} events`);
    return [row];
  } finally {
    await sender?.stop().catch(() => undefined);
    hook.close();
    await pool.end().catch(() => undefined);
    await server.stop().catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The endpoint's secret, sealed with the installation key the sender will open it with. */
function sealedBenchSecret(events: ReturnType<typeof createEvents>): string {
  return events.sealSecret(`whsec_${randomBytes(16).toString('hex')}`);
}

/** The entry point `npm run bench` (bench/run.ts) calls. */
export async function run(options: BenchOptions = {}): Promise<BenchRow[]> {
  return await runWebhooksBench({
    events: options.quick ? 30 : 200,
    ...(options.tmpDir === undefined ? {} : { tmpDir: options.tmpDir }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const index = process.argv.indexOf('--events');
  const raw = index >= 0 ? process.argv[index + 1] : undefined;
  runWebhooksBench(raw === undefined ? {} : { events: Number.parseInt(raw, 10) })
    .then((rows) => process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    });
}
