import { isDeepStrictEqual } from 'node:util';
import type { CheckResult } from './checks.ts';
import { isDefinitive, type Answer } from './client.ts';
import type { Cluster } from './cluster.ts';
import type { MoneyBackRecord } from './moneyback.ts';

/** The invariants of money going back (refunds and disputes) after a chaos run; see chaos/moneyback.ts. */

interface PspRefundRow {
  id: string;
  status: string;
  amount: string;
  payment_intent: string;
  bursar_refund_id: string | null;
}

interface RefundRow {
  id: string;
  payment_order_id: string;
  status: string;
  source: string;
  amount_minor: string;
  psp_refund_id: string | null;
  psp_payment_id: string;
  ledger_entry_id: string | null;
}

interface PspDisputeRow {
  id: string;
  status: string;
  amount: string;
  payment_intent: string;
}

interface DisputeRow {
  id: string;
  psp_dispute_id: string;
  status: string;
  amount_minor: string;
  withdrawn_minor: string | null;
  reinstated_minor: string | null;
  unattributed: boolean;
}

async function pspRefunds(cluster: Cluster): Promise<PspRefundRow[]> {
  return (
    await cluster.pool.query<PspRefundRow>(
      `SELECT id, data->>'status' AS status, data->>'amount' AS amount, data->>'payment_intent' AS payment_intent,
              data->'metadata'->>'bursar_refund_id' AS bursar_refund_id
         FROM sandbox.objects WHERE object = 'refund' ORDER BY id`,
    )
  ).rows;
}

async function bursarRefunds(cluster: Cluster): Promise<RefundRow[]> {
  return (
    await cluster.pool.query<RefundRow>(
      `SELECT id, payment_order_id, status, source, amount_minor::text AS amount_minor, psp_refund_id, psp_payment_id,
              ledger_entry_id
         FROM refunds.refunds ORDER BY id`,
    )
  ).rows;
}

/** What keeps the money-back settling from being done (0 everywhere: settled). */
export async function moneyBackOpen(cluster: Cluster): Promise<Record<string, number>> {
  const row = (
    await cluster.pool.query<Record<string, string>>(
      `SELECT (SELECT count(*) FROM refunds.refunds WHERE status = 'pending') AS refunds_pending,
              (SELECT count(*) FROM sandbox.objects WHERE object = 'refund' AND data->>'status' = 'pending') AS psp_refunds_pending,
              (SELECT count(*) FROM sandbox.objects s WHERE s.object = 'refund'
                  AND NOT EXISTS (SELECT 1 FROM refunds.refunds r WHERE r.psp_refund_id = s.id)) AS psp_refunds_unknown,
              (SELECT count(*) FROM sandbox.objects s WHERE s.object = 'dispute'
                  AND NOT EXISTS (SELECT 1 FROM disputes.disputes d
                                   WHERE d.psp_dispute_id = s.id AND d.status = s.data->>'status')) AS disputes_behind`,
    )
  ).rows[0];
  return Object.fromEntries(Object.entries(row ?? {}).map(([key, value]) => [key, Number(value)]));
}

/** Waits until every refund and dispute is final on both sides and known to Bursar, or the deadline. */
export async function settleMoneyBack(
  cluster: Cluster,
  deadlineMs: number,
  log: (line: string) => void,
): Promise<void> {
  let lastReport = 0;
  for (;;) {
    const open = await moneyBackOpen(cluster);
    const total = Object.values(open).reduce((sum, n) => sum + n, 0);
    const text = Object.entries(open)
      .map(([key, value]) => `${key}=${value}`)
      .join(' ');
    if (total === 0) return;
    if (Date.now() > deadlineMs) {
      log(`money back: time is up with ${text}`);
      return;
    }
    if (Date.now() - lastReport > 5000) {
      log(`money back settling: ${text}…`);
      lastReport = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function entryCount(cluster: Cluster, references: string[]): Promise<Map<string, number>> {
  const rows = await cluster.pool.query<{ reference: string; n: string }>(
    'SELECT reference, count(*) AS n FROM ledger.entries WHERE reference = ANY($1::text[]) GROUP BY 1',
    [references],
  );
  return new Map(rows.rows.map((row) => [row.reference, Number(row.n)]));
}

/**
 * No refund executed twice at the PSP; the PSP's refunds and Bursar's match one to one (ours by
 * `bursar_refund_id`, the dashboard's by the PSP's id as `source: "psp"`), amounts and final statuses equal; every
 * succeeded refund has exactly one `refund:<re_…>` entry.
 */
async function checkRefundsOneToOne(cluster: Cluster): Promise<CheckResult> {
  const violations: string[] = [];
  const psp = await pspRefunds(cluster);
  const ours = await bursarRefunds(cluster);
  const byId = new Map(ours.map((refund) => [refund.id, refund]));
  const byPspId = new Map(ours.filter((r) => r.psp_refund_id !== null).map((r) => [r.psp_refund_id, r]));
  const perBursarId = new Map<string, number>();
  let dashboard = 0;
  for (const p of psp) {
    if (p.bursar_refund_id !== null) {
      const n = (perBursarId.get(p.bursar_refund_id) ?? 0) + 1;
      perBursarId.set(p.bursar_refund_id, n);
      if (n === 2) violations.push(`refund ${p.bursar_refund_id} executed twice at the PSP`);
      if (!byId.has(p.bursar_refund_id))
        violations.push(`PSP refund ${p.id} names ${p.bursar_refund_id}, which Bursar does not have`);
    } else dashboard++;
    const mine = byPspId.get(p.id);
    if (mine === undefined) {
      violations.push(`PSP refund ${p.id} (${p.amount}, ${p.status}) matches no refund of Bursar's`);
      continue;
    }
    if (p.bursar_refund_id === null && mine.source !== 'psp')
      violations.push(`PSP dashboard refund ${p.id} is ${mine.id} with source ${mine.source}`);
    if (mine.amount_minor !== p.amount)
      violations.push(`${mine.id}: ${mine.amount_minor} at Bursar, ${p.amount} at the PSP`);
    if (mine.status !== p.status)
      violations.push(`${mine.id}: ${mine.status} at Bursar, ${p.status} at the PSP`);
  }
  const succeeded = ours.filter((refund) => refund.status === 'succeeded');
  const entries = await entryCount(
    cluster,
    succeeded.map((refund) => `refund:${refund.psp_refund_id ?? ''}`),
  );
  for (const refund of ours) {
    if (
      refund.status === 'succeeded' &&
      (refund.psp_refund_id === null || !byPspId.has(refund.psp_refund_id))
    )
      violations.push(`${refund.id} succeeded without a PSP refund`);
    if (
      refund.status === 'succeeded' &&
      (refund.psp_refund_id === null || !psp.some((p) => p.id === refund.psp_refund_id))
    )
      violations.push(`${refund.id} succeeded but the PSP has no refund ${refund.psp_refund_id ?? '(none)'}`);
    if (refund.status === 'succeeded' && entries.get(`refund:${refund.psp_refund_id ?? ''}`) !== 1)
      violations.push(
        `${refund.id} succeeded with ${entries.get(`refund:${refund.psp_refund_id ?? ''}`) ?? 0} ledger entries`,
      );
  }
  const count = (status: string) => ours.filter((r) => r.status === status).length;
  return {
    name: "no refund executed twice at the PSP; the PSP's refunds and Bursar's match one to one, one entry each",
    violations,
    detail: `${psp.length} PSP refunds (${dashboard} made in its dashboard), ${ours.length} Bursar refunds: succeeded=${count('succeeded')} failed=${count('failed')} canceled=${count('canceled')} pending=${count('pending')}`,
  };
}

/** Every refund final; refunds (pending + succeeded) of an order never above its captured amount. */
async function checkRefundsBounded(cluster: Cluster): Promise<CheckResult[]> {
  const rows = await cluster.pool.query<{
    payment_order_id: string;
    amount_minor: string;
    live: string;
    refunded_minor: string | null;
  }>(
    `SELECT o.payment_order_id, o.amount_minor::text AS amount_minor,
            COALESCE(sum(r.amount_minor) FILTER (WHERE r.status IN ('pending', 'succeeded')), 0)::text AS live,
            (SELECT f.refunded_minor::text FROM refunds.refundable f WHERE f.payment_order_id = o.payment_order_id) AS refunded_minor
       FROM payins.payment_order o JOIN refunds.refunds r USING (payment_order_id)
      GROUP BY o.payment_order_id, o.amount_minor`,
  );
  const bounded: string[] = [];
  let full = 0;
  for (const row of rows.rows) {
    if (BigInt(row.live) > BigInt(row.amount_minor))
      bounded.push(`${row.payment_order_id}: refunds total ${row.live}, captured ${row.amount_minor}`);
    if (row.refunded_minor !== row.live)
      bounded.push(
        `${row.payment_order_id}: refundable row says ${row.refunded_minor}, the refunds ${row.live}`,
      );
    if (row.live === row.amount_minor) full++;
  }
  const open = await cluster.pool.query<{ id: string; attempts: number; last_error: string | null }>(
    "SELECT id, attempts, last_error FROM refunds.refunds WHERE status = 'pending' ORDER BY id",
  );
  return [
    {
      name: 'refunds of an order never above what was captured',
      violations: bounded,
      detail: `${rows.rows.length} orders refunded, ${full} in full`,
    },
    {
      name: 'every refund is final',
      violations: open.rows.map(
        (r) => `${r.id} pending after ${r.attempts} attempts (${r.last_error ?? '-'})`,
      ),
    },
  ];
}

/** The PSP's disputes and Bursar's one to one, same status, the withdrawal (and a won one's return) booked once. */
async function checkDisputes(cluster: Cluster): Promise<CheckResult> {
  const violations: string[] = [];
  const psp = (
    await cluster.pool.query<PspDisputeRow>(
      `SELECT id, data->>'status' AS status, data->>'amount' AS amount, data->>'payment_intent' AS payment_intent
         FROM sandbox.objects WHERE object = 'dispute' ORDER BY id`,
    )
  ).rows;
  const ours = (
    await cluster.pool.query<DisputeRow>(
      `SELECT id, psp_dispute_id, status, amount_minor::text AS amount_minor, withdrawn_minor::text AS withdrawn_minor,
              reinstated_minor::text AS reinstated_minor, unattributed
         FROM disputes.disputes`,
    )
  ).rows;
  const byPsp = new Map(ours.map((d) => [d.psp_dispute_id, d]));
  const entries = await entryCount(
    cluster,
    psp.flatMap((d) => [`chargeback:${d.id}`, `dispute_reinstated:${d.id}`]),
  );
  const statuses: Record<string, number> = {};
  for (const p of psp) {
    statuses[p.status] = (statuses[p.status] ?? 0) + 1;
    const mine = byPsp.get(p.id);
    if (mine === undefined) {
      violations.push(`PSP dispute ${p.id} (${p.status}) is unknown to Bursar`);
      continue;
    }
    if (mine.unattributed) violations.push(`${mine.id} is unattributed`);
    if (mine.status !== p.status)
      violations.push(`${mine.id}: ${mine.status} at Bursar, ${p.status} at the PSP`);
    if (mine.withdrawn_minor !== p.amount)
      violations.push(`${mine.id}: withdrawn ${mine.withdrawn_minor ?? 'nothing'}, disputed ${p.amount}`);
    if (entries.get(`chargeback:${p.id}`) !== 1)
      violations.push(`${mine.id}: ${entries.get(`chargeback:${p.id}`) ?? 0} chargeback entries`);
    const reinstated = entries.get(`dispute_reinstated:${p.id}`) ?? 0;
    if (reinstated !== (p.status === 'won' ? 1 : 0))
      violations.push(`${mine.id} (${p.status}): ${reinstated} reinstatement entries`);
  }
  if (ours.length !== psp.length)
    violations.push(`Bursar has ${ours.length} disputes, the PSP ${psp.length}`);
  return {
    name: "the PSP's disputes and Bursar's match one to one, each booked once",
    violations,
    detail: `${psp.length} disputes: ${Object.entries(statuses)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  };
}

function minorOf(amount: string): bigint {
  const match = /^(-?)(\d+)\.(\d{2})$/.exec(amount);
  if (match === null) throw new Error(`not an amount: ${amount}`);
  const value = BigInt(match[2] ?? '0') * 100n + BigInt(match[3] ?? '0');
  return match[1] === '-' ? -value : value;
}

/** Every seller's wallet (`GET /v1/sellers/{id}/balance`, over HTTP) equals the ledger's accounts. */
async function checkWallets(cluster: Cluster, apiUrl: string, sellers: number): Promise<CheckResult> {
  const violations: string[] = [];
  const accounts = await cluster.pool.query<{ code: string; balance: string }>(
    `SELECT code, (CASE WHEN code LIKE '%:receivable:%' THEN debits_minor - credits_minor
                        ELSE credits_minor - debits_minor END)::text AS balance
       FROM ledger.accounts WHERE code LIKE 'seller:%'`,
  );
  const ledger = new Map(accounts.rows.map((row) => [row.code, BigInt(row.balance)]));
  let owing = 0;
  for (let i = 0; i < sellers; i++) {
    const seller = `chaos_seller_${i}`;
    const response = await fetch(`${apiUrl}/v1/sellers/${seller}/balance`, {
      headers: { authorization: `Bearer ${cluster.apiKey}` },
    });
    const wallet = (await response.json()) as Record<string, string>;
    if (response.status !== 200) {
      violations.push(`${seller}: balance answered ${response.status}`);
      continue;
    }
    const of = (purpose: string) => ledger.get(`seller:${seller}:${purpose}:USD`) ?? 0n;
    const expected: Record<string, bigint> = {
      pending: of('pending'),
      available: of('available'),
      reserved: of('reserved'),
      balance_due: -of('receivable'),
    };
    if (expected.balance_due !== 0n) owing++;
    for (const [field, value] of Object.entries(expected)) {
      const shown = minorOf(wallet[field] ?? '');
      if (shown !== value) violations.push(`${seller}: wallet ${field} ${shown}, ledger ${value}`);
    }
  }
  return {
    name: "every seller's wallet equals the ledger",
    violations,
    detail: `${sellers} sellers, ${owing} owing the platform (balance_due < 0)`,
  };
}

/**
 * Every key got a definitive answer; once a key has a stored answer (2xx) every later answer replays it exactly.
 * Refusals (4xx) are not stored, by design (docs/refunds.md): a refused key is decided afresh on a retry, so two
 * refusals must only agree on their error code (the body carries its own request id), and a refusal may be
 * followed by a success when something changed in between (a racing refund failed and gave its amount back) —
 * counted, not a violation.
 */
function checkMoneyBackAnswers(records: MoneyBackRecord[]): CheckResult {
  const violations: string[] = [];
  let keys = 0;
  let retries = 0;
  let decidedAfresh = 0;
  const statuses: Record<string, number> = {};
  const codeOf = (answer: Answer) => (answer.body as { error?: { code?: string } } | undefined)?.error?.code;
  for (const record of records) {
    for (const key of record.keys) {
      keys++;
      retries += key.answers.length - 1;
      const definitive = key.answers.filter(isDefinitive).sort((a, b) => a.atMs - b.atMs);
      const first = definitive[0];
      if (first === undefined) {
        violations.push(`${key.key} (${key.path}): no definitive answer in ${key.answers.length} tries`);
        continue;
      }
      statuses[first.status] = (statuses[first.status] ?? 0) + 1;
      if (![200, 201, 409, 422].includes(first.status))
        violations.push(
          `${key.key} (${key.path}): answered ${first.status} ${JSON.stringify(first.body).slice(0, 200)}`,
        );
      const stored = definitive.find((answer) => answer.status < 300);
      for (const answer of definitive) {
        if (stored !== undefined && answer.atMs > stored.atMs) {
          if (answer.status !== stored.status || !isDeepStrictEqual(answer.body, stored.body)) {
            violations.push(
              `${key.key}: after ${stored.status}, a retry got ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`,
            );
            break;
          }
        } else if (
          answer.status >= 300 &&
          (answer.status !== first.status || codeOf(answer) !== codeOf(first))
        ) {
          violations.push(
            `${key.key}: refused ${first.status} ${codeOf(first) ?? ''}, then ${answer.status} ${codeOf(answer) ?? ''}`,
          );
          break;
        }
      }
      if (stored !== undefined && first.status >= 300) decidedAfresh++;
    }
  }
  return {
    name: 'every refund and dispute POST retry got the same answer as the original (refusals: the same code)',
    violations,
    detail: `${keys} keys, ${retries} retries, ${decidedAfresh} refused then accepted afresh; first answers ${Object.entries(
      statuses,
    )
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  };
}

export async function runMoneyBackChecks(input: {
  cluster: Cluster;
  records: MoneyBackRecord[];
  apiUrl: string;
  sellers: number;
}): Promise<CheckResult[]> {
  return [
    checkMoneyBackAnswers(input.records),
    await checkRefundsOneToOne(input.cluster),
    ...(await checkRefundsBounded(input.cluster)),
    await checkDisputes(input.cluster),
    await checkWallets(input.cluster, input.apiUrl, input.sellers),
  ];
}
