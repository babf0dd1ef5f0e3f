import { isDefinitive, type Answer, type ClientEnv } from './client.ts';
import type { Cluster } from './cluster.ts';
import { Prng } from './prng.ts';

/**
 * The chaos run's money going back: once the checkouts are driven and settled, a seeded stream over the paid
 * charges — refunds through Bursar's API (full, partial, two partials racing under different keys, copies of one
 * key sent concurrently, whole hosted checkouts), refunds made "in the PSP's dashboard" (the sandbox's own
 * `POST /v1/refunds`, no Bursar metadata: they reach Bursar as PSP events, `source: "psp"`), and disputes opened
 * through the sandbox's admin API, closed won or lost there or accepted through Bursar's `POST /v1/disputes/{id}/
 * close`, some racing a refund of the same charge. Bursar's processes are SIGKILLed while it runs.
 */

export type MoneyBackKind =
  | 'refund_full'
  | 'refund_partial'
  | 'refund_partials_racing'
  | 'checkout_refund'
  | 'psp_refund'
  | 'dispute_won'
  | 'dispute_lost'
  | 'dispute_accepted'
  | 'dispute_racing_refund';

export interface PaidCharge {
  pspPaymentId: string;
  checkoutId: string;
  flow: string;
  orders: Array<{ paymentOrderId: string; amountMinor: bigint }>;
}

export interface MoneyBackPlan {
  index: number;
  kind: MoneyBackKind;
  charge: PaidCharge;
  /** Amounts in minor units for the refunds of this plan (partials), drawn from the seed. */
  amounts: bigint[];
  /** Copies of the first refund POST sent at the same time with the same key. */
  concurrentCopies: number;
}

/** Every answer Bursar gave to one Idempotency-Key of the stream. */
export interface KeyRecord {
  key: string;
  path: string;
  answers: Answer[];
}

export interface MoneyBackRecord {
  plan: MoneyBackPlan;
  keys: KeyRecord[];
  /** The PSP's dispute id, when the plan opened one. */
  disputeId?: string;
  /** What happened beside Bursar's answers (a fallback taken, a PSP refusal). */
  notes: string[];
}

export interface MoneyBackEnv extends ClientEnv {
  sandboxAdminKey: string;
  cluster: Cluster;
  runId: string;
}

const KIND_WEIGHTS: ReadonlyArray<readonly [MoneyBackKind | 'none', number]> = [
  ['none', 52],
  ['refund_full', 9],
  ['refund_partial', 10],
  ['refund_partials_racing', 5],
  ['checkout_refund', 4],
  ['psp_refund', 6],
  ['dispute_won', 4],
  ['dispute_lost', 4],
  ['dispute_accepted', 3],
  ['dispute_racing_refund', 3],
];

/** The paid charges of the run: SUCCESS orders grouped by their PSP payment, in a stable order. */
export async function loadPaidCharges(cluster: Cluster): Promise<PaidCharge[]> {
  const rows = await cluster.pool.query<{
    psp_payment_id: string;
    checkout_id: string;
    flow: string;
    payment_order_id: string;
    amount_minor: string;
  }>(
    `SELECT o.psp_payment_id, o.checkout_id, e.flow, o.payment_order_id, o.amount_minor::text AS amount_minor
       FROM payins.payment_order o JOIN payins.payment_event e USING (checkout_id)
      WHERE o.payment_order_status = 'SUCCESS' AND o.psp_payment_id IS NOT NULL
      ORDER BY o.psp_payment_id, o.payment_order_id`,
  );
  const byCharge = new Map<string, PaidCharge>();
  for (const row of rows.rows) {
    const charge = byCharge.get(row.psp_payment_id) ?? {
      pspPaymentId: row.psp_payment_id,
      checkoutId: row.checkout_id,
      flow: row.flow,
      orders: [],
    };
    charge.orders.push({ paymentOrderId: row.payment_order_id, amountMinor: BigInt(row.amount_minor) });
    byCharge.set(row.psp_payment_id, charge);
  }
  // Sorted by checkout id: the PSP's ids differ between runs, the checkout ids come from the seed.
  return [...byCharge.values()].sort((a, b) => a.checkoutId.localeCompare(b.checkoutId));
}

/** A part of `amount` in minor units, at least 1 and below it (amount ≥ 2). */
function partOf(random: Prng, amount: bigint): bigint {
  if (amount < 2n) return 1n;
  const max = Number(amount - 1n);
  return BigInt(random.int(1, Math.min(max, Number.MAX_SAFE_INTEGER)));
}

export function planMoneyBack(charges: PaidCharge[], seed: number): MoneyBackPlan[] {
  const random = new Prng(seed ^ 0x4ef0);
  const plans: MoneyBackPlan[] = [];
  for (const charge of charges) {
    const kind = random.weighted(KIND_WEIGHTS);
    if (kind === 'none') continue;
    const first = charge.orders[0];
    if (first === undefined) continue;
    const amounts =
      kind === 'refund_partial'
        ? [partOf(random, first.amountMinor), ...(random.chance(0.5) ? [first.amountMinor] : [])]
        : kind === 'refund_partials_racing'
          ? [partOf(random, first.amountMinor), partOf(random, first.amountMinor)]
          : kind === 'psp_refund'
            ? [partOf(random, first.amountMinor)]
            : [];
    plans.push({
      index: plans.length,
      kind,
      charge,
      amounts,
      concurrentCopies: random.chance(0.3) ? random.int(1, 3) : 0,
    });
  }
  return plans;
}

function minorToMajor(minor: bigint): string {
  const cents = String(minor % 100n).padStart(2, '0');
  return `${minor / 100n}.${cents}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function postBursar(
  env: MoneyBackEnv,
  api: number,
  path: string,
  body: unknown,
  key: string,
): Promise<Answer> {
  const url = env.apiUrls[api % env.apiUrls.length] ?? env.apiUrls[0] ?? '';
  try {
    const response = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${env.apiKey}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch {
      parsed = text;
    }
    return { status: response.status, body: parsed, api, copy: 0, atMs: Date.now() };
  } catch (error) {
    return { status: 0, body: undefined, error: (error as Error).message, api, copy: 0, atMs: Date.now() };
  }
}

/** POSTs to Bursar with one key until a definitive answer (or giving up), in `1 + copies` concurrent lanes. */
async function sendKey(
  env: MoneyBackEnv,
  random: Prng,
  record: MoneyBackRecord,
  path: string,
  body: unknown,
  key: string,
  copies = 0,
): Promise<Answer | undefined> {
  const keyRecord: KeyRecord = { key, path, answers: [] };
  record.keys.push(keyRecord);
  const lane = async (copy: number, lanes: Prng): Promise<Answer | undefined> => {
    const deadline = Date.now() + env.giveUpMs;
    for (let attempt = 1; ; attempt++) {
      const answer = { ...(await postBursar(env, lanes.int(0, 9), path, body, key)), copy };
      keyRecord.answers.push(answer);
      if (isDefinitive(answer)) return answer;
      if (Date.now() > deadline) return undefined;
      await sleep(Math.min(2000, 50 * 2 ** Math.min(attempt, 6)) * (0.5 + lanes.next() / 2));
    }
  };
  const results = await Promise.all(
    Array.from({ length: 1 + copies }, (_, copy) => lane(copy, random.fork())),
  );
  return results.find((answer) => answer !== undefined);
}

/** A call to the sandbox (API or admin), retried on transport failures and 5xx; the last answer. */
async function callSandbox(
  env: MoneyBackEnv,
  path: string,
  options: { admin?: boolean; form?: Record<string, string>; json?: unknown; key?: string },
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${options.admin === true ? env.sandboxAdminKey : env.sandboxSecretKey}`,
  };
  if (options.key !== undefined) headers['idempotency-key'] = options.key;
  let body: string | undefined;
  if (options.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  } else if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  let last = { status: 0, body: {} as Record<string, unknown> };
  for (let attempt = 0; attempt < 60; attempt++) {
    try {
      const response = await fetch(`${env.sandboxUrl}${path}`, {
        method: 'POST',
        headers,
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await response.text();
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        parsed = { text };
      }
      last = { status: response.status, body: parsed };
      if (response.status < 500 && response.status !== 429) return last;
    } catch (error) {
      last = { status: 0, body: { error: (error as Error).message } };
    }
    await sleep(250);
  }
  return last;
}

/** The PSP's dispute on a payment, read from the sandbox's store (a lost answer to the admin call is recovered). */
async function disputeOfPayment(env: MoneyBackEnv, pspPaymentId: string): Promise<string | undefined> {
  const rows = await env.cluster.pool.query<{ id: string }>(
    `SELECT id FROM sandbox.objects WHERE object = 'dispute' AND data->>'payment_intent' = $1`,
    [pspPaymentId],
  );
  return rows.rows[0]?.id;
}

async function openDispute(env: MoneyBackEnv, record: MoneyBackRecord): Promise<string | undefined> {
  const pi = record.plan.charge.pspPaymentId;
  const answer = await callSandbox(env, `/v1/sandbox/charges/${pi}/dispute`, { admin: true, json: {} });
  const id = typeof answer.body.id === 'string' ? answer.body.id : await disputeOfPayment(env, pi);
  if (id === undefined)
    record.notes.push(`dispute not opened: ${answer.status} ${JSON.stringify(answer.body)}`);
  record.disputeId = id;
  return id;
}

/** Bursar's dispute id for the PSP's, once Bursar has heard of it (webhook); undefined after `timeoutMs`. */
async function bursarDispute(env: MoneyBackEnv, pspDisputeId: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const rows = await env.cluster.pool.query<{ id: string }>(
      'SELECT id FROM disputes.disputes WHERE psp_dispute_id = $1',
      [pspDisputeId],
    );
    if (rows.rows[0] !== undefined) return rows.rows[0].id;
    await sleep(250);
  }
  return undefined;
}

async function driveDispute(env: MoneyBackEnv, record: MoneyBackRecord, random: Prng): Promise<void> {
  const { plan } = record;
  const keyBase = `chaos-mb-${env.runId}-${plan.index}`;
  const racing =
    plan.kind === 'dispute_racing_refund'
      ? sendKey(
          env,
          random.fork(),
          record,
          '/v1/refunds',
          { payment_order_id: plan.charge.orders[0]?.paymentOrderId },
          `${keyBase}-race`,
        )
      : Promise.resolve(undefined);
  const [id] = await Promise.all([openDispute(env, record), racing]);
  if (id === undefined) return;
  // The bank takes its time: the dispute stays open a moment (webhooks, polls and kills meet it open).
  await sleep(random.int(200, 3000));
  if (plan.kind === 'dispute_accepted') {
    const ours = await bursarDispute(env, id, 20_000);
    if (ours !== undefined) {
      await sendKey(env, random.fork(), record, `/v1/disputes/${ours}/close`, {}, `${keyBase}-accept`);
      return;
    }
    record.notes.push('Bursar had not heard of the dispute in 20 s: closed lost at the PSP instead');
  }
  const outcome = plan.kind === 'dispute_won' || random.chance(0.5) ? 'won' : 'lost';
  const wanted = plan.kind === 'dispute_lost' || plan.kind === 'dispute_accepted' ? 'lost' : outcome;
  const closed = await callSandbox(env, `/v1/sandbox/disputes/${id}/close`, {
    admin: true,
    json: { outcome: wanted },
  });
  if (closed.status !== 200) record.notes.push(`close ${wanted}: ${closed.status}`);
}

async function drivePlan(env: MoneyBackEnv, plan: MoneyBackPlan, random: Prng): Promise<MoneyBackRecord> {
  const record: MoneyBackRecord = { plan, keys: [], notes: [] };
  const key = (n: number) => `chaos-mb-${env.runId}-${plan.index}-${n}`;
  const first = plan.charge.orders[0];
  if (first === undefined) return record;
  const refund = (n: number, amount?: bigint, copies = 0) =>
    sendKey(
      env,
      random.fork(),
      record,
      '/v1/refunds',
      {
        payment_order_id: first.paymentOrderId,
        ...(amount === undefined ? {} : { amount: minorToMajor(amount) }),
        reason: 'requested_by_customer',
      },
      key(n),
      copies,
    );
  switch (plan.kind) {
    case 'refund_full':
      await refund(0, undefined, plan.concurrentCopies);
      break;
    case 'refund_partial':
      for (const [n, amount] of plan.amounts.entries())
        await refund(n, amount, n === 0 ? plan.concurrentCopies : 0);
      break;
    case 'refund_partials_racing':
      await Promise.all(plan.amounts.map((amount, n) => refund(n, amount, plan.concurrentCopies)));
      break;
    case 'checkout_refund':
      await sendKey(
        env,
        random.fork(),
        record,
        `/v1/checkouts/${plan.charge.checkoutId}/refunds`,
        {},
        key(0),
        plan.concurrentCopies,
      );
      break;
    case 'psp_refund': {
      const answer = await callSandbox(env, '/v1/refunds', {
        form: { payment_intent: plan.charge.pspPaymentId, amount: String(plan.amounts[0] ?? 1n) },
        key: `chaos-dashboard-${env.runId}-${plan.index}`,
      });
      if (answer.status !== 200)
        record.notes.push(`PSP refund: ${answer.status} ${JSON.stringify(answer.body)}`);
      break;
    }
    default:
      await driveDispute(env, record, random);
  }
  return record;
}

/**
 * Drives the plans in `lanes` concurrent lanes; `onPlan` runs before each plan (the harness schedules its kills
 * there).
 */
export async function driveMoneyBack(
  env: MoneyBackEnv,
  plans: MoneyBackPlan[],
  options: { lanes: number; seed: number; onPlan: (index: number) => void },
): Promise<MoneyBackRecord[]> {
  const random = new Prng(options.seed ^ 0xbac4);
  const records: MoneyBackRecord[] = [];
  let next = 0;
  const lane = async () => {
    for (;;) {
      const plan = plans[next];
      if (plan === undefined) return;
      next++;
      options.onPlan(plan.index);
      records.push(await drivePlan(env, plan, random.fork()));
    }
  };
  await Promise.all(Array.from({ length: options.lanes }, () => lane()));
  return records;
}
