import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseReportAmount } from '../src/money/index.ts';
import { isDefinitive, type CheckoutRecord } from './client.ts';
import { REPO_ROOT, type Cluster } from './cluster.ts';

/** The invariants a chaos run must leave true; each check lists its violations (empty = passed). */
export interface CheckResult {
  name: string;
  violations: string[];
  detail?: string;
}

export interface CheckInput {
  cluster: Cluster;
  records: CheckoutRecord[];
  sandboxUrl: string;
  sandboxKey: string;
  /** The span of the run: the settlement report is asked for, and reconciled over, this interval. */
  interval: { start: Date; end: Date };
}

interface OrderRow {
  payment_order_id: string;
  checkout_id: string;
  payment_order_status: string;
  amount_minor: bigint;
  flow: string;
  psp_payment_id: string | null;
  ledger_updated: boolean;
}

interface IntentRow {
  id: string;
  status: string;
  amount: string;
  order_id: string | null;
  checkout_id: string | null;
}

async function loadOrders(cluster: Cluster): Promise<OrderRow[]> {
  const result = await cluster.pool.query<OrderRow>(
    `SELECT o.payment_order_id, o.checkout_id, o.payment_order_status, o.amount_minor, e.flow, o.psp_payment_id,
            o.ledger_updated
       FROM payins.payment_order o JOIN payins.payment_event e USING (checkout_id)`,
  );
  return result.rows;
}

async function loadIntents(cluster: Cluster): Promise<IntentRow[]> {
  const result = await cluster.pool.query<IntentRow>(
    `SELECT id, data->>'status' AS status, data->>'amount' AS amount,
            data->'metadata'->>'payment_order_id' AS order_id, data->'metadata'->>'checkout_id' AS checkout_id
       FROM sandbox.objects WHERE object = 'payment_intent'`,
  );
  return result.rows;
}

/** Every checkout final, or pending while its PaymentIntent is in review at the PSP. */
function checkFinal(orders: OrderRow[], intents: IntentRow[]): CheckResult {
  const inReview = new Set<string>();
  for (const intent of intents) {
    if (intent.status !== 'processing') continue;
    if (intent.order_id) inReview.add(intent.order_id);
    if (intent.checkout_id) inReview.add(intent.checkout_id);
  }
  const violations: string[] = [];
  let pendingReview = 0;
  for (const order of orders) {
    if (order.payment_order_status === 'SUCCESS' || order.payment_order_status === 'FAILED') continue;
    if (
      order.payment_order_status === 'PENDING' &&
      (inReview.has(order.payment_order_id) || inReview.has(order.checkout_id))
    ) {
      pendingReview++;
      continue;
    }
    violations.push(`${order.payment_order_id} (${order.flow}) is ${order.payment_order_status}`);
  }
  return {
    name: 'every checkout is final (or pending in review)',
    violations,
    detail: `${orders.length} orders, ${pendingReview} pending in review`,
  };
}

/** The PSP's successful charges and our SUCCESS orders match one to one, amounts included. */
function checkOneToOne(orders: OrderRow[], intents: IntentRow[]): CheckResult {
  const violations: string[] = [];
  const byOrder = new Map(orders.map((order) => [order.payment_order_id, order]));
  const byCheckout = new Map<string, OrderRow[]>();
  for (const order of orders)
    byCheckout.set(order.checkout_id, [...(byCheckout.get(order.checkout_id) ?? []), order]);
  const chargesPerOrder = new Map<string, number>();
  let succeeded = 0;
  for (const intent of intents) {
    if (intent.status !== 'succeeded') continue;
    succeeded++;
    const covered: OrderRow[] = [];
    if (intent.order_id) {
      const order = byOrder.get(intent.order_id);
      if (order) covered.push(order);
    } else if (intent.checkout_id) {
      covered.push(...(byCheckout.get(intent.checkout_id) ?? []));
    }
    if (covered.length === 0) {
      violations.push(`charge ${intent.id} (${intent.amount}) matches no payment order`);
      continue;
    }
    const total = covered.reduce((sum, order) => sum + BigInt(order.amount_minor), 0n);
    if (total !== BigInt(intent.amount))
      violations.push(`charge ${intent.id} is ${intent.amount} but its orders total ${total}`);
    for (const order of covered) {
      chargesPerOrder.set(order.payment_order_id, (chargesPerOrder.get(order.payment_order_id) ?? 0) + 1);
      if (order.payment_order_status !== 'SUCCESS')
        violations.push(
          `lost payment: charge ${intent.id} succeeded but ${order.payment_order_id} is ${order.payment_order_status}`,
        );
    }
  }
  let success = 0;
  for (const order of orders) {
    const charges = chargesPerOrder.get(order.payment_order_id) ?? 0;
    if (charges > 1)
      violations.push(`double charge: ${order.payment_order_id} has ${charges} successful charges`);
    if (order.payment_order_status !== 'SUCCESS') continue;
    success++;
    if (charges === 0)
      violations.push(`${order.payment_order_id} is SUCCESS without a successful charge at the PSP`);
    if (!order.ledger_updated)
      violations.push(`${order.payment_order_id} is SUCCESS without its ledger entry`);
  }
  return {
    name: "PSP charges and Bursar's successful orders match one to one",
    violations,
    detail: `${succeeded} successful charges, ${success} successful orders`,
  };
}

/** Every definitive answer to one Idempotency-Key is the same (status and JSON body); every checkout got one. */
function checkAnswers(records: CheckoutRecord[]): CheckResult {
  const violations: string[] = [];
  let retries = 0;
  let concurrent = 0;
  let internalErrors = 0;
  for (const record of records) {
    const definitive = record.answers.filter(isDefinitive);
    retries += record.answers.length - 1;
    if (record.plan.concurrentCopies > 0) concurrent++;
    internalErrors += record.answers.filter((answer) => answer.status === 500).length;
    const first = definitive[0];
    if (first === undefined) {
      const last = record.answers[record.answers.length - 1];
      violations.push(
        `${record.plan.checkoutId}: no definitive answer in ${record.answers.length} tries; the last: ` +
          `${last?.status ?? '-'} ${last?.error ?? JSON.stringify(last?.body).slice(0, 300)}`,
      );
      continue;
    }
    if (first.status !== 201)
      violations.push(
        `${record.plan.checkoutId}: answered ${first.status} ${JSON.stringify(first.body).slice(0, 200)}`,
      );
    for (const answer of definitive.slice(1)) {
      if (answer.status !== first.status || !isDeepStrictEqual(answer.body, first.body)) {
        violations.push(
          `${record.plan.checkoutId}: a retry got ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)} ` +
            `after ${first.status} ${JSON.stringify(first.body).slice(0, 200)}`,
        );
        break;
      }
    }
  }
  return {
    name: 'every client retry got the same answer as the original',
    violations,
    detail: `${records.length} keys, ${retries} retries, ${concurrent} keys sent concurrently, ${internalErrors} HTTP 500 answers (retried)`,
  };
}

/** Runs the real `bursar` command against the run's database; resolves with its exit code and output. */
async function runBursar(cluster: Cluster, args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/bursar.mjs'), ...args], {
    cwd: REPO_ROOT,
    env: { ...cluster.env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, output };
}

/** Runs the real `bursar ledger verify` against the run's database. */
async function checkLedgerVerify(cluster: Cluster): Promise<CheckResult> {
  const { code, output } = await runBursar(cluster, ['ledger', 'verify']);
  const summary = output.trim().split('\n').slice(0, 3).join(' / ');
  return {
    name: '`bursar ledger verify` passes',
    violations: code === 0 ? [] : [`exit ${String(code)}: ${output.trim().slice(0, 1000)}`],
    detail: summary,
  };
}

/** A CSV line splitter for the sandbox's report: quoted fields with doubled quotes, no embedded newlines needed. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** The sandbox's settlement report (the itemized balance-change CSV) of the run's interval, as text. */
async function fetchReport(input: CheckInput): Promise<{ text: string; error?: string }> {
  const start = Math.floor(input.interval.start.getTime() / 1000);
  const end = Math.ceil(input.interval.end.getTime() / 1000);
  const response = await fetch(
    `${input.sandboxUrl}/v1/sandbox/reports/balance_change_from_activity.itemized.3.csv?interval_start=${start}&interval_end=${end}`,
    { headers: { authorization: `Bearer ${input.sandboxKey}` } },
  );
  const text = await response.text();
  if (!response.ok) return { text, error: `report: HTTP ${response.status} ${text.slice(0, 200)}` };
  return { text };
}

const MONEY_BACK_CATEGORIES = new Set(['refund', 'refund_failure', 'dispute', 'dispute_reversal']);

/**
 * A direct comparison with the sandbox's settlement report, independent of the reconciliation module: every
 * `charge` line matches successful orders of the same gross amount, every successful order appears on exactly one
 * line, and the ledger's PSP clearing account holds exactly the report's net (gross less the PSP's fees, which the
 * pay-in flow books at success, less the refund and dispute lines' net; no payouts in a chaos run). Run before reconciliation, which could cure.
 */
async function checkSettlementReport(
  input: CheckInput,
  report: { text: string; error?: string },
  orders: OrderRow[],
  intents: IntentRow[],
): Promise<CheckResult> {
  const violations: string[] = [];
  const { text } = report;
  if (report.error !== undefined)
    return { name: 'the settlement report agrees with orders and ledger', violations: [report.error] };
  const [header, ...lines] = parseCsv(text).filter((row) => row.length > 1);
  const column = (name: string) => header?.indexOf(name) ?? -1;
  const [cCategory, cGross, cNet, cCurrency, cIntent] = [
    'reporting_category',
    'gross',
    'net',
    'currency',
    'payment_intent_id',
  ].map(column);
  if ([cCategory, cGross, cNet, cCurrency, cIntent].some((index) => index === undefined || index < 0))
    return {
      name: 'the settlement report agrees with orders and ledger',
      violations: [`report header lacks columns: ${header?.join(',')}`],
    };
  const intentById = new Map(intents.map((intent) => [intent.id, intent]));
  const byOrder = new Map(orders.map((order) => [order.payment_order_id, order]));
  const byCheckout = new Map<string, OrderRow[]>();
  for (const order of orders)
    byCheckout.set(order.checkout_id, [...(byCheckout.get(order.checkout_id) ?? []), order]);
  const linesPerOrder = new Map<string, number>();
  let reportGross = 0n;
  let reportNet = 0n;
  let charges = 0;
  const otherLines: Record<string, number> = {};
  for (const line of lines) {
    const category = line[cCategory ?? 0] ?? '';
    const currency = (line[cCurrency ?? 0] ?? '').toUpperCase();
    const gross = parseReportAmount(line[cGross ?? 0] ?? '', currency);
    if (category !== 'charge') {
      // Money going back (chaos/moneyback.ts): its lines are matched by the refund and dispute checks and by
      // reconciliation; here they count towards the net the PSP clearing must hold.
      if (MONEY_BACK_CATEGORIES.has(category)) {
        otherLines[category] = (otherLines[category] ?? 0) + 1;
        reportNet += parseReportAmount(line[cNet ?? 0] ?? '', currency);
      } else violations.push(`unexpected ${category} line in the report`);
      continue;
    }
    charges++;
    reportGross += gross;
    reportNet += parseReportAmount(line[cNet ?? 0] ?? '', currency);
    const intentId = line[cIntent ?? 0] ?? '';
    const intent = intentById.get(intentId);
    const covered = intent?.order_id
      ? [byOrder.get(intent.order_id)].filter((o): o is OrderRow => o !== undefined)
      : intent?.checkout_id
        ? (byCheckout.get(intent.checkout_id) ?? [])
        : [];
    if (covered.length === 0) {
      violations.push(`report line for ${intentId} (${gross}) matches no order`);
      continue;
    }
    const total = covered.reduce((sum, order) => sum + BigInt(order.amount_minor), 0n);
    if (total !== gross) violations.push(`report line for ${intentId}: gross ${gross}, orders ${total}`);
    for (const order of covered) {
      linesPerOrder.set(order.payment_order_id, (linesPerOrder.get(order.payment_order_id) ?? 0) + 1);
      if (order.payment_order_status !== 'SUCCESS')
        violations.push(
          `report line for ${intentId} but ${order.payment_order_id} is ${order.payment_order_status}`,
        );
    }
  }
  for (const order of orders) {
    const n = linesPerOrder.get(order.payment_order_id) ?? 0;
    if (order.payment_order_status === 'SUCCESS' && n !== 1)
      violations.push(`${order.payment_order_id} is SUCCESS and on ${n} report lines`);
  }
  const clearing = await input.cluster.pool.query<{ balance: bigint }>(
    "SELECT debits_minor - credits_minor AS balance FROM ledger.accounts WHERE code = 'platform:psp_clearing:USD'",
  );
  const ledgerClearing = BigInt(clearing.rows[0]?.balance ?? 0n);
  if (ledgerClearing !== reportNet)
    violations.push(
      `ledger PSP clearing holds ${ledgerClearing} minor units, the report's charges net ${reportNet} (gross ${reportGross})`,
    );
  return {
    name: 'the settlement report agrees with orders and ledger',
    violations,
    detail: `${charges} charge lines (gross ${reportGross})${Object.entries(otherLines)
      .map(([category, n]) => `, ${n} ${category} lines`)
      .join('')}; net ${reportNet} minor units = ledger PSP clearing ${ledgerClearing}`,
  };
}

/**
 * Reconciliation by the real module, as an operator runs it: the sandbox's settlement report of the run's interval
 * downloaded to a file and given to `bursar reconcile psp --file … --from … --to … --internal` (a child process on
 * the run's database), which matches every line and runs the internal checks (`reconcile internal`'s: the ledger
 * verifies, every order's state agrees with its postings). A clean run files no exception at all — not even an
 * auto-fixed one; each exception filed is a violation, listed with its kind and cause.
 */
async function checkReconciliation(
  input: CheckInput,
  report: { text: string; error?: string },
): Promise<CheckResult> {
  const name = 'reconciliation against the settlement report finds no difference';
  if (report.error !== undefined) return { name, violations: [report.error] };
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bursar-chaos-recon-'));
  const file = path.join(dir, 'psp-report.csv');
  try {
    await fs.writeFile(file, report.text);
    const args = ['reconcile', 'psp', '--file', file, '--from', input.interval.start.toISOString()];
    const run = await runBursar(input.cluster, [
      ...args,
      '--to',
      input.interval.end.toISOString(),
      '--internal',
    ]);
    const violations: string[] = [];
    if (run.code !== 0)
      violations.push(`bursar reconcile exit ${String(run.code)}: ${run.output.slice(0, 1000)}`);
    const field = (label: string): number | undefined => {
      const match = new RegExp(`^${label}:\\s+(\\d+)`, 'm').exec(run.output);
      return match?.[1] === undefined ? undefined : Number(match[1]);
    };
    const read = field('lines read');
    const matched = field('matched');
    if (run.code === 0 && (read === undefined || matched !== read))
      violations.push(`${String(matched)} of ${String(read)} report lines matched`);
    if (run.code === 0 && !/internal checks: ledger verified, 0 failure/.test(run.output))
      violations.push(`internal checks: ${/internal checks: .*/.exec(run.output)?.[0] ?? 'not run'}`);
    const filed = await input.cluster.pool.query<{
      id: string;
      class: string;
      kind: string;
      status: string;
      cause: string;
    }>('SELECT id, class, kind, status, cause FROM recon.exceptions ORDER BY seq');
    for (const x of filed.rows)
      violations.push(`${x.id} ${x.class}/${x.kind} (${x.status}): ${x.cause.slice(0, 300)}`);
    return {
      name,
      violations,
      detail: `bursar reconcile psp: ${String(read)} lines read, ${String(matched)} matched, ${filed.rows.length} exceptions filed`,
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * No PSP fee is left pending by the worker's fee follow-up (payins.psp_fee_pending): a fee the PSP could not say
 * when its payment settled is booked by Bursar before reconciliation, not given up on.
 */
async function checkFeesFollowedUp(cluster: Cluster): Promise<CheckResult> {
  const rows = await cluster.pool.query<{
    subject: string;
    fee_attempts: number;
    gave_up: boolean;
    last_error: string | null;
  }>(
    `SELECT subject, fee_attempts, gave_up_at IS NOT NULL AS gave_up, last_error
       FROM payins.psp_fee_pending ORDER BY subject`,
  );
  return {
    name: 'every PSP fee the PSP could not say at settling is booked by the fee follow-up',
    violations: rows.rows.map(
      (row) =>
        `${row.subject}: fee ${row.gave_up ? 'given up' : 'still pending'} after ${row.fee_attempts} attempts` +
        (row.last_error === null ? '' : ` (${row.last_error})`),
    ),
  };
}

/**
 * How long the backlog check waits for PSP events still queued at the end (CHAOS_PSP_BACKLOG_GRACE_MS): an event
 * whose worker was killed waits for its lease to end (a minute), one whose processing failed while the database
 * was down waits for its first retry (a minute) — both are the backlog draining, not growing.
 */
const PSP_BACKLOG_GRACE_MS = Number.parseInt(process.env.CHAOS_PSP_BACKLOG_GRACE_MS ?? '', 10) || 150_000;

interface BacklogRow {
  event_id: string;
  event_type: string;
  attempts: number;
  last_error: string | null;
  due_in_s: number | null;
}

async function pspBacklog(cluster: Cluster): Promise<BacklogRow[]> {
  const result = await cluster.pool.query<BacklogRow>(
    `SELECT event_id, event_type, attempts, last_error,
            round(extract(epoch FROM next_attempt_at - now()))::int AS due_in_s
       FROM payins.psp_events WHERE processed_at IS NULL AND dead_lettered_at IS NULL ORDER BY id LIMIT 50`,
  );
  return result.rows;
}

/**
 * PSP events are processed faster than they arrive (issue 17): once every order is final and the money-back phase
 * is over, no stored event is left unprocessed (and none was dead-lettered). Events held by a lease or a retry
 * delay that a kill left behind are waited for, at most PSP_BACKLOG_GRACE_MS; the backlog when the orders became
 * final is in the detail.
 */
export async function checkPspEventBacklog(cluster: Cluster, whenSettled: number): Promise<CheckResult> {
  const started = Date.now();
  let left = await pspBacklog(cluster);
  while (left.length > 0 && Date.now() - started < PSP_BACKLOG_GRACE_MS) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    left = await pspBacklog(cluster);
  }
  const dead = await cluster.pool.query<{ n: number; total: number }>(
    `SELECT count(dead_lettered_at)::int AS n, count(*)::int AS total FROM payins.psp_events`,
  );
  const violations = left.map(
    (row) =>
      `${row.event_id} (${row.event_type}) unprocessed: ${row.attempts} attempt(s)` +
      `${row.due_in_s === null ? '' : `, due in ${row.due_in_s} s`}${row.last_error ? `, last error: ${row.last_error}` : ''}`,
  );
  const deadLettered = dead.rows[0]?.n ?? 0;
  if (deadLettered > 0) violations.push(`${deadLettered} PSP event(s) dead-lettered`);
  return {
    name: 'no PSP-event backlog once every order is final',
    violations,
    detail:
      `${dead.rows[0]?.total ?? 0} events stored; ${whenSettled} queued when every order was final, ` +
      `${left.length === 0 ? `none left at the end (waited ${((Date.now() - started) / 1000).toFixed(1)} s)` : `${left.length}+ left after ${PSP_BACKLOG_GRACE_MS / 1000} s`}`,
  };
}

export async function runChecks(input: CheckInput): Promise<CheckResult[]> {
  const orders = await loadOrders(input.cluster);
  const intents = await loadIntents(input.cluster);
  const report = await fetchReport(input);
  return [
    checkFinal(orders, intents),
    checkOneToOne(orders, intents),
    checkAnswers(input.records),
    await checkLedgerVerify(input.cluster),
    await checkFeesFollowedUp(input.cluster),
    await checkSettlementReport(input, report, orders, intents),
    await checkReconciliation(input, report),
  ];
}
