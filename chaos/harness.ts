import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../src/db/embedded.ts';
import { checkPspEventBacklog, runChecks, type CheckResult } from './checks.ts';
import { runMoneyBackChecks, settleMoneyBack } from './checks-moneyback.ts';
import {
  driveCheckout,
  REVIEW_CARD,
  type CheckoutPlan,
  type CheckoutRecord,
  type ClientEnv,
} from './client.ts';
import { startCluster, type BursarProcess, type Cluster } from './cluster.ts';
import {
  driveMoneyBack,
  loadPaidCharges,
  planMoneyBack,
  type MoneyBackEnv,
  type MoneyBackRecord,
} from './moneyback.ts';
import { Prng } from './prng.ts';

/**
 * The chaos run: Bursar as separate processes (API ×N, worker ×M, sandbox PSP) on one PostgreSQL, a bounded stream
 * of checkouts of both flows for many sellers, while the sandbox injects faults, processes are SIGKILLed and
 * restarted, and the client retries with the same Idempotency-Keys. Then it waits for the sweepers and pollers to
 * settle everything and checks the invariants (chaos/checks.ts). Every random choice draws from one seed.
 */

export interface ChaosOptions {
  seed: number;
  checkouts: number;
  kills: number;
  /** Kills while refunds and disputes are driven (after the checkouts). */
  moneyBackKills: number;
  /**
   * Whether the PSP may drop webhooks while refunds and disputes are driven (true by default). A refund or a
   * dispute whose every webhook is lost is found by Bursar's discovery (the refund worker's `refund_discover`
   * every `BURSAR_REFUNDS_DISCOVER_MS`, 2 s here; the dispute poller's listing), so it is booked once all the same.
   */
  moneyBackWebhookDrops?: boolean;
  sellers: number;
  /** Checkouts in flight at once. */
  concurrency: number;
  apis: number;
  workers: number;
  /** After the last checkout, how long the sweepers and pollers get to settle everything. */
  settleTimeoutMs: number;
  /**
   * How many times PostgreSQL is SIGKILLed (its whole process group) and restarted during the run (0: never).
   * When above 0 it runs with fsync on (full durability) and Bursar's processes must ride through on their own.
   */
  dbKills: number;
  /** The sandbox's fault configuration (docs/sandbox.md). */
  faults: Record<string, unknown>;
  log: (line: string) => void;
  tmpDir?: string;
}

export const DEFAULT_FAULTS = {
  rules: [
    {
      match: 'POST /v1/payment_intents*',
      latencyMs: 20,
      errorRate: 0.08,
      errorStatuses: [500, 502, 503, 429],
      timeoutRate: 0.03,
      lostResponseRate: 0.05,
    },
    {
      match: 'POST /v1/checkout/sessions',
      latencyMs: 20,
      errorRate: 0.08,
      errorStatuses: [500, 503, 429],
      timeoutRate: 0.02,
      lostResponseRate: 0.05,
    },
    {
      match: 'POST /v1/refunds',
      latencyMs: 20,
      errorRate: 0.08,
      errorStatuses: [500, 502, 503, 429],
      timeoutRate: 0.03,
      lostResponseRate: 0.05,
    },
    { match: 'GET /v1/*', latencyMs: 10, errorRate: 0.05, errorStatuses: [500, 503, 429] },
  ],
  webhooks: { dropRate: 0.1, duplicateRate: 0.1, delayMs: 0, reorder: true, reorderWindowMs: 1500 },
};

export const DEFAULT_CHAOS_OPTIONS: Omit<ChaosOptions, 'log'> = {
  seed: 1,
  checkouts: 2000,
  kills: 12,
  moneyBackKills: 6,
  dbKills: 3,
  sellers: 50,
  concurrency: 24,
  apis: 2,
  workers: 2,
  settleTimeoutMs: 180_000,
  faults: DEFAULT_FAULTS,
};

export interface KillRecord {
  atCheckout: number;
  process: string;
  restartedAfterMs: number;
}

export interface DbKillRecord {
  atCheckout: number;
  downMs: number;
  /** From the kill until the restarted server accepted connections (crash recovery included). */
  recoveredAfterMs: number;
}

export interface ChaosReport {
  seed: number;
  checkouts: number;
  orders: number;
  flows: Record<string, number>;
  kills: KillRecord[];
  dbKills: DbKillRecord[];
  /** The money-back stream: plans by kind (chaos/moneyback.ts). */
  moneyBack: Record<string, number>;
  moneyBackKills: KillRecord[];
  faults: Record<string, number>;
  requests: Record<string, number>;
  outcomes: Record<string, number>;
  hosted: Record<string, number>;
  checks: CheckResult[];
  violations: string[];
  driveMs: number;
  settleMs: number;
  moneyBackMs: number;
  durationMs: number;
}

const SAVED_CARDS: ReadonlyArray<readonly [string, number]> = [
  ['pm_card_visa', 70],
  ['pm_card_mastercard', 8],
  ['pm_card_bypassPending', 4],
  ['pm_card_chargeDeclined', 7],
  ['pm_card_chargeDeclinedInsufficientFunds', 5],
  ['pm_card_sandbox_review', 6],
];

function planCheckouts(options: ChaosOptions, runId: string): CheckoutPlan[] {
  const random = new Prng(options.seed);
  const plans: CheckoutPlan[] = [];
  for (let index = 0; index < options.checkouts; index++) {
    const checkoutId = `cx${runId}_${index}`;
    const flow = random.chance(0.7) ? 'saved_method' : 'hosted_page';
    const orderCount = random.weighted([
      [1, 60],
      [2, 25],
      [3, 15],
    ] as const);
    const sellers = new Set<number>();
    while (sellers.size < orderCount) sellers.add(random.int(0, options.sellers - 1));
    const orders = [...sellers].map((seller, position) => ({
      payment_order_id: `${checkoutId}_${position}`,
      seller_account: `chaos_seller_${seller}`,
      // Cents drawn as an integer; money never goes through a float.
      amount: `${random.int(1, 499)}.${String(random.int(0, 99)).padStart(2, '0')}`,
      currency: 'USD',
    }));
    const card = random.weighted(SAVED_CARDS);
    const hostedCards = random.chance(0.1)
      ? ['4000000000000002', '4242424242424242']
      : random.chance(0.06)
        ? [REVIEW_CARD]
        : ['4242424242424242'];
    plans.push({
      index,
      checkoutId,
      idempotencyKey: `chaos-${runId}-${index}`,
      flow,
      body: {
        checkout_id: checkoutId,
        buyer_info: { id: `buyer_${random.int(0, 499)}`, email: `buyer${index}@example.com`, country: 'US' },
        credit_card_info:
          flow === 'saved_method'
            ? { payment_method: card }
            : { flow: 'hosted_page', return_url: `https://shop.example/return/${checkoutId}` },
        payment_orders: orders,
      },
      concurrentCopies: random.chance(0.25) ? random.int(1, 2) : 0,
      retryAfterAnswer: random.chance(0.2),
      hostedCards,
      abandon: flow === 'hosted_page' && random.chance(0.05),
    });
  }
  return plans;
}

function processEnv(options: ChaosOptions): NodeJS.ProcessEnv {
  return {
    // Short delays so that a run settles in seconds, not the production minutes.
    BURSAR_PAYINS_TICK_MS: '300',
    BURSAR_PAYINS_SWEEP_AFTER_MS: '4000',
    BURSAR_PAYINS_SWEEP_BASE_MS: '1000',
    BURSAR_PAYINS_SWEEP_MAX_MS: '4000',
    BURSAR_PAYINS_MAX_SWEEPS: '1000',
    BURSAR_PAYINS_POLL_AFTER_MS: '3000',
    BURSAR_PAYINS_POLL_BASE_MS: '1000',
    BURSAR_PAYINS_POLL_MAX_MS: '4000',
    BURSAR_PAYINS_MAX_POLLS: '1000',
    BURSAR_PAYINS_MAX_ATTEMPTS: '40',
    BURSAR_PAYINS_RETRY_BASE_MS: '200',
    BURSAR_PAYINS_RETRY_MAX_MS: '3000',
    BURSAR_PAYINS_WORKER_CONCURRENCY: '16',
    BURSAR_PAYINS_FEE_RETRY_BASE_MS: '300',
    BURSAR_PAYINS_FEE_RETRY_MAX_MS: '3000',
    BURSAR_PAYINS_FEE_MAX_ATTEMPTS: '100',
    BURSAR_IDEMPOTENCY_LEASE_MS: '5000',
    BURSAR_REFUNDS_TICK_MS: '300',
    BURSAR_REFUNDS_LEASE_MS: '5000',
    BURSAR_REFUNDS_POLL_AFTER_MS: '3000',
    BURSAR_REFUNDS_MAX_ATTEMPTS: '40',
    BURSAR_REFUNDS_RETRY_BASE_MS: '200',
    BURSAR_REFUNDS_RETRY_MAX_MS: '3000',
    // Refunds whose every webhook the PSP dropped (ours, and those made at the PSP) are discovered this often.
    BURSAR_REFUNDS_DISCOVER_MS: '2000',
    BURSAR_DISPUTES_POLL_MS: '3000',
    BURSAR_DISPUTES_TICK_MS: '500',
    SANDBOX_REFUND_DELAY_MS: '1500',
    // The sandbox's admin API (disputes opened and closed by the run); a key of this run's own.
    SANDBOX_ADMIN_KEY: `sbx_admin_${randomBytes(18).toString('hex')}`,
    STRIPE_TIMEOUT_MS: '2000',
    SANDBOX_FAULTS: JSON.stringify(options.faults),
    SANDBOX_SEED: String(options.seed),
    SANDBOX_REVIEW_DELAY_MS: '3000',
    SANDBOX_TICK_MS: '300',
    SANDBOX_AUTOMATIC_PAYOUTS: 'false',
    // A process exits when the database stays unreachable longer than this; the database's outages here are
    // seconds, and the processes must ride through them, never give up.
    BURSAR_DB_OUTAGE_LIMIT_MS: '600000',
  };
}

async function registerSellers(apiUrl: string, apiKey: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${apiUrl}/v1/sellers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ seller_account: `chaos_seller_${i}`, name: `Seller ${i}`, currency: 'USD' }),
    });
    await response.arrayBuffer();
    if (response.status !== 201 && response.status !== 409)
      throw new Error(`registering chaos_seller_${i}: HTTP ${response.status}`);
  }
}

/** Counts the sandbox's fault decisions from its debug log lines as they stream by. */
function faultCounter(): { onOutput: (chunk: string) => void; counts: Record<string, number> } {
  const counts: Record<string, number> = { psp_error: 0, psp_timeout: 0, psp_lost_response: 0 };
  let partial = '';
  return {
    counts,
    onOutput: (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.includes('sandbox fault: error')) counts.psp_error = (counts.psp_error ?? 0) + 1;
        else if (line.includes('sandbox fault: timeout')) counts.psp_timeout = (counts.psp_timeout ?? 0) + 1;
        else if (line.includes('sandbox fault: lost response'))
          counts.psp_lost_response = (counts.psp_lost_response ?? 0) + 1;
      }
    },
  };
}

/**
 * How long, once every order not in review is final, the settling waits for the reviews to end too (the sandbox
 * ends them after SANDBOX_REVIEW_DELAY_MS): a review ending between the settling and the report would put a charge
 * on the report whose webhook is still on its way — a true difference for reconciliation, but one of timing only.
 */
const REVIEW_GRACE_MS = 20_000;

/** Waits until every order is final (see below); returns how many PSP events were still queued at that moment. */
async function settle(cluster: Cluster, deadlineMs: number, log: (line: string) => void): Promise<number> {
  let lastReport = 0;
  let reviewDeadlineMs: number | undefined;
  for (;;) {
    const result = await cluster.pool.query<{
      open: string;
      review: string;
      undelivered: string;
      fees: string;
    }>(
      `SELECT (SELECT count(*) FROM payins.payment_order o
                WHERE o.payment_order_status NOT IN ('SUCCESS', 'FAILED')
                  AND NOT EXISTS (SELECT 1 FROM sandbox.objects pi
                                   WHERE pi.object = 'payment_intent' AND pi.data->>'status' = 'processing'
                                     AND (pi.data->'metadata'->>'payment_order_id' = o.payment_order_id
                                          OR pi.data->'metadata'->>'checkout_id' = o.checkout_id))) AS open,
              (SELECT count(*) FROM payins.payment_order WHERE payment_order_status NOT IN ('SUCCESS', 'FAILED')) AS review,
              (SELECT count(*) FROM payins.psp_events WHERE processed_at IS NULL AND dead_lettered_at IS NULL) AS undelivered,
              (SELECT count(*) FROM payins.psp_fee_pending WHERE gave_up_at IS NULL) AS fees`,
    );
    const row = result.rows[0];
    const open = Number(row?.open ?? 0);
    const notFinal = Number(row?.review ?? 0);
    const unprocessed = Number(row?.undelivered ?? 0);
    // A success settled without its PSP fee is booked by the worker's psp_fees step: waited for, so that the
    // ledger's PSP clearing is whole before the checks compare it with the report.
    const feesPending = Number(row?.fees ?? 0);
    // Orders final is what "settled" means; PSP events still queued (duplicates, late ones for final orders)
    // change nothing more, so they are reported here and checked at the end (checkPspEventBacklog).
    if (open === 0 && notFinal > 0) reviewDeadlineMs ??= Math.min(deadlineMs, Date.now() + REVIEW_GRACE_MS);
    const ordersSettled = open === 0 && (notFinal === 0 || Date.now() > (reviewDeadlineMs ?? 0));
    if (ordersSettled && feesPending === 0) {
      if (notFinal > 0 || unprocessed > 0)
        log(
          `settled: ${notFinal} orders pending in review at the PSP, ${unprocessed} PSP events still queued`,
        );
      return unprocessed;
    }
    if (Date.now() > deadlineMs) {
      log(
        `settle: time is up with ${notFinal} orders not final (${open} not in review), ${unprocessed} PSP events unprocessed, ${feesPending} PSP fees pending`,
      );
      return unprocessed;
    }
    if (Date.now() - lastReport > 5000) {
      log(
        `settle: ${notFinal} orders not final (${open} not in review), ${unprocessed} PSP events unprocessed, ${feesPending} PSP fees pending…`,
      );
      lastReport = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Bursar's processes ride through the database's deaths: none exited by itself (the harness restarts only the
 * processes it killed; a process that gave up would be gone, or counted here when its own kill came later).
 */
function rideThrough(processes: BursarProcess[], dbKills: number): CheckResult {
  const violations = processes
    .filter((proc) => proc.unplannedExits() > 0 || !proc.alive())
    .map(
      (proc) =>
        `${proc.name} exited by itself ${proc.unplannedExits()} time(s)${proc.alive() ? '' : ' and is down'}`,
    );
  return {
    name: 'processes ride through',
    violations,
    detail: `${processes.length} processes, ${dbKills} database kill(s), no exit but the harness's kills`,
  };
}

/**
 * The money-back phase: once the checkouts settled, refunds and disputes over the paid charges
 * (chaos/moneyback.ts) while `options.moneyBackKills` processes are SIGKILLed and restarted at seeded plans; then
 * it waits for every refund and dispute to be final on both sides.
 */
async function moneyBackPhase(input: {
  options: ChaosOptions;
  cluster: Cluster;
  env: MoneyBackEnv;
  targets: BursarProcess[];
}): Promise<{ records: MoneyBackRecord[]; kinds: Record<string, number>; kills: KillRecord[] }> {
  const { options, cluster, env, targets } = input;
  const plans = planMoneyBack(await loadPaidCharges(cluster), options.seed);
  const kinds: Record<string, number> = {};
  for (const plan of plans) kinds[plan.kind] = (kinds[plan.kind] ?? 0) + 1;
  options.log(
    `money back: ${plans.length} plans (${Object.entries(kinds)
      .map(([k, n]) => `${k}=${n}`)
      .join(' ')})`,
  );
  const random = new Prng(options.seed ^ 0x6b11);
  const killAt = Array.from({ length: options.moneyBackKills }, () =>
    random.int(0, Math.max(0, plans.length - 1)),
  ).sort((a, b) => a - b);
  const kills: KillRecord[] = [];
  let killing: Promise<void> = Promise.resolve();
  const onPlan = (index: number) => {
    while (killAt.length > 0 && (killAt[0] ?? Infinity) <= index) {
      const atPlan = killAt.shift() ?? 0;
      const target = random.pick(targets);
      const restartAfterMs = random.int(0, 1500);
      killing = killing.then(async () => {
        await target.kill();
        options.log(`kill -9 ${target.name} at money-back plan ${atPlan}; restart in ${restartAfterMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, restartAfterMs));
        await target.restart();
        kills.push({ atCheckout: atPlan, process: target.name, restartedAfterMs: restartAfterMs });
      });
    }
  };
  const records = await driveMoneyBack(env, plans, {
    lanes: Math.max(1, Math.ceil(options.concurrency / 2)),
    seed: options.seed,
    onPlan,
  });
  await killing;
  options.log(`money back driven with ${kills.length} kills; settling…`);
  await settleMoneyBack(cluster, Date.now() + options.settleTimeoutMs, options.log);
  return { records, kinds, kills };
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const log = options.log;
  const runId = options.seed.toString(36);
  const plans = planCheckouts(options, runId);
  const chaosRandom = new Prng(options.seed ^ 0x5eed);
  const apiPorts = await Promise.all(Array.from({ length: options.apis }, () => freePort()));
  const cluster = await startCluster({
    // Killing PostgreSQL needs fsync on: without it a crash may lose what it already reported committed.
    durability: options.dbKills > 0 ? 'full' : 'relaxed',
    env: processEnv(options),
    ...(options.tmpDir === undefined ? {} : { tmpDir: options.tmpDir }),
    log,
  });
  const faults = faultCounter();
  const records: CheckoutRecord[] = [];
  const kills: KillRecord[] = [];
  const dbKills: DbKillRecord[] = [];
  try {
    // The sandbox sends its webhooks to the first API process.
    await cluster.start(
      'sandbox',
      'sandbox',
      { PORT: String(apiPorts[0]), LOG_LEVEL: 'debug' },
      undefined,
      faults.onOutput,
    );
    const apis: BursarProcess[] = [];
    const workers: BursarProcess[] = [];
    for (const [i, port] of apiPorts.entries()) apis.push(await cluster.start(`api${i}`, 'api', {}, port));
    for (let i = 0; i < options.workers; i++) workers.push(await cluster.start(`worker${i}`, 'worker'));
    const apiUrls = apiPorts.map((port) => `http://127.0.0.1:${port}`);
    await registerSellers(apiUrls[0] ?? '', cluster.apiKey, options.sellers);
    const env: ClientEnv = {
      apiUrls,
      apiKey: cluster.apiKey,
      sandboxUrl: `http://127.0.0.1:${cluster.sandboxPort}`,
      // The key every process of the cluster calls the sandbox with: generated for its data dir at first start.
      sandboxSecretKey: fs
        .readFileSync(path.join(cluster.dataDir, 'app', 'sandbox-secret-key'), 'utf8')
        .trim(),
      giveUpMs: 120_000,
    };

    // Kills happen when the stream reaches seeded checkout numbers; one at a time, each followed by a restart.
    const killAt = Array.from({ length: options.kills }, () =>
      chaosRandom.int(1, Math.max(1, options.checkouts - 1)),
    ).sort((a, b) => a - b);
    const targets = [...apis, ...workers];
    let killing: Promise<void> = Promise.resolve();
    const scheduleKill = (atCheckout: number) => {
      const target = chaosRandom.pick(targets);
      const restartAfterMs = chaosRandom.int(0, 1500);
      killing = killing.then(async () => {
        await target.kill();
        log(`kill -9 ${target.name} at checkout ${atCheckout}; restart in ${restartAfterMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, restartAfterMs));
        await target.restart();
        kills.push({ atCheckout, process: target.name, restartedAfterMs: restartAfterMs });
      });
    };

    // The database's kills draw from a generator of their own, so the process kills stay what the seed made them.
    const dbRandom = new Prng(options.seed ^ 0xdb);
    const dbKillAt = Array.from({ length: options.dbKills }, () =>
      dbRandom.int(1, Math.max(1, options.checkouts - 1)),
    ).sort((a, b) => a - b);
    const scheduleDbKill = (atCheckout: number) => {
      const downMs = dbRandom.int(200, 2000);
      killing = killing.then(async () => {
        const killedAt = Date.now();
        log(`kill -9 postgres at checkout ${atCheckout}; restart in ${downMs} ms`);
        await cluster.killDatabase(downMs);
        const recoveredAfterMs = Date.now() - killedAt;
        log(`postgres back after ${recoveredAfterMs} ms`);
        dbKills.push({ atCheckout, downMs, recoveredAfterMs });
      });
    };

    const driveStarted = Date.now();
    let next = 0;
    const clientRandom = new Prng(options.seed ^ 0xc11e);
    const lane = async () => {
      for (;;) {
        const plan = plans[next];
        if (plan === undefined) return;
        next++;
        while (killAt.length > 0 && (killAt[0] ?? Infinity) <= plan.index) scheduleKill(killAt.shift() ?? 0);
        while (dbKillAt.length > 0 && (dbKillAt[0] ?? Infinity) <= plan.index)
          scheduleDbKill(dbKillAt.shift() ?? 0);
        records.push(await driveCheckout(env, plan, clientRandom.fork()));
        if (records.length % 250 === 0) log(`${records.length}/${plans.length} checkouts driven`);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, () => lane()));
    await killing;
    const driveMs = Date.now() - driveStarted;
    log(
      `drove ${records.length} checkouts in ${Math.round(driveMs / 1000)} s with ${kills.length} kills and ${dbKills.length} database kills; settling…`,
    );

    const settleStarted = Date.now();
    const pspBacklogWhenSettled = await settle(cluster, settleStarted + options.settleTimeoutMs, log);
    const settleMs = Date.now() - settleStarted;
    const moneyBackStarted = Date.now();
    if (options.moneyBackWebhookDrops === false)
      await withoutWebhookDrops(
        `http://127.0.0.1:${cluster.sandboxPort}`,
        String(cluster.env.SANDBOX_ADMIN_KEY),
      );
    const moneyBack = await moneyBackPhase({
      options,
      cluster,
      env: {
        ...env,
        sandboxAdminKey: String(cluster.env.SANDBOX_ADMIN_KEY),
        cluster,
        runId,
      },
      targets,
    });
    const moneyBackMs = Date.now() - moneyBackStarted;
    const sandboxProcess = cluster.processes().find((p) => p.role === 'sandbox');
    const checks = await runChecks({
      cluster,
      records,
      sandboxUrl: env.sandboxUrl,
      sandboxKey: env.sandboxSecretKey,
      // A minute of margin either side: the sandbox stamps balance transactions in whole seconds.
      interval: { start: new Date(started - 60_000), end: new Date(Date.now() + 60_000) },
    });
    checks.push(
      ...(await runMoneyBackChecks({
        cluster,
        records: moneyBack.records,
        apiUrl: apiUrls[0] ?? '',
        sellers: options.sellers,
      })),
    );
    checks.push(rideThrough(cluster.processes(), dbKills.length));
    checks.push(await checkPspEventBacklog(cluster, pspBacklogWhenSettled));
    const webhookFaults = await cluster.pool.query<{
      dropped: string;
      duplicated: string;
      deliveries: string;
    }>(
      `SELECT count(*) FILTER (WHERE status = 'dropped') AS dropped,
              (SELECT count(*) FROM (SELECT event_id FROM sandbox.webhook_deliveries GROUP BY event_id, destination HAVING count(*) > 1) d) AS duplicated,
              count(*) AS deliveries
         FROM sandbox.webhook_deliveries`,
    );
    const outcomes = await cluster.pool.query<{ status: string; n: string }>(
      'SELECT payment_order_status AS status, count(*) AS n FROM payins.payment_order GROUP BY 1 ORDER BY 1',
    );
    const requests: Record<string, number> = {};
    const hosted: Record<string, number> = {};
    const flows: Record<string, number> = {};
    for (const record of records) {
      flows[record.plan.flow] = (flows[record.plan.flow] ?? 0) + 1;
      for (const answer of record.answers) {
        const key = answer.status === 0 ? 'transport_error' : String(answer.status);
        requests[key] = (requests[key] ?? 0) + 1;
      }
      if (record.hosted) hosted[record.hosted.outcome] = (hosted[record.hosted.outcome] ?? 0) + 1;
    }
    const wh = webhookFaults.rows[0];
    void sandboxProcess;
    return {
      seed: options.seed,
      checkouts: records.length,
      orders: plans.reduce((sum, plan) => sum + (plan.body.payment_orders as unknown[]).length, 0),
      flows,
      kills,
      dbKills,
      moneyBack: moneyBack.kinds,
      moneyBackKills: moneyBack.kills,
      faults: {
        ...faults.counts,
        webhook_dropped: Number(wh?.dropped ?? 0),
        webhook_duplicated: Number(wh?.duplicated ?? 0),
        webhook_deliveries: Number(wh?.deliveries ?? 0),
      },
      requests,
      outcomes: Object.fromEntries(outcomes.rows.map((row) => [row.status, Number(row.n)])),
      hosted,
      checks,
      violations: checks.flatMap((check) => check.violations.map((v) => `${check.name}: ${v}`)),
      driveMs,
      settleMs,
      moneyBackMs,
      durationMs: Date.now() - started,
    };
  } finally {
    await cluster.stop();
  }
}

export function formatReport(report: ChaosReport): string {
  const kv = (record: Record<string, number>) =>
    Object.entries(record)
      .map(([key, value]) => `${key}=${value}`)
      .join(' ');
  const lines = [
    `chaos run, seed ${report.seed}: ${report.checkouts} checkouts (${kv(report.flows)}), ${report.orders} payment orders`,
    `  kills (SIGKILL + restart): ${report.kills.length} — ${report.kills.map((k) => `${k.process}@${k.atCheckout}`).join(', ')}`,
    `  database kills (SIGKILL + crash recovery, fsync on): ${report.dbKills.length}${report.dbKills.length === 0 ? '' : ' — '}${report.dbKills.map((k) => `postgres@${k.atCheckout} (down ${k.downMs} ms, back after ${k.recoveredAfterMs} ms)`).join(', ')}`,
    `  money back: ${kv(report.moneyBack)}; kills while driving it: ${report.moneyBackKills.length} — ${report.moneyBackKills.map((k) => `${k.process}@plan ${k.atCheckout}`).join(', ')}`,
    `  faults injected: ${kv(report.faults)}`,
    `  client requests by answer: ${kv(report.requests)}`,
    `  hosted page: ${kv(report.hosted)}`,
    `  final order statuses: ${kv(report.outcomes)}`,
    `  time: drive ${Math.round(report.driveMs / 1000)} s, settle ${Math.round(report.settleMs / 1000)} s, money back ${Math.round(report.moneyBackMs / 1000)} s, total ${Math.round(report.durationMs / 1000)} s`,
    '  checks:',
    ...report.checks.map(
      (check) =>
        `    ${check.violations.length === 0 ? 'ok  ' : 'FAIL'} ${check.name}${check.detail ? ` — ${check.detail}` : ''}`,
    ),
    `violations: ${report.violations.length}`,
  ];
  // Up to ten of each failed check's, so that one check's flood does not hide another's.
  for (const check of report.checks) {
    for (const v of check.violations.slice(0, 10)) lines.push(`  - ${check.name}: ${v}`);
    if (check.violations.length > 10)
      lines.push(`  … and ${check.violations.length - 10} more (${check.name})`);
  }
  return lines.join('\n');
}

/** The sandbox's faults as they are, but with no webhook dropped (duplicates, delays and reordering stay). */
async function withoutWebhookDrops(sandboxUrl: string, adminKey: string): Promise<void> {
  const headers = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
  const current = (await (await fetch(`${sandboxUrl}/v1/sandbox/faults`, { headers })).json()) as {
    webhooks?: Record<string, unknown>;
  };
  const res = await fetch(`${sandboxUrl}/v1/sandbox/faults`, {
    method: 'PUT',
    headers,
    body: JSON.stringify({ ...current, webhooks: { ...current.webhooks, dropRate: 0 } }),
  });
  if (!res.ok) throw new Error(`could not set the sandbox's faults: ${res.status} ${await res.text()}`);
}
