/**
 * Pay-in benchmark (issue 3): checkouts per second end to end — saved payment method, one order each, the sandbox
 * PSP over HTTP with no added latency — with p50/p99 of the POST and of reaching SUCCESS, beside pgbench's TPC-B
 * on the same PostgreSQL server in the same run, as a ratio.
 *
 *   npx tsx bench/payins/run.ts [--quick] [--apis N --workers N] [--open-rate N] [--cpu-prof DIR]
 *
 * `--open-rate N` runs the open loop at N checkouts a second instead of half the closed loop's rate, so that runs
 * compared back to back measure their open loops at the same rate.
 *
 * `--cpu-prof DIR` samples the API, worker and sandbox processes' CPU (bench/payins/cpu-prof-preload.mjs) and stops
 * them with SIGTERM at the end, so each writes a V8 CPU profile (`CPU.<pid>.cpuprofile`) into DIR; the log names
 * the pids. `npx tsx bench/payins/cpu-profile.ts DIR/CPU.<pid>.cpuprofile` prints where a process's CPU went.
 *
 * Layout: one embedded PostgreSQL (durability full: fsync, synchronous_commit, full_page_writes on); Bursar as
 * three processes (`--role api`, `--role worker`, `--role sandbox`); the load from a fourth (bench/lib/load-client.ts).
 * Phases: a closed loop at fixed concurrency, then an open loop at a fixed arrival rate (half of what the closed
 * loop achieved end to end, or `--open-rate`) that counts the requests that missed their deadline. After each phase it waits until
 * every order of the phase is final, so "end to end" means POSTed and SUCCESS in the database.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { freePort } from '../../src/db/embedded.ts';
import { startCluster, type Cluster } from '../../chaos/cluster.ts';
import fs from 'node:fs';
import { CostMeter, costExtra, PG_STAT_SETTINGS, type CostSnapshot } from '../lib/cost.ts';
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

function body(runId: string, orders = 1): string {
  const id = `b${runId}_{{seq}}`;
  return JSON.stringify({
    checkout_id: id,
    buyer_info: { id: 'buyer_{{seq%1000}}', country: 'US' },
    credit_card_info: { payment_method: 'pm_card_visa' },
    payment_orders: Array.from({ length: orders }, (_, index) => ({
      payment_order_id: `${id}_po${index === 0 ? '' : String(index)}`,
      // The orders of one checkout go to (usually) different sellers, spread over all of them.
      seller_account: `seller_{{seq%${[100, 97, 89][index % 3] ?? 100}}}`,
      amount: '12.34',
      currency: 'USD',
    })),
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
  /** Where an order's time went, from its status history (p50/p99 ms of each stage). */
  stages: Stages;
}

/**
 * An order's stages, from its status history (each time is when its history row was written): stored (NOT_STARTED)
 * to claimed by the executor (EXECUTING), and claimed to SUCCESS (the PSP call, the wait for a settle batch, and
 * the batch's work before this order).
 */
interface Stages {
  createdToClaimedP50Ms: number;
  createdToClaimedP99Ms: number;
  claimedToSuccessP50Ms: number;
  claimedToSuccessP99Ms: number;
}

async function stagesOf(cluster: Cluster, prefix: string): Promise<Stages> {
  const result = await cluster.pool.query<Record<keyof Stages, number | null>>(
    `WITH t AS (
       SELECT max(h.at) FILTER (WHERE h.to_status = 'NOT_STARTED') AS created,
              max(h.at) FILTER (WHERE h.to_status = 'EXECUTING') AS claimed,
              max(h.at) FILTER (WHERE h.to_status = 'SUCCESS') AS succeeded
         FROM payins.payment_order o
         JOIN payins.payment_order_status_history h ON h.payment_order_id = o.payment_order_id
        WHERE o.checkout_id LIKE $1
        GROUP BY o.payment_order_id),
     ms AS (
       SELECT extract(epoch FROM claimed - created) * 1000 AS a, extract(epoch FROM succeeded - claimed) * 1000 AS b
         FROM t WHERE succeeded IS NOT NULL)
     SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY a))::float8 AS "createdToClaimedP50Ms",
            round(percentile_cont(0.99) WITHIN GROUP (ORDER BY a))::float8 AS "createdToClaimedP99Ms",
            round(percentile_cont(0.5) WITHIN GROUP (ORDER BY b))::float8 AS "claimedToSuccessP50Ms",
            round(percentile_cont(0.99) WITHIN GROUP (ORDER BY b))::float8 AS "claimedToSuccessP99Ms"
       FROM ms`,
    [`${prefix}%`],
  );
  const row = result.rows[0];
  return {
    createdToClaimedP50Ms: row?.createdToClaimedP50Ms ?? 0,
    createdToClaimedP99Ms: row?.createdToClaimedP99Ms ?? 0,
    claimedToSuccessP50Ms: row?.claimedToSuccessP50Ms ?? 0,
    claimedToSuccessP99Ms: row?.claimedToSuccessP99Ms ?? 0,
  };
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
    stages: await stagesOf(cluster, prefix),
  };
}

function tpcbFields(tpcb: TpcbResult): Pick<BenchRow, 'reference' | 'referenceMissing'> {
  return tpcb.ok
    ? { reference: { name: `pgbench TPC-B (${tpcb.clients} clients)`, perSec: tpcb.tps } }
    : { referenceMissing: tpcb.reason };
}

interface PhaseSpec {
  label: string;
  load: { mode: 'closed'; concurrency: number } | { mode: 'open'; ratePerSec: number; deadlineMs: number };
  durationMs: number;
  runId: string;
  ordersPerCheckout: number;
}

/**
 * Samples what Bursar's database sessions are waiting on (pg_stat_activity's wait events, and the lock waits'
 * lock types) every 100 ms during a phase: a serialization point shows up as one wait that dominates.
 */
class WaitSampler {
  private counts = new Map<string, number>();
  private samples = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly database: string,
  ) {}

  start(): void {
    this.counts.clear();
    this.samples = 0;
    this.timer = setInterval(() => void this.sample(), 100);
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const result = await this.pool.query<{ what: string; n: string }>(
        `SELECT coalesce(a.wait_event_type || ':' || a.wait_event, 'cpu') ||
                ' [' || coalesce(nullif(a.application_name, ''), '?') || ']' ||
                CASE WHEN a.wait_event_type = 'Lock' THEN
                  ' ' || left(regexp_replace(a.query, '\\s+', ' ', 'g'), 70) || ' <- ' ||
                  coalesce((SELECT left(regexp_replace(b.query, '\\s+', ' ', 'g'), 70) || ' (' || b.state || ')'
                              FROM pg_stat_activity b WHERE b.pid = (pg_blocking_pids(a.pid))[1]), '?')
                ELSE '' END AS what,
                count(*) AS n
           FROM pg_stat_activity a
          WHERE a.datname = $1 AND a.state = 'active' AND a.pid <> pg_backend_pid()
          GROUP BY 1`,
        [this.database],
      );
      this.samples++;
      for (const row of result.rows)
        this.counts.set(row.what, (this.counts.get(row.what) ?? 0) + Number(row.n));
    } catch {
      // A sample missed is no matter.
    } finally {
      this.busy = false;
    }
  }

  /** The active sessions by what they were doing, averaged over the samples. */
  stop(): string[] {
    if (this.timer) clearInterval(this.timer);
    return [...this.counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([what, n]) => `${(n / Math.max(1, this.samples)).toFixed(2).padStart(7)}  ${what}`);
  }
}

/** What the processes cost per second with no checkout at all (their loops and pollers), measured after warm-up. */
interface IdleRate {
  /** CPU ticks per second, by process (and `postgres`). */
  ticksPerSec: Record<string, number>;
  statementsPerSec: number;
  commitsPerSec: number;
}

const IDLE_WINDOW_MS = 10_000;

async function measureIdle(meter: CostMeter, log: (line: string) => void): Promise<IdleRate> {
  await meter.resetStatements();
  const before = await meter.snapshot();
  await new Promise((resolve) => setTimeout(resolve, IDLE_WINDOW_MS));
  const after = await meter.snapshot();
  const seconds = (after.atMs - before.atMs) / 1000;
  const ticksPerSec: Record<string, number> = {};
  for (const name of Object.keys(after.ticks))
    ticksPerSec[name] = ((after.ticks[name] ?? 0) - (before.ticks[name] ?? 0)) / seconds;
  const idle = {
    ticksPerSec,
    statementsPerSec: ((after.db.statements ?? 0) - (before.db.statements ?? 0)) / seconds,
    commitsPerSec: (after.db.commits - before.db.commits) / seconds,
  };
  log(
    `idle (no checkouts, ${Math.round(seconds)} s): CPU ms/s ${Object.entries(ticksPerSec)
      .map(([name, ticks]) => `${name} ${(ticks * 10).toFixed(1)}`)
      .join(
        ', ',
      )}; statements/s ${idle.statementsPerSec.toFixed(1)}; commits/s ${idle.commitsPerSec.toFixed(1)}`,
  );
  log(`  idle statements (calls, server time, query):\n${(await meter.topStatements(12)).join('\n')}`);
  return idle;
}

/**
 * The cost per checkout net of what the processes spend anyway while idle (their rate times the phase's length):
 * the part that is each checkout's own work, less sensitive to how long a loaded machine stretched the phase.
 */
function netOfIdle(
  idle: IdleRate,
  before: CostSnapshot,
  after: CostSnapshot,
  units: number,
): Record<string, number> {
  const n = Math.max(1, units);
  const seconds = (after.atMs - before.atMs) / 1000;
  const net: Record<string, number> = {};
  let total = 0;
  for (const name of Object.keys(after.ticks)) {
    const ticks =
      (after.ticks[name] ?? 0) - (before.ticks[name] ?? 0) - (idle.ticksPerSec[name] ?? 0) * seconds;
    net[`cpuMsPerCheckoutNet_${name}`] = Number(((ticks * 10) / n).toFixed(2));
    total += ticks * 10;
  }
  net.cpuMsPerCheckoutNet_total = Number((total / n).toFixed(2));
  const statements =
    (after.db.statements ?? 0) - (before.db.statements ?? 0) - idle.statementsPerSec * seconds;
  net.statementsPerCheckoutNet = Number((statements / n).toFixed(1));
  net.commitsPerCheckoutNet = Number(
    ((after.db.commits - before.db.commits - idle.commitsPerSec * seconds) / n).toFixed(1),
  );
  return net;
}

interface Bench {
  idle: IdleRate | undefined;
  waits: WaitSampler;
  cluster: Cluster;
  apiUrls: string[];
  rss: RssSampler;
  meter: CostMeter;
  tpcb: TpcbResult;
  layout: string;
  log: (line: string) => void;
}

function e2eOf(
  created: LoadResult['samples'],
  successAt: Map<number, number>,
): { latencies: number[]; successes: number; perSec: number } {
  const latencies: number[] = [];
  let firstSent = Number.POSITIVE_INFINITY;
  let lastSuccess = 0;
  for (const [seq, sentAt] of created) {
    const at = successAt.get(seq);
    if (at === undefined) continue;
    latencies.push(at - sentAt);
    firstSent = Math.min(firstSent, sentAt);
    lastSuccess = Math.max(lastSuccess, at);
  }
  const ms = lastSuccess - firstSent;
  const successes = latencies.length;
  return { latencies, successes, perSec: successes > 0 && ms > 0 ? Math.round((successes / ms) * 1000) : 0 };
}

async function phase(
  bench: Bench,
  spec: PhaseSpec,
): Promise<{ row: BenchRow; load: LoadResult; e2ePerSec: number }> {
  const { cluster, rss, log } = bench;
  rss.reset();
  const prefix = `b${spec.runId}_`;
  await bench.meter.resetStatements();
  const before = await bench.meter.snapshot();
  bench.waits.start();
  const load = await runLoad({
    baseUrls: bench.apiUrls,
    method: 'POST',
    path: '/v1/payments',
    headers: {
      authorization: `Bearer ${cluster.apiKey}`,
      'idempotency-key': `bench-${spec.runId}-{{seq}}`,
    },
    body: body(spec.runId, spec.ordersPerCheckout),
    durationMs: spec.durationMs,
    seqStart: 0,
    recordSamples: true,
    ...(spec.load.mode === 'closed'
      ? { mode: 'closed', concurrency: spec.load.concurrency }
      : {
          mode: 'open',
          ratePerSec: spec.load.ratePerSec,
          deadlineMs: spec.load.deadlineMs,
          maxInFlight: 2000,
        }),
  });
  const created = load.samples.filter((sample) => sample[3] === 201);
  log(
    `  ${spec.label}: ${load.completed} POSTs (${JSON.stringify(load.statuses)}); waiting for the orders to settle…`,
  );
  // Only this phase's checkouts: the sequence numbers are disjoint between phases.
  const settled = await waitSettled(cluster, prefix, 0);
  const after = await bench.meter.snapshot();
  const cost = bench.meter.perUnit(before, after, created.length);
  const net = bench.idle === undefined ? {} : netOfIdle(bench.idle, before, after, created.length);
  log(
    `  database sessions by wait (average active, sampled every 100 ms):\n${bench.waits.stop().join('\n')}`,
  );
  log(
    `  most frequent statements of the phase (calls, server time, query):\n${(await bench.meter.topStatements(25)).join('\n')}`,
  );
  log(
    `  statements by server time (calls, total execution time, query):\n${(await bench.meter.topStatements(15, 'time')).join('\n')}`,
  );
  rss.sample();
  const e2e = e2eOf(created, settled.successAt);
  const post = latencySummary(load.samples.map((sample) => sample[2]));
  const success = latencySummary(e2e.latencies);
  const spec2 = spec.load;
  const row: BenchRow = {
    name: `payins saved-method ${spec.label}`,
    conditions:
      `${spec2.mode === 'closed' ? `closed loop, ${spec2.concurrency} clients` : `open loop, ${spec2.ratePerSec}/s arrivals, deadline ${spec2.deadlineMs} ms`}, ` +
      `${Math.round(spec.durationMs / 1000)} s, ${spec.ordersPerCheckout} order(s) per checkout, ${SELLERS} sellers; ${bench.layout}, ` +
      `sandbox over HTTP, no added latency; PostgreSQL fsync=on synchronous_commit=on`,
    throughputPerSec: e2e.perSec,
    // The table's latency columns are the POST's; reaching SUCCESS is in `extra`.
    p50Ms: post.p50Ms,
    p99Ms: post.p99Ms,
    peakRssMb: rss.peakTotalMb(),
    ...tpcbFields(bench.tpcb),
    extra: {
      posts: load.completed,
      postsPerSec: load.throughputPerSec,
      created: created.length,
      succeeded: e2e.successes,
      ...(spec.ordersPerCheckout > 1
        ? { ordersSucceeded: settled.success, ordersPerSec: e2e.perSec * spec.ordersPerCheckout }
        : {}),
      failed: settled.failed,
      notFinal: settled.notFinal,
      successP50Ms: success.p50Ms,
      successP99Ms: success.p99Ms,
      ...settled.stages,
      ...(spec2.mode === 'open' ? { missedDeadlines: load.missedDeadlines, sent: load.sent } : {}),
      non201: load.completed - created.length,
      loadGenRssMb: load.peakRssMb ?? 0,
      ...costExtra(cost),
      ...net,
    },
  };
  log(formatRows([row]));
  return { row, load, e2ePerSec: e2e.perSec };
}

/** How many API and worker processes (`--apis N --workers N`, 1 each by default): the scaling model's runs. */
export interface PayinsLayout {
  apis: number;
  workers: number;
}

function postmasterPid(cluster: Cluster): () => number | undefined {
  return () => {
    try {
      const pid = Number.parseInt(
        fs.readFileSync(path.join(cluster.dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0] ?? '',
        10,
      );
      return Number.isInteger(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  };
}

async function referenceRow(cluster: Cluster, seconds: number, log: (line: string) => void) {
  // The reference first, on a quiet machine and the same server.
  const tpcb = await measureTpcb(cluster.adminUrl(), { clients: 10, seconds, log });
  if (!tpcb.ok) {
    log(`pgbench: ${tpcb.reason}; the ratio is left out`);
    return { tpcb, row: undefined };
  }
  log(`pgbench TPC-B: ${tpcb.tps} tps`);
  const row: BenchRow = {
    name: 'pgbench TPC-B (reference)',
    conditions: `pgbench tpcb-like, scale ${tpcb.scale}, ${tpcb.clients} clients, 2 threads, ${tpcb.seconds} s, same embedded PostgreSQL, fsync=on`,
    throughputPerSec: tpcb.tps,
    p50Ms: 0,
    p99Ms: 0,
    peakRssMb: 0,
    extra: { pgbench: tpcb.pgbench },
  };
  return { tpcb, row };
}

async function startBursar(cluster: Cluster, layout: PayinsLayout, log: (line: string) => void) {
  const apiPort = await freePort();
  await cluster.start('sandbox', 'sandbox', { PORT: String(apiPort) });
  const apis = [await cluster.start('api', 'api', {}, apiPort)];
  for (let i = 1; i < layout.apis; i++) apis.push(await cluster.start(`api${i + 1}`, 'api'));
  const workers = [];
  for (let i = 0; i < layout.workers; i++)
    workers.push(await cluster.start(i === 0 ? 'worker' : `worker${i + 1}`, 'worker'));
  const sandbox = cluster.processes().find((p) => p.role === 'sandbox');
  const pids: Record<string, () => number | undefined> = {};
  apis.forEach((p, i) => (pids[i === 0 ? 'api' : `api${i + 1}`] = () => p.pid()));
  workers.forEach((p, i) => (pids[i === 0 ? 'worker' : `worker${i + 1}`] = () => p.pid()));
  pids.sandbox = () => sandbox?.pid();
  const rss = new RssSampler(250);
  for (const proc of [...apis, ...workers, sandbox]) rss.track(proc?.pid());
  rss.start();
  const apiUrls = apis.map((p) => `http://127.0.0.1:${p.port}`);
  const apiUrl = apiUrls[0] ?? '';
  await registerSellers(apiUrl, cluster.apiKey, SELLERS);
  log(`layout: ${layout.apis} api, ${layout.workers} worker, 1 sandbox`);
  return { apiUrls, pids, rss };
}

export async function run(
  options: BenchOptions & { openRate?: number } = {},
  layout: PayinsLayout = { apis: 1, workers: 1 },
  cpuProfileDir?: string,
): Promise<BenchRow[]> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const s = settings(options.quick === true);
  const runId = Date.now().toString(36);
  const cluster = await startCluster({
    durability: 'full',
    ...(options.tmpDir === undefined ? {} : { tmpDir: options.tmpDir }),
    env: {
      BURSAR_PAYINS_WORKER_CONCURRENCY: String(s.workerConcurrency),
      SANDBOX_AUTOMATIC_PAYOUTS: 'false',
      ...(cpuProfileDir === undefined
        ? {}
        : {
            NODE_OPTIONS: `--import ${pathToFileURL(path.join(import.meta.dirname, 'cpu-prof-preload.mjs')).href}`,
            BENCH_CPU_PROF_DIR: path.resolve(cpuProfileDir),
          }),
    },
    pgSettings: PG_STAT_SETTINGS,
    log,
  });
  const rows: BenchRow[] = [];
  try {
    const reference = await referenceRow(cluster, s.pgbenchSeconds, log);
    if (reference.row) rows.push(reference.row);
    const { apiUrls, pids, rss } = await startBursar(cluster, layout, log);
    const meter = new CostMeter(
      new pg.Pool({ connectionString: cluster.adminUrl(), max: 1 }),
      pids,
      postmasterPid(cluster),
      new URL(cluster.databaseUrl).pathname.slice(1),
    );
    if (!(await meter.enableStatements())) log('pg_stat_statements unavailable: no statement counts');
    const waitPool = new pg.Pool({ connectionString: cluster.adminUrl(), max: 1 });
    const bench: Bench = {
      idle: undefined,
      waits: new WaitSampler(waitPool, new URL(cluster.databaseUrl).pathname.slice(1)),
      cluster,
      apiUrls,
      rss,
      meter,
      tpcb: reference.tpcb,
      layout:
        `processes ${layout.apis} api + ${layout.workers} worker + sandbox ` +
        `(worker concurrency ${WORKER_CONCURRENCY})`,
      log,
    };
    try {
      await warmUp(bench, runId);
      bench.idle = await measureIdle(meter, log);
      const closed = await phase(bench, {
        label: `closed x${s.closedConcurrency}`,
        load: { mode: 'closed', concurrency: s.closedConcurrency },
        durationMs: s.phaseMs,
        runId: `${runId}c`,
        ordersPerCheckout: 1,
      });
      rows.push(closed.row);
      const rate = options.openRate ?? Math.max(5, Math.round(closed.e2ePerSec * 0.5));
      const open = await phase(bench, {
        label: `open ${rate}/s (${options.openRate === undefined ? "half the closed loop's rate" : 'rate given'})`,
        load: { mode: 'open', ratePerSec: rate, deadlineMs: 1000 },
        durationMs: s.phaseMs,
        runId: `${runId}o`,
        ordersPerCheckout: 1,
      });
      rows.push(open.row);
      const three = await phase(bench, {
        label: `closed x${s.closedConcurrency}, 3 orders per checkout`,
        load: { mode: 'closed', concurrency: s.closedConcurrency },
        durationMs: s.phaseMs / 2,
        runId: `${runId}t`,
        ordersPerCheckout: 3,
      });
      rows.push(three.row);
    } finally {
      rss.stop();
      await meter.close();
      await waitPool.end();
    }
  } finally {
    // A profiled process writes its profile when it exits by itself: ask each to stop before the cluster kills it.
    if (cpuProfileDir !== undefined) await Promise.all(cluster.processes().map((proc) => proc.stop()));
    await cluster.stop();
  }
  return rows;
}

/** Warm-up (JIT, connection pools, caches); its checkouts are not counted. */
async function warmUp(bench: Bench, runId: string): Promise<void> {
  await runLoad({
    baseUrls: bench.apiUrls,
    method: 'POST',
    path: '/v1/payments',
    headers: { authorization: `Bearer ${bench.cluster.apiKey}`, 'idempotency-key': `warm-${runId}-{{seq}}` },
    body: body(`${runId}w`),
    mode: 'closed',
    concurrency: 8,
    durationMs: 2_000,
  });
  await waitSettled(bench.cluster, `b${runId}w_`, 0);
}

function stringArg(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

function layoutArg(name: string): number {
  const index = process.argv.indexOf(name);
  const value = index >= 0 ? Number.parseInt(process.argv[index + 1] ?? '', 10) : 1;
  return Number.isInteger(value) && value > 0 ? value : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const openRate = Number.parseInt(stringArg('--open-rate') ?? '', 10);
  run(
    { quick: process.argv.includes('--quick'), ...(openRate > 0 ? { openRate } : {}) },
    { apis: layoutArg('--apis'), workers: layoutArg('--workers') },
    stringArg('--cpu-prof'),
  )
    .then((rows) => process.stdout.write(`\n${formatRows(rows)}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    });
}
