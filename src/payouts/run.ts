import type { Pool, PoolClient } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { isAppError } from '../errors.ts';
import {
  lockBalances,
  payoutStarted,
  planRecovery,
  postEntries,
  recoverAllDebts,
  reserveHeld,
  reserveReleased,
  sellerAvailable,
  sellerInTransit,
  sellerReceivable,
  sellerReserved,
  type EntryInput,
  type LockedBalance,
} from '../ledger/index.ts';
import type { Logger } from '../log.ts';
import { lockSellers, sellersDueOn, type SellerDue } from '../sellers/index.ts';
import { payoutTargets, type PayoutTarget } from './currencies.ts';
import { releaseDueHolds } from './holds.ts';
import { newPayoutId } from './ids.ts';
import { providerNameFor, type PayoutProvider, type SubmitReport } from './port.ts';
import { decideRun, isDue, type IsoDate, type RunDecision } from './settings.ts';
import { insertPayouts, type NewPayout } from './store.ts';

/**
 * The payout run for one date: release the holds due by that date, then for every seller due that day and each
 * currency they hold turn available minus reserve, when at least that currency's minimum, into a payout (ledger
 * entry and payout row in one transaction), then hand the new payouts to the provider.
 *
 * Idempotent per seller and date: a marker row (`payouts.seller_runs`, primary key seller + date) is inserted in
 * the transaction that decides for the seller, under the seller's row lock; a second run — or a concurrent one in
 * another process, which waits on that lock until the first commits — finds it and does nothing. The unique index
 * on (seller, run_date) of scheduled payouts is the second guard.
 */

export interface RunDeps {
  pool: Pool;
  log: Logger;
  provider: PayoutProvider;
  /** "Now" for the run (the injected clock, or the end of `--date D`). */
  now: Date;
}

export interface RunReport {
  date: IsoDate;
  holdsReleased: number;
  /** Recovery entries the run posted before deciding (money that became available against a seller's debt). */
  debtsRecovered: number;
  sellersDue: number;
  payoutsCreated: number;
  /** Total paid out by this run, per currency, in minor units. */
  totalsMinor: Record<string, bigint>;
  /**
   * Per outcome, the number of sellers and currencies; `in_debt`: skipped because they owe the platform in that
   * currency; `needs_bank_details`: that currency's account is flagged after a returned payout.
   */
  outcomes: Record<RunDecision['outcome'] | 'already_run' | 'failed', number>;
  /** Money left unpaid because the seller has no bank account in its currency (outcome `no_bank_details`). */
  skipped: SkippedBalance[];
  submit: SubmitReport;
}

export interface SkippedBalance {
  sellerAccount: string;
  currency: string;
  availableMinor: bigint;
}

type DueSeller = SellerDue;

const CHUNK = 500;
/**
 * Pages decided at once, each in its own transaction. Pages hold disjoint sellers (and so disjoint seller rows,
 * markers and accounts), each taking its locks in order, so they do not wait on each other; what makes a seller's
 * decision once-only (its marker) is unchanged.
 */
const PARALLEL_PAGES = 3;

/** Of `sellers`, those the run of `date` has not decided for yet (no marker in `payouts.seller_runs`). */
async function notRunYet(pool: Pool, date: IsoDate, sellers: DueSeller[]): Promise<DueSeller[]> {
  if (sellers.length === 0) return sellers;
  const ran = await pool.query<{ seller_account: string }>(
    'SELECT seller_account FROM payouts.seller_runs WHERE run_date = $1::date AND seller_account = ANY($2::text[])',
    [date, sellers.map((s) => s.sellerAccount)],
  );
  const done = new Set(ran.rows.map((row) => row.seller_account));
  return sellers.filter((s) => !done.has(s.sellerAccount));
}

interface ChunkResult {
  created: NewPayout[];
  outcomes: Array<RunDecision['outcome'] | 'already_run'>;
  skipped: SkippedBalance[];
}

interface PlannedSeller {
  seller: PayoutTarget;
  /** Available (after debt recovery and the reserve change) when nothing was paid. */
  unpaidMinor: bigint;
  decision: RunDecision;
  payoutId: string | null;
  entryIndex: number;
}

/**
 * Of `sellers`, those this transaction decides for: the ones without a marker for `date`. Called under the
 * sellers' row locks, so a concurrent run of the same date that decided for them first has committed its markers
 * (its lock was released at its commit) and this statement, under a fresh snapshot, sees them.
 */
async function claimSellers(client: PoolClient, date: IsoDate, sellers: DueSeller[]): Promise<Set<string>> {
  const ran = await client.query<{ seller_account: string }>(
    'SELECT seller_account FROM payouts.seller_runs WHERE run_date = $1::date AND seller_account = ANY($2::text[])',
    [date, sellers.map((s) => s.sellerAccount)],
  );
  const done = new Set(ran.rows.map((row) => row.seller_account));
  return new Set(sellers.filter((s) => !done.has(s.sellerAccount)).map((s) => s.sellerAccount));
}

/**
 * A seller's debt is paid before anything else: from available money, then from the reserve (held back for
 * exactly this: refunds and chargebacks), in one recovery entry. Appends the entries; returns the balances left.
 */
function payDebtFirst(
  deps: RunDeps,
  date: IsoDate,
  seller: PayoutTarget,
  balances: Map<string, LockedBalance>,
  entries: EntryInput[],
): { available: bigint; reserved: bigint; owed: bigint } {
  const { sellerAccount, currency } = seller;
  let available = balances.get(sellerAvailable(sellerAccount, currency).code)?.balanceMinor ?? 0n;
  let reserved = balances.get(sellerReserved(sellerAccount, currency).code)?.balanceMinor ?? 0n;
  const receivable = balances.get(sellerReceivable(sellerAccount, currency).code);
  let owed = receivable?.balanceMinor ?? 0n;
  if (owed <= 0n) return { available, reserved, owed: 0n };
  const short = owed - available;
  const fromReserve = short <= 0n || reserved <= 0n ? 0n : short < reserved ? short : reserved;
  if (fromReserve > 0n) {
    entries.push(
      reserveReleased({
        currency,
        sellerId: sellerAccount,
        effectiveAt: deps.now,
        reserveId: `${sellerAccount}:${date}:debt${currencyTag(seller)}`,
        amountMinor: fromReserve,
        metadata: { reason: 'debt' },
      }),
    );
    available += fromReserve;
    reserved -= fromReserve;
  }
  const pair = { sellerId: sellerAccount, currency };
  const recovery = planRecovery(pair, available, receivable, { trigger: 'payout_run', runDate: date });
  const recovered = recovery?.postings[0]?.amountMinor ?? 0n;
  if (recovery !== undefined) entries.push(recovery);
  available -= recovered;
  owed -= recovered;
  return { available, reserved, owed };
}

/**
 * Decides for one seller and appends its ledger entries (debt recovery, reserve change, payout) to `entries`.
 * A seller who owes the platform in the currency (receivable > 0) is paid nothing until the debt is covered:
 * available money first pays the debt; what remains owed makes the outcome `in_debt`, with no reserve change.
 */
function planSeller(
  deps: RunDeps,
  date: IsoDate,
  seller: PayoutTarget,
  balances: Map<string, LockedBalance>,
  entries: EntryInput[],
): PlannedSeller {
  const { settings } = seller;
  const { available, reserved, owed } = payDebtFirst(deps, date, seller, balances, entries);
  if (owed > 0n) {
    const decision: RunDecision = { reserveChangeMinor: 0n, payoutMinor: 0n, outcome: 'in_debt' };
    return { seller, decision, payoutId: null, entryIndex: -1, unpaidMinor: available };
  }
  const decision = decideRun(settings, available, reserved);
  const common = { currency: seller.currency, sellerId: seller.sellerAccount, effectiveAt: deps.now };
  const reserveId = `${seller.sellerAccount}:${date}${currencyTag(seller)}`;
  if (decision.reserveChangeMinor > 0n) {
    entries.push(reserveHeld({ ...common, reserveId, amountMinor: decision.reserveChangeMinor }));
  } else if (decision.reserveChangeMinor < 0n) {
    entries.push(reserveReleased({ ...common, reserveId, amountMinor: -decision.reserveChangeMinor }));
  }
  let payoutId: string | null = null;
  let entryIndex = -1;
  if (decision.outcome === 'paid') {
    payoutId = newPayoutId();
    entryIndex = entries.length;
    entries.push(
      payoutStarted({ ...common, payoutId, amountMinor: decision.payoutMinor, metadata: { runDate: date } }),
    );
  }
  const unpaidMinor = payoutId === null ? available - decision.reserveChangeMinor : 0n;
  return { seller, decision, payoutId, entryIndex, unpaidMinor };
}

/** Ledger references of another currency than the seller's own name it (the own currency's stay as they were). */
function currencyTag(target: PayoutTarget): string {
  return target.currency === target.ownCurrency ? '' : `:${target.currency}`;
}

/** The payout rows of the planned sellers that are paid, each with its posted ledger entry. */
function newPayouts(
  deps: RunDeps,
  date: IsoDate,
  planned: PlannedSeller[],
  posted: Awaited<ReturnType<typeof postEntries>>,
): NewPayout[] {
  const created: NewPayout[] = [];
  for (const plan of planned) {
    const bank = plan.seller.settings.bank;
    const entryId = posted[plan.entryIndex]?.entryId;
    if (plan.payoutId === null || bank === null || entryId === undefined) continue;
    created.push({
      id: plan.payoutId,
      sellerAccount: plan.seller.sellerAccount,
      currency: plan.seller.currency,
      amountMinor: plan.decision.payoutMinor,
      source: 'scheduled',
      runDate: date,
      provider: providerNameFor(deps.provider, bank),
      destination: bank,
      ledgerEntryId: entryId,
      reason: `payout run of ${date}`,
      historySource: 'payout_run',
    });
  }
  return created;
}

/**
 * Inserts each seller's run marker with its outcome: `outcome` and `payout_id` are the seller's own currency's,
 * the other currencies' are in `currency_outcomes`. Written under the sellers' row locks after
 * `claimSellers` found none, so a conflict means a writer that skipped the lock: the chunk is refused whole.
 */
async function recordSellerRuns(client: PoolClient, date: IsoDate, planned: PlannedSeller[]): Promise<void> {
  const own = planned.filter((p) => p.seller.currency === p.seller.ownCurrency);
  const others = new Map<string, Record<string, { outcome: string; payout_id: string | null }>>();
  for (const p of planned) {
    if (p.seller.currency === p.seller.ownCurrency) continue;
    const record = others.get(p.seller.sellerAccount) ?? {};
    record[p.seller.currency] = { outcome: p.decision.outcome, payout_id: p.payoutId };
    others.set(p.seller.sellerAccount, record);
  }
  const inserted = await client.query(
    `INSERT INTO payouts.seller_runs (seller_account, run_date, outcome, payout_id, currency_outcomes)
     SELECT x.seller_account, $4::date, x.outcome, x.payout_id, x.currency_outcomes::jsonb
       FROM unnest($1::text[], $2::text[], $3::text[], $5::text[])
         AS x(seller_account, outcome, payout_id, currency_outcomes)
      ORDER BY x.seller_account
     ON CONFLICT (seller_account, run_date) DO NOTHING`,
    [
      own.map((p) => p.seller.sellerAccount),
      own.map((p) => p.decision.outcome),
      own.map((p) => p.payoutId),
      date,
      own.map((p) => {
        const record = others.get(p.seller.sellerAccount);
        return record === undefined ? null : JSON.stringify(record);
      }),
    ],
  );
  if (inserted.rowCount !== own.length) {
    throw new Error(`payout run ${date}: a seller's marker appeared while its row was locked`);
  }
}

/** Balances a run could not pay for want of an account in their currency: reported, never silently kept. */
function skippedOf(planned: PlannedSeller[]): SkippedBalance[] {
  return planned
    .filter((p) => p.decision.outcome === 'no_bank_details' && p.unpaidMinor > 0n)
    .map((p) => ({
      sellerAccount: p.seller.sellerAccount,
      currency: p.seller.currency,
      availableMinor: p.unpaidMinor,
    }));
}

async function processChunk(
  client: PoolClient,
  deps: RunDeps,
  date: IsoDate,
  sellers: DueSeller[],
): Promise<ChunkResult> {
  // The seller rows are the per-seller lock a manual payout also takes: no two payouts decide on one balance,
  // and a concurrent run of the same date waits here until this one's markers are committed.
  await lockSellers(
    client,
    sellers.map((s) => s.sellerAccount),
  );
  const owned = await claimSellers(client, date, sellers);
  const outcomes: ChunkResult['outcomes'] = sellers
    .filter((s) => !owned.has(s.sellerAccount))
    .map(() => 'already_run');
  const mine = sellers.filter((s) => owned.has(s.sellerAccount));
  if (mine.length === 0) return { created: [], outcomes, skipped: [] };
  // Each currency the seller holds or has an account in is decided on its own (currencies.ts).
  const targets = await payoutTargets(client, mine);
  const codes = targets.flatMap((s) => [
    sellerAvailable(s.sellerAccount, s.currency).code,
    sellerInTransit(s.sellerAccount, s.currency).code,
    sellerReceivable(s.sellerAccount, s.currency).code,
    sellerReserved(s.sellerAccount, s.currency).code,
  ]);
  // Under the locks of every account the run posts to, taken in the ledger's (code) order: a concurrent claw-back
  // waits for this decision instead of racing it, and never holds one of them while waiting for another.
  const balances = await lockBalances(client, codes);
  const entries: EntryInput[] = [];
  const planned = targets.map((target) => planSeller(deps, date, target, balances, entries));
  const posted = await postEntries(client, entries);
  for (const plan of planned) outcomes.push(plan.decision.outcome);
  const created = newPayouts(deps, date, planned, posted);
  await insertPayouts(client, created);
  await recordSellerRuns(client, date, planned);
  return { created, outcomes, skipped: skippedOf(planned) };
}

function emptyReport(date: IsoDate, holdsReleased: number, debtsRecovered: number): RunReport {
  return {
    date,
    holdsReleased,
    debtsRecovered,
    sellersDue: 0,
    payoutsCreated: 0,
    totalsMinor: {},
    outcomes: {
      paid: 0,
      below_minimum: 0,
      nothing_available: 0,
      no_bank_details: 0,
      needs_bank_details: 0,
      in_debt: 0,
      already_run: 0,
      failed: 0,
    },
    skipped: [],
    submit: { submitted: 0, files: [], failed: 0 },
  };
}

function tally(report: RunReport, result: ChunkResult): void {
  for (const outcome of result.outcomes) report.outcomes[outcome]++;
  report.skipped.push(...result.skipped);
  for (const payout of result.created) {
    report.payoutsCreated++;
    report.totalsMinor[payout.currency] = (report.totalsMinor[payout.currency] ?? 0n) + payout.amountMinor;
  }
}

/** Decides for a chunk of due sellers in one transaction; when that fails, for each seller in its own. */
async function runChunk(
  deps: RunDeps,
  date: IsoDate,
  sellers: DueSeller[],
  report: RunReport,
): Promise<void> {
  try {
    tally(report, await withTransaction(deps.pool, (client) => processChunk(client, deps, date, sellers)));
  } catch (error) {
    // One seller's balance moved under us (a refund, a manual payout): decide for each seller on its own, so
    // one failure costs one seller this period, not the whole chunk.
    deps.log.warn({ err: error, date }, 'payout run: chunk failed, retrying seller by seller');
    for (const seller of sellers) {
      try {
        tally(
          report,
          await withTransaction(deps.pool, (client) => processChunk(client, deps, date, [seller])),
        );
      } catch (sellerError) {
        report.outcomes.failed++;
        deps.log.error(
          {
            err: sellerError,
            seller: seller.sellerAccount,
            date,
            code: isAppError(sellerError) ? sellerError.code : undefined,
          },
          'payout run: seller failed; it will be considered again by the next run of this date',
        );
      }
    }
  }
}

export async function runPayouts(
  deps: RunDeps,
  date: IsoDate,
  options: { chunkSize?: number; sameDay?: boolean } = {},
): Promise<RunReport> {
  const chunkSize = options.chunkSize ?? CHUNK;
  const holdsReleased = await releaseDueHolds(deps.pool, date);
  // Money that became available another way (a returned payout, a reserve given back) pays debts first too.
  const report = emptyReport(date, holdsReleased, await recoverAllDebts(deps.pool));
  let after = '';
  const running = new Set<Promise<void>>();
  for (;;) {
    const page = await sellersDueOn(deps.pool, date, after, chunkSize);
    const last = page[page.length - 1];
    if (last === undefined) break;
    after = last.sellerAccount;
    // The SQL selects by schedule; the pure rule is asserted again, as the design asks of invariants.
    const sellers = (await notRunYet(deps.pool, date, page)).filter((row) =>
      isDue(row.settings.schedule, date),
    );
    report.sellersDue += sellers.length;
    if (sellers.length === 0) {
      if (page.length < chunkSize) break;
      continue;
    }
    const chunk: Promise<void> = runChunk(deps, date, sellers, report).finally(() => running.delete(chunk));
    chunk.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    running.add(chunk);
    if (running.size >= PARALLEL_PAGES) await Promise.race(running);
    if (page.length < chunkSize) break;
  }
  await Promise.all(running);
  if (report.skipped.length > 0) {
    deps.log.warn(
      { date, skipped: report.skipped.map((s) => ({ ...s, availableMinor: s.availableMinor.toString() })) },
      'payout run: balances left unpaid, the seller has no bank account in their currency',
    );
  }
  report.submit = await deps.provider.submitPending({ pool: deps.pool, log: deps.log }, date, deps.now, {
    sameDay: options.sameDay === true,
  });
  return report;
}
