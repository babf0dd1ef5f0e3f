/**
 * PSP-event benchmark (issue 17: "PSP events are processed faster than they arrive: at least 1,000 events/s on
 * their own"). Correctly signed Stripe-shaped webhooks, as the sandbox sends them, delivered to the API's webhook
 * route by a closed loop of C clients (bench/psp-events/client.ts, its own process), and processed by the worker.
 *
 *   npx tsx bench/psp-events/run.ts [--quick] [--cpu-prof]
 *
 * Layout: one embedded PostgreSQL (fsync, synchronous_commit, full_page_writes on); Bursar as three processes
 * (`--role api`, `--role worker`, `--role sandbox`).
 *
 * Setup (not measured): saved-method checkouts through the API and the sandbox, settled; some checkouts paid with
 * the sandbox's review card, left PENDING (in flight: the review never ends by itself); partial refunds of some
 * paid orders. The sandbox's own webhooks for all of them are delivered and processed. Every event the sandbox
 * recorded meanwhile (payment_intent.created, charge.succeeded, payment_intent.succeeded, charge.refunded,
 * refund.created, refund.updated, charge.pending, payment_intent.processing…) is a template.
 *
 * The events sent: the templates in the order the sandbox emitted them, over and over, each copy with a fresh
 * event id (a new event about a real object, which for a settled order changes nothing); one
 * `payment_intent.succeeded` per in-flight order (the review ending: the order moves to SUCCESS and is booked);
 * and every 25th event a re-send of an earlier one, same id and body (a duplicate: stored once).
 *
 * Phases, each with its own events:
 * 1. accept alone: the worker is stopped, N events are sent; accepted per second at the route and the accept
 *    latency, with the API's and PostgreSQL's CPU per event.
 * 2. backlog drain: the worker starts and processes the N stored events on its own; processed per second from its
 *    first processed event to the backlog being empty.
 * 3. together: the worker runs while N more events are sent; accepted per second, processed per second from the
 *    first accept to the backlog drained, the backlog when the last event was accepted, and the cost per event of
 *    every process.
 * Each phase checks that every distinct event was processed once (none failed or dead-lettered), that duplicates
 * were stored once, and that the in-flight orders it settled are SUCCESS with one ledger entry each.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../../src/db/embedded.ts';
import { startCluster, type BursarProcess, type Cluster } from '../../chaos/cluster.ts';
import { CostMeter, costExtra, PG_STAT_SETTINGS, type CostPerUnit } from '../lib/cost.ts';
import { measureTpcb, type TpcbResult } from '../lib/pgbench.ts';
import { latencySummary, RssSampler } from '../lib/stats.ts';
import { formatRows } from '../lib/table.ts';
import type { BenchOptions, BenchRow } from '../lib/types.ts';
import type { SenderResult, SenderSpec } from './client.ts';
import { summarizeCpuProfiles } from './cpu-profile.ts';
import { runWhenMain } from '../lib/standalone.ts';

const SELLERS = 10;
const SETUP_TIMEOUT_MS = 240_000;
const DRAIN_TIMEOUT_MS = 240_000;
const DUPLICATE_EVERY = 25;
const CLIENT = path.join(import.meta.dirname, 'client.ts');

interface Settings {
  settledOrders: number;
  reviewOrders: number;
  refunds: number;
  eventsPerPhase: number;
  clients: number;
  pgbenchSeconds: number;
}

function settings(quick: boolean): Settings {
  return quick
    ? {
        settledOrders: 40,
        reviewOrders: 10,
        refunds: 6,
        eventsPerPhase: 2_000,
        clients: 16,
        pgbenchSeconds: 5,
      }
    : {
        settledOrders: 150,
        reviewOrders: 40,
        refunds: 20,
        eventsPerPhase: 6_000,
        clients: 32,
        pgbenchSeconds: 10,
      };
}

type Log = (line: string) => void;

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function apiPost(
  apiUrl: string,
  apiKey: string,
  route: string,
  body: unknown,
  key?: string,
): Promise<void> {
  const response = await fetch(`${apiUrl}${route}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${apiKey}`,
      'content-type': 'application/json',
      ...(key === undefined ? {} : { 'idempotency-key': key }),
    },
    body: JSON.stringify(body),
  });
  if (response.status >= 300 && response.status !== 409)
    throw new Error(`POST ${route}: HTTP ${response.status} ${await response.text()}`);
  await response.body?.cancel();
}

/** Runs `work` over `items`, `width` at a time. */
async function inParallel<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let i = next++; i < items.length; i = next++) await work(items[i] as T);
    }),
  );
}

interface SetupResult {
  settled: string[];
  inFlight: string[];
}

/** Checkouts (settled and in review) and refunds through the API; waits until their webhooks are processed. */
async function setUp(cluster: Cluster, apiUrl: string, s: Settings, runId: string, log: Log) {
  for (let i = 0; i < SELLERS; i++)
    await apiPost(apiUrl, cluster.apiKey, '/v1/sellers', {
      seller_account: `seller_${i}`,
      name: `Seller ${i}`,
      currency: 'USD',
    });
  const checkout = (id: string, method: string, seq: number) => ({
    checkout_id: id,
    buyer_info: { id: `buyer_${seq % 50}`, country: 'US' },
    credit_card_info: { payment_method: method },
    payment_orders: [
      {
        payment_order_id: `${id}_po`,
        seller_account: `seller_${seq % SELLERS}`,
        amount: '12.34',
        currency: 'USD',
      },
    ],
  });
  const plans = [
    ...Array.from({ length: s.settledOrders }, (_, i) => ({ id: `s${runId}_${i}`, method: 'pm_card_visa' })),
    ...Array.from({ length: s.reviewOrders }, (_, i) => ({
      id: `r${runId}_${i}`,
      method: 'pm_card_sandbox_review',
    })),
  ];
  await inParallel(plans, 8, async (plan) => {
    const seq = Number(plan.id.split('_')[1]);
    await apiPost(
      apiUrl,
      cluster.apiKey,
      '/v1/payments',
      checkout(plan.id, plan.method, seq),
      `bench-${plan.id}`,
    );
  });
  const settled = plans.filter((p) => p.method === 'pm_card_visa').map((p) => `${p.id}_po`);
  const inFlight = plans.filter((p) => p.method !== 'pm_card_visa').map((p) => `${p.id}_po`);
  await waitFor('the setup orders to settle', SETUP_TIMEOUT_MS, async () => {
    const r = await cluster.pool.query<{ ok: string }>(
      `SELECT count(*) FILTER (WHERE payment_order_id = ANY($1) AND payment_order_status = 'SUCCESS')
            + count(*) FILTER (WHERE payment_order_id = ANY($2) AND payment_order_status = 'PENDING') AS ok
         FROM payins.payment_order`,
      [settled, inFlight],
    );
    return Number(r.rows[0]?.ok ?? 0) === plans.length;
  });
  await inParallel(settled.slice(0, s.refunds), 4, async (orderId) => {
    await apiPost(
      apiUrl,
      cluster.apiKey,
      '/v1/refunds',
      { payment_order_id: orderId, amount: '1.00' },
      `rf-${orderId}`,
    );
  });
  await waitFor('the setup refunds and every webhook to be processed', SETUP_TIMEOUT_MS, async () => {
    const r = await cluster.pool.query<{ refunds: string; backlog: string; deliveries: string }>(
      `SELECT (SELECT count(*) FROM refunds.refunds WHERE status = 'succeeded') AS refunds,
              (SELECT count(*) FROM payins.psp_events WHERE processed_at IS NULL AND dead_lettered_at IS NULL) AS backlog,
              (SELECT count(*) FROM sandbox.webhook_deliveries WHERE status NOT IN ('delivered', 'dropped', 'failed')) AS deliveries`,
    );
    const row = r.rows[0];
    return Number(row?.refunds) === s.refunds && Number(row?.backlog) === 0 && Number(row?.deliveries) === 0;
  });
  log(`setup: ${settled.length} settled orders, ${inFlight.length} in review, ${s.refunds} refunds`);
  return { settled, inFlight } satisfies SetupResult;
}

type Json = Record<string, unknown>;

/** What the sandbox emitted during the setup, oldest first (the templates), and the in-flight orders' intents. */
async function templates(cluster: Cluster): Promise<{ events: Json[]; reviewIntents: Json[] }> {
  const events = await cluster.pool.query<{ data: Json }>(
    `SELECT data FROM sandbox.objects WHERE object = 'event' ORDER BY created, id`,
  );
  const intents = await cluster.pool.query<{ data: Json }>(
    `SELECT data FROM sandbox.objects WHERE object = 'payment_intent' AND data->>'status' = 'processing' ORDER BY id`,
  );
  return { events: events.rows.map((row) => row.data), reviewIntents: intents.rows.map((row) => row.data) };
}

/** The review ending: the intent succeeded, as the sandbox would announce it. */
function reviewEnded(intent: Json, id: string, apiVersion: unknown): Json {
  return {
    id,
    object: 'event',
    api_version: apiVersion,
    created: Math.floor(Date.now() / 1000),
    data: { object: { ...intent, status: 'succeeded' } },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: 'payment_intent.succeeded',
  };
}

/**
 * The phase's event bodies, one a line: copies of the templates with fresh ids, the in-flight orders' successes
 * spread evenly, and every DUPLICATE_EVERY-th line an earlier line again. Returns the file and the distinct count.
 */
function writeEvents(
  file: string,
  label: string,
  count: number,
  source: { events: Json[]; reviewIntents: Json[] },
): { distinct: number } {
  const lines: string[] = [];
  const every = source.reviewIntents.length === 0 ? 0 : Math.floor(count / (source.reviewIntents.length + 1));
  let template = 0;
  let review = 0;
  let distinct = 0;
  for (let i = 0; lines.length < count; i++) {
    if (lines.length % DUPLICATE_EVERY === DUPLICATE_EVERY - 1 && lines.length > 100) {
      lines.push(lines[lines.length - 100] ?? '');
      continue;
    }
    const id = `evt_${label}_${i}`;
    const intent = every > 0 && i > 0 && i % every === 0 ? source.reviewIntents[review] : undefined;
    if (intent !== undefined) {
      review++;
      lines.push(JSON.stringify(reviewEnded(intent, id, source.events[0]?.api_version)));
    } else {
      const base = source.events[template++ % source.events.length] ?? {};
      lines.push(JSON.stringify({ ...base, id, created: Math.floor(Date.now() / 1000) }));
    }
    distinct++;
  }
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return { distinct };
}

async function send(spec: SenderSpec): Promise<SenderResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLIENT, JSON.stringify(spec)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const line = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || line === '')
    throw new Error(`the webhook sender failed (exit ${String(code)}): ${err.slice(-2000)}`);
  return JSON.parse(line) as SenderResult;
}

interface PhaseEvents {
  prefix: string;
  distinct: number;
  sent: SenderResult;
}

interface Counts {
  stored: number;
  processed: number;
  backlog: number;
  dead: number;
  failedAttempts: number;
  firstProcessedMs: number;
  outcomes: string;
}

async function countsOf(cluster: Cluster, prefix: string): Promise<Counts> {
  const r = await cluster.pool.query<{
    stored: string;
    processed: string;
    backlog: string;
    dead: string;
    failed: string;
    first_ms: string | null;
  }>(
    `SELECT count(*) AS stored, count(processed_at) AS processed,
            count(*) FILTER (WHERE processed_at IS NULL AND dead_lettered_at IS NULL) AS backlog,
            count(dead_lettered_at) AS dead, count(*) FILTER (WHERE attempts > 0) AS failed,
            (extract(epoch FROM min(processed_at)) * 1000)::bigint::text AS first_ms
       FROM payins.psp_events WHERE event_id LIKE $1`,
    [`${prefix}%`],
  );
  const outcomes = await cluster.pool.query<{ outcome: string; n: string }>(
    `SELECT regexp_replace(coalesce(outcome, '(none)'), '(pi|ch|re|po|cs|evt)_[A-Za-z0-9_]+', '…', 'g') AS outcome,
            count(*) AS n
       FROM payins.psp_events WHERE event_id LIKE $1 GROUP BY 1 ORDER BY 2 DESC LIMIT 8`,
    [`${prefix}%`],
  );
  const row = r.rows[0];
  return {
    stored: Number(row?.stored ?? 0),
    processed: Number(row?.processed ?? 0),
    backlog: Number(row?.backlog ?? 0),
    dead: Number(row?.dead ?? 0),
    failedAttempts: Number(row?.failed ?? 0),
    firstProcessedMs: Number(row?.first_ms ?? 0),
    outcomes: outcomes.rows.map((o) => `${o.n}× ${o.outcome}`).join('; '),
  };
}

/** Polls the backlog (the unprocessed-events index) until it is empty; returns when it was first seen empty. */
async function drained(cluster: Cluster): Promise<number> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const r = await cluster.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM payins.psp_events WHERE processed_at IS NULL AND dead_lettered_at IS NULL',
    );
    if (Number(r.rows[0]?.n ?? 0) === 0) return Date.now();
    if (Date.now() > deadline) throw new Error(`backlog not drained in ${DRAIN_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits for the phase's first processed event; returns how many were processed by then. */
async function firstProcessed(cluster: Cluster, prefix: string): Promise<number> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const r = await cluster.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM payins.psp_events WHERE event_id LIKE $1 AND processed_at IS NOT NULL',
      [`${prefix}%`],
    );
    const n = Number(r.rows[0]?.n ?? 0);
    if (n > 0) return n;
    if (Date.now() > deadline) throw new Error('no event processed');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What must hold after a phase: every distinct event processed once, duplicates stored once, no double booking. */
async function violationsOf(cluster: Cluster, phase: PhaseEvents, counts: Counts): Promise<string[]> {
  const violations: string[] = [];
  if (counts.stored !== phase.distinct)
    violations.push(`${counts.stored} events stored for ${phase.distinct} distinct ids`);
  if (counts.processed !== phase.distinct)
    violations.push(`${counts.processed} of ${phase.distinct} processed`);
  if (counts.dead + counts.failedAttempts > 0)
    violations.push(`${counts.failedAttempts} events failed, ${counts.dead} dead-lettered`);
  const non200 = phase.sent.sent - (phase.sent.statuses['200'] ?? 0);
  if (non200 > 0)
    violations.push(`${non200} webhooks not answered 200: ${JSON.stringify(phase.sent.statuses)}`);
  const booked = await cluster.pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM (SELECT reference FROM ledger.entries GROUP BY reference HAVING count(*) > 1) d`,
  );
  if (Number(booked.rows[0]?.n ?? 0) > 0)
    violations.push(`${booked.rows[0]?.n} ledger references booked twice`);
  return violations;
}

interface Bench {
  cluster: Cluster;
  apiUrl: string;
  worker: BursarProcess;
  meter: CostMeter;
  rss: RssSampler;
  s: Settings;
  source: { events: Json[]; reviewIntents: Json[] };
  runId: string;
  tpcb: TpcbResult;
  log: Log;
}

async function deliver(bench: Bench, label: string, intents: Json[]): Promise<PhaseEvents> {
  const prefix = `evt_${bench.runId}${label}_`;
  const file = path.join(bench.cluster.dataDir, `events-${label}.jsonl`);
  const { distinct } = writeEvents(file, `${bench.runId}${label}`, bench.s.eventsPerPhase, {
    events: bench.source.events,
    reviewIntents: intents,
  });
  const sent = await send({
    url: `${bench.apiUrl}/v1/webhooks/psp/stripe`,
    secret: bench.cluster.webhookSecret,
    file,
    concurrency: bench.s.clients,
  });
  return { prefix, distinct, sent };
}

function acceptFigures(sent: SenderResult) {
  const ok = sent.samples.filter((sample) => sample[3] === 200).length;
  const ms = Math.max(1, sent.lastAnsweredAtMs - sent.firstSentAtMs);
  return {
    ok,
    perSec: Math.round((ok / ms) * 1000),
    ms,
    latency: latencySummary(sent.samples.map((x) => x[2])),
  };
}

function conditions(bench: Bench, what: string): string {
  return (
    `${what}; ${bench.s.eventsPerPhase} events (${bench.source.events.length} sandbox templates, fresh ids; 1 in ` +
    `${DUPLICATE_EVERY} a duplicate; ${bench.source.reviewIntents.length / 2} settling an in-flight order), ` +
    `closed loop ${bench.s.clients} clients; processes api + worker + sandbox; PostgreSQL fsync=on synchronous_commit=on`
  );
}

function tpcbFields(tpcb: TpcbResult): Pick<BenchRow, 'reference' | 'referenceMissing'> {
  return tpcb.ok
    ? { reference: { name: `pgbench TPC-B (${tpcb.clients} clients)`, perSec: tpcb.tps } }
    : { referenceMissing: tpcb.reason };
}

/** Phases 1 and 2: the route alone (worker stopped), then the worker alone on the backlog. */
async function acceptThenDrain(bench: Bench, intents: Json[]): Promise<BenchRow[]> {
  const { cluster, meter, log } = bench;
  await bench.worker.stop();
  bench.rss.reset();
  await meter.resetStatements();
  const before = await meter.snapshot();
  const phase = await deliver(bench, 'a', intents);
  const cost = meter.perUnit(before, await meter.snapshot(), phase.sent.sent);
  log(`  accept alone, most frequent statements:\n${(await meter.topStatements(12)).join('\n')}`);
  const accept = acceptFigures(phase.sent);
  const acceptRow: BenchRow = {
    name: 'psp-events accept (worker stopped)',
    conditions: conditions(bench, 'POST /v1/webhooks/psp/stripe, nothing processing'),
    throughputPerSec: accept.perSec,
    p50Ms: accept.latency.p50Ms,
    p99Ms: accept.latency.p99Ms,
    peakRssMb: bench.rss.peakTotalMb(),
    ...tpcbFields(bench.tpcb),
    extra: {
      sent: phase.sent.sent,
      accepted: accept.ok,
      duplicatesAnswered: phase.sent.duplicates,
      statuses: JSON.stringify(phase.sent.statuses),
      ...costExtra(cost, 'event'),
    },
  };
  log(formatRows([acceptRow]));

  const started = Date.now();
  const restarting = bench.worker.restart();
  // The processing's own cost: from its first processed event (the worker's start-up is not counted) to the end.
  const first = await firstProcessed(cluster, phase.prefix);
  await meter.resetStatements();
  const from = await meter.snapshot(0);
  const drainedAt = await drained(cluster);
  await restarting;
  const drainCost = meter.perUnit(from, await meter.snapshot(), phase.distinct - first);
  bench.rss.track(bench.worker.pid());
  log(`  drain, most frequent statements:\n${(await meter.topStatements(15)).join('\n')}`);
  const counts = await countsOf(cluster, phase.prefix);
  const ms = Math.max(1, drainedAt - counts.firstProcessedMs);
  const drainRow: BenchRow = {
    name: 'psp-events processed, backlog drain (worker alone)',
    conditions: conditions(
      bench,
      `the accept phase's stored events, drained by 1 worker process started after`,
    ),
    throughputPerSec: Math.round((counts.processed / ms) * 1000),
    p50Ms: 0,
    p99Ms: 0,
    peakRssMb: bench.rss.peakTotalMb(),
    ...tpcbFields(bench.tpcb),
    extra: {
      processed: counts.processed,
      drainMs: ms,
      workerStartToDrainedMs: drainedAt - started,
      outcomes: counts.outcomes,
      violations: (await violationsOf(cluster, phase, counts)).join(' | ') || 'none',
      ...costExtra(drainCost, 'event'),
    },
  };
  log(formatRows([drainRow]));
  return [acceptRow, drainRow];
}

/** Phase 3: sending while the worker processes. */
async function together(bench: Bench, intents: Json[]): Promise<BenchRow> {
  const { cluster, meter, log } = bench;
  bench.rss.reset();
  await meter.resetStatements();
  const before = await meter.snapshot();
  let backlogAtLastAccept = -1;
  const phase = await deliver(bench, 't', intents);
  {
    const r = await cluster.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM payins.psp_events WHERE processed_at IS NULL AND dead_lettered_at IS NULL',
    );
    backlogAtLastAccept = Number(r.rows[0]?.n ?? 0);
  }
  const drainedAt = await drained(cluster);
  const cost: CostPerUnit = meter.perUnit(before, await meter.snapshot(), phase.sent.sent);
  log(`  together, most frequent statements:\n${(await meter.topStatements(20)).join('\n')}`);
  const counts = await countsOf(cluster, phase.prefix);
  const accept = acceptFigures(phase.sent);
  const ms = Math.max(1, drainedAt - phase.sent.firstSentAtMs);
  const row: BenchRow = {
    name: 'psp-events accept + process together',
    conditions: conditions(bench, 'sent while 1 worker process processes'),
    throughputPerSec: Math.round((counts.processed / ms) * 1000),
    p50Ms: accept.latency.p50Ms,
    p99Ms: accept.latency.p99Ms,
    peakRssMb: bench.rss.peakTotalMb(),
    ...tpcbFields(bench.tpcb),
    extra: {
      acceptedPerSec: accept.perSec,
      processed: counts.processed,
      firstAcceptToDrainedMs: ms,
      backlogAtLastAccept,
      drainAfterLastAcceptMs: drainedAt - phase.sent.lastAnsweredAtMs,
      duplicatesAnswered: phase.sent.duplicates,
      outcomes: counts.outcomes,
      violations: (await violationsOf(cluster, phase, counts)).join(' | ') || 'none',
      ...costExtra(cost, 'event'),
    },
  };
  log(formatRows([row]));
  return row;
}

function postmasterPid(cluster: Cluster): () => number | undefined {
  return () => {
    try {
      const text = fs.readFileSync(path.join(cluster.dataDir, 'pg', 'postmaster.pid'), 'utf8');
      const pid = Number.parseInt(text.split('\n')[0] ?? '', 10);
      return Number.isInteger(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  };
}

/** `--cpu-prof` (or BENCH_CPU_PROF=1): the API's and the worker's CPU is sampled (cpu-prof-hook.mjs), summarised at the end. */
function cpuProfWanted(): boolean {
  return process.argv.includes('--cpu-prof') || (process.env.BENCH_CPU_PROF ?? '') !== '';
}

function profiled(cluster: Cluster, name: string): NodeJS.ProcessEnv {
  if (!cpuProfWanted()) return {};
  const dir = path.join(cluster.dataDir, `cpu-prof-${name}`);
  fs.mkdirSync(dir, { recursive: true });
  const hook = path.join(import.meta.dirname, 'cpu-prof-hook.mjs');
  return {
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${hook}`.trim(),
    BENCH_CPU_PROF_DIR: dir,
  };
}

/** Stops the profiled processes (a profile is written on a clean exit) and prints where their CPU went. */
async function reportCpuProfiles(cluster: Cluster, processes: BursarProcess[], log: Log): Promise<void> {
  if (!cpuProfWanted()) return;
  for (const proc of processes) await proc.stop();
  for (const name of ['api', 'worker'])
    log(`${name}:\n${summarizeCpuProfiles(path.join(cluster.dataDir, `cpu-prof-${name}`))}`);
}

async function startProcesses(cluster: Cluster) {
  const apiPort = await freePort();
  const sandbox = await cluster.start('sandbox', 'sandbox', { PORT: String(apiPort) });
  const api = await cluster.start('api', 'api', profiled(cluster, 'api'), apiPort);
  const worker = await cluster.start('worker', 'worker', profiled(cluster, 'worker'));
  return { sandbox, api, worker, apiUrl: `http://127.0.0.1:${apiPort}` };
}

export async function run(options: BenchOptions = {}): Promise<BenchRow[]> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const s = settings(options.quick === true);
  const runId = Date.now().toString(36);
  const cluster = await startCluster({
    durability: 'full',
    ...(options.tmpDir === undefined ? {} : { tmpDir: options.tmpDir }),
    // Reviews never end by themselves (the bench's events end them); no automatic payouts; refunds settle fast.
    env: { SANDBOX_AUTOMATIC_PAYOUTS: 'false', SANDBOX_REVIEW_DELAY_MS: '0', SANDBOX_REFUND_DELAY_MS: '200' },
    pgSettings: PG_STAT_SETTINGS,
    log,
  });
  const rows: BenchRow[] = [];
  try {
    const tpcb = await measureTpcb(cluster.adminUrl(), { clients: 10, seconds: s.pgbenchSeconds, log });
    log(tpcb.ok ? `pgbench TPC-B: ${tpcb.tps} tps` : `pgbench: ${tpcb.reason}`);
    const { sandbox, api, worker, apiUrl } = await startProcesses(cluster);
    const setup = await setUp(cluster, apiUrl, s, runId, log);
    const source = await templates(cluster);
    log(
      `templates: ${source.events.length} sandbox events, ${source.reviewIntents.length} intents in review`,
    );
    const rss = new RssSampler(250);
    for (const proc of [api, worker, sandbox]) rss.track(proc.pid());
    rss.start();
    const meter = new CostMeter(
      new pg.Pool({ connectionString: cluster.adminUrl(), max: 1 }),
      { api: () => api.pid(), worker: () => worker.pid(), sandbox: () => sandbox.pid() },
      postmasterPid(cluster),
      new URL(cluster.databaseUrl).pathname.slice(1),
    );
    if (!(await meter.enableStatements())) log('pg_stat_statements unavailable: no statement counts');
    const bench: Bench = { cluster, apiUrl, worker, meter, rss, s, source, runId, tpcb, log };
    try {
      const half = Math.floor(source.reviewIntents.length / 2);
      rows.push(...(await acceptThenDrain(bench, source.reviewIntents.slice(0, half))));
      rows.push(await together(bench, source.reviewIntents.slice(half)));
      const moved = await cluster.pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM payins.payment_order WHERE payment_order_id = ANY($1) AND payment_order_status = 'SUCCESS'`,
        [setup.inFlight],
      );
      log(`in-flight orders settled by the bench's events: ${moved.rows[0]?.n} of ${setup.inFlight.length}`);
      await reportCpuProfiles(cluster, [api, worker], log);
    } finally {
      rss.stop();
      await meter.close();
    }
  } finally {
    await cluster.stop();
  }
  return rows;
}

runWhenMain(import.meta.url, () => run({ quick: process.argv.includes('--quick') }));
