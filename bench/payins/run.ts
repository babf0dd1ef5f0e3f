/**
 * Pay-in benchmark (issue 3): checkouts per second end to end — saved payment method, one order each, the sandbox
 * PSP over HTTP with no added latency — with p50/p99 of the POST and of reaching SUCCESS, beside pgbench's TPC-B
 * on the same PostgreSQL server in the same run, as a ratio.
 *
 *   npx tsx bench/payins/run.ts [--quick]
 *
 * Layout: one embedded PostgreSQL (durability full: fsync, synchronous_commit, full_page_writes on); Bursar as
 * three processes (`--role api`, `--role worker`, `--role sandbox`); the load from a fourth (bench/lib/load-client.ts).
 * Phases: a closed loop at fixed concurrency, then an open loop at a fixed arrival rate (70 % of what the closed
 * loop achieved end to end) that counts the requests that missed their deadline. After each phase it waits until
 * every order of the phase is final, so "end to end" means POSTed and SUCCESS in the database.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from '../../src/db/embedded.ts';
import { startCluster, type Cluster } from '../../chaos/cluster.ts';
import { runLoad, type LoadResult } from '../lib/load.ts';
import { measureTpcb, type TpcbResult } from '../lib/pgbench.ts';
import { latencySummary, RssSampler } from '../lib/stats.ts';
import { formatRows } from '../lib/table.ts';
import type { BenchOptions, BenchRow } from '../lib/types.ts';

const SELLERS = 100;
const SETTLE_TIMEOUT_MS = 180_000;
/** Executor jobs per worker process (BURSAR_PAYINS_WORKER_CONCURRENCY). */
const WORKER_CONCURRENCY = 64;

interface PayinsBenchSettings {
  closedConcurrency: number;
  phaseMs: number;
  workerConcurrency: number;
  pgbenchSeconds: number;
}

function settings(quick: boolean): PayinsBenchSettings {
  return quick
    ? { closedConcurrency: 16, phaseMs: 5_000, workerConcurrency: WORKER_CONCURRENCY, pgbenchSeconds: 5 }
    : { closedConcurrency: 32, phaseMs: 20_000, workerConcurrency: WORKER_CONCURRENCY, pgbenchSeconds: 15 };
}

function body(runId: string): string {
  const id = `b${runId}_{{seq}}`;
  return JSON.stringify({
    checkout_id: id,
    buyer_info: { id: 'buyer_{{seq%1000}}', country: 'US' },
    credit_card_info: { payment_method: 'pm_card_visa' },
    payment_orders: [
      {
        payment_order_id: `${id}_po`,
        seller_account: 'seller_{{seq%100}}',
        amount: '12.34',
        currency: 'USD',
      },
    ],
  });
}

async function registerSellers(apiUrl: string, apiKey: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${apiUrl}/v1/sellers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ seller_account: `seller_${i}`, name: `Seller ${i}`, currency: 'USD' }),
    });
    if (response.status !== 201 && response.status !== 409)
      throw new Error(`registering seller_${i}: HTTP ${response.status} ${await response.text()}`);
  }
}

interface Settled {
  success: number;
  failed: number;
  notFinal: number;
  /** Epoch ms of each order's SUCCESS, by the `{{seq}}` it was sent with. */
  successAt: Map<number, number>;
}

/** Waits until every order whose checkout id starts with `prefix` is final (or the time is up). */
async function waitSettled(cluster: Cluster, prefix: string, expected: number): Promise<Settled> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let counts = { success: 0, failed: 0, total: 0 };
  for (;;) {
    const result = await cluster.pool.query<{ success: string; failed: string; total: string }>(
      `SELECT count(*) FILTER (WHERE payment_order_status = 'SUCCESS') AS success,
              count(*) FILTER (WHERE payment_order_status = 'FAILED') AS failed,
              count(*) AS total
         FROM payins.payment_order WHERE checkout_id LIKE $1`,
      [`${prefix}%`],
    );
    const row = result.rows[0];
    counts = {
      success: Number(row?.success ?? 0),
      failed: Number(row?.failed ?? 0),
      total: Number(row?.total ?? 0),
    };
    if (counts.total >= expected && counts.success + counts.failed >= counts.total) break;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const history = await cluster.pool.query<{ checkout_id: string; at_ms: string }>(
    `SELECT o.checkout_id, (extract(epoch FROM h.at) * 1000)::bigint::text AS at_ms
       FROM payins.payment_order o
       JOIN payins.payment_order_status_history h ON h.payment_order_id = o.payment_order_id AND h.to_status = 'SUCCESS'
      WHERE o.checkout_id LIKE $1`,
    [`${prefix}%`],
  );
  const successAt = new Map<number, number>();
  for (const row of history.rows) {
    const seq = Number.parseInt(row.checkout_id.slice(prefix.length), 10);
    successAt.set(seq, Number(row.at_ms));
  }
  return {
    success: counts.success,
    failed: counts.failed,
    notFinal: counts.total - counts.success - counts.failed,
    successAt,
  };
}

function tpcbFields(tpcb: TpcbResult): Pick<BenchRow, 'reference' | 'referenceMissing'> {
  return tpcb.ok
    ? { reference: { name: `pgbench TPC-B (${tpcb.clients} clients)`, perSec: tpcb.tps } }
    : { referenceMissing: tpcb.reason };
}

async function phase(
  cluster: Cluster,
  apiUrl: string,
  label: string,
  spec: { mode: 'closed'; concurrency: number } | { mode: 'open'; ratePerSec: number; deadlineMs: number },
  durationMs: number,
  seqStart: number,
  runId: string,
  rss: RssSampler,
  tpcb: TpcbResult,
  log: (line: string) => void,
): Promise<{ row: BenchRow; load: LoadResult; e2ePerSec: number }> {
  rss.reset();
  const prefix = `b${runId}_`;
  const load = await runLoad({
    baseUrls: [apiUrl],
    method: 'POST',
    path: '/v1/payments',
    headers: {
      authorization: `Bearer ${cluster.apiKey}`,
      'idempotency-key': `bench-${runId}-{{seq}}`,
    },
    body: body(runId),
    durationMs,
    seqStart,
    recordSamples: true,
    ...(spec.mode === 'closed'
      ? { mode: 'closed', concurrency: spec.concurrency }
      : { mode: 'open', ratePerSec: spec.ratePerSec, deadlineMs: spec.deadlineMs, maxInFlight: 2000 }),
  });
  const created = load.samples.filter((sample) => sample[3] === 201);
  log(
    `  ${label}: ${load.completed} POSTs (${JSON.stringify(load.statuses)}); waiting for the orders to settle…`,
  );
  // Only this phase's checkouts: the sequence numbers are disjoint between phases.
  const settled = await waitSettled(cluster, prefix, 0);
  rss.sample();
  const successLatencies: number[] = [];
  let firstSent = Number.POSITIVE_INFINITY;
  let lastSuccess = 0;
  let successes = 0;
  for (const [seq, sentAt] of created) {
    const at = settled.successAt.get(seq);
    if (at === undefined) continue;
    successes++;
    successLatencies.push(at - sentAt);
    firstSent = Math.min(firstSent, sentAt);
    lastSuccess = Math.max(lastSuccess, at);
  }
  const e2eMs = lastSuccess - firstSent;
  const e2ePerSec = successes > 0 && e2eMs > 0 ? Math.round((successes / e2eMs) * 1000) : 0;
  const post = latencySummary(load.samples.map((sample) => sample[2]));
  const success = latencySummary(successLatencies);
  const row: BenchRow = {
    name: `payins saved-method ${label}`,
    conditions:
      `${spec.mode === 'closed' ? `closed loop, ${spec.concurrency} clients` : `open loop, ${spec.ratePerSec}/s arrivals, deadline ${spec.deadlineMs} ms`}, ` +
      `${Math.round(durationMs / 1000)} s, 1 order per checkout, ${SELLERS} sellers; processes api+worker+sandbox ` +
      `(worker concurrency ${WORKER_CONCURRENCY}), sandbox over HTTP, no added latency; PostgreSQL fsync=on synchronous_commit=on`,
    throughputPerSec: e2ePerSec,
    // The table's latency columns are the POST's; reaching SUCCESS is in `extra`.
    p50Ms: post.p50Ms,
    p99Ms: post.p99Ms,
    peakRssMb: rss.peakTotalMb(),
    ...tpcbFields(tpcb),
    extra: {
      posts: load.completed,
      postsPerSec: load.throughputPerSec,
      created: created.length,
      succeeded: successes,
      failed: settled.failed,
      notFinal: settled.notFinal,
      successP50Ms: success.p50Ms,
      successP99Ms: success.p99Ms,
      ...(spec.mode === 'open' ? { missedDeadlines: load.missedDeadlines, sent: load.sent } : {}),
      non201: load.completed - created.length,
      loadGenRssMb: load.peakRssMb ?? 0,
    },
  };
  return { row, load, e2ePerSec };
}

export async function run(options: BenchOptions = {}): Promise<BenchRow[]> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const s = settings(options.quick === true);
  const runId = Date.now().toString(36);
  const apiPort = await freePort();
  const cluster = await startCluster({
    durability: 'full',
    ...(options.tmpDir === undefined ? {} : { tmpDir: options.tmpDir }),
    env: {
      BURSAR_PAYINS_WORKER_CONCURRENCY: String(s.workerConcurrency),
      SANDBOX_AUTOMATIC_PAYOUTS: 'false',
    },
    log,
  });
  const rows: BenchRow[] = [];
  try {
    // The reference first, on a quiet machine and the same server.
    const tpcb = await measureTpcb(cluster.adminUrl(), { clients: 10, seconds: s.pgbenchSeconds, log });
    if (tpcb.ok) {
      rows.push({
        name: 'pgbench TPC-B (reference)',
        conditions: `pgbench tpcb-like, scale ${tpcb.scale}, ${tpcb.clients} clients, 2 threads, ${tpcb.seconds} s, same embedded PostgreSQL, fsync=on`,
        throughputPerSec: tpcb.tps,
        p50Ms: 0,
        p99Ms: 0,
        peakRssMb: 0,
        extra: { pgbench: tpcb.pgbench },
      });
      log(`pgbench TPC-B: ${tpcb.tps} tps`);
    } else {
      log(`pgbench: ${tpcb.reason}; the ratio is left out`);
    }
    await cluster.start('sandbox', 'sandbox', { PORT: String(apiPort) });
    const api = await cluster.start('api', 'api', {}, apiPort);
    const worker = await cluster.start('worker', 'worker');
    const rss = new RssSampler(250);
    for (const proc of [api, worker, ...cluster.processes().filter((p) => p.role === 'sandbox')])
      rss.track(proc.pid());
    rss.start();
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await registerSellers(apiUrl, cluster.apiKey, SELLERS);

    // Warm-up (JIT, connection pools, caches); its checkouts are not counted.
    await runLoad({
      baseUrls: [apiUrl],
      method: 'POST',
      path: '/v1/payments',
      headers: { authorization: `Bearer ${cluster.apiKey}`, 'idempotency-key': `warm-${runId}-{{seq}}` },
      body: body(`${runId}w`),
      mode: 'closed',
      concurrency: 8,
      durationMs: 2_000,
    });
    await waitSettled(cluster, `b${runId}w_`, 0);

    const closed = await phase(
      cluster,
      apiUrl,
      `closed x${s.closedConcurrency}`,
      { mode: 'closed', concurrency: s.closedConcurrency },
      s.phaseMs,
      0,
      `${runId}c`,
      rss,
      tpcb,
      log,
    );
    rows.push(closed.row);
    log(formatRows([closed.row]));

    const rate = Math.max(5, Math.round(closed.e2ePerSec * 0.7));
    const open = await phase(
      cluster,
      apiUrl,
      `open ${rate}/s`,
      { mode: 'open', ratePerSec: rate, deadlineMs: 1000 },
      s.phaseMs,
      0,
      `${runId}o`,
      rss,
      tpcb,
      log,
    );
    rows.push(open.row);
    log(formatRows([open.row]));
    rss.stop();
  } finally {
    await cluster.stop();
  }
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  run({ quick: process.argv.includes('--quick') })
    .then((rows) => process.stdout.write(`\n${formatRows(rows)}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    });
}
