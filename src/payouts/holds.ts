import type { Pool, PoolClient, Queryable } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import {
  holdReleased,
  lockBalances,
  planRecovery,
  postEntries,
  recoveryAccountCodes,
  sellerAvailable,
  sellerPending,
  sellerReceivable,
  type EntryInput,
  type LockedBalance,
  type SellerCurrency,
} from '../ledger/index.ts';
import type { IsoDate } from './settings.ts';

/**
 * Holds: each successful pay-in's net amount stays in the seller's pending balance for the seller's hold period
 * (default 7 days), then the availability job moves it to available with a `hold.released` entry.
 */

/**
 * Records the hold of a successful pay-in, in the pay-in's own transaction (so a credited pending balance always
 * has its hold). Available on the UTC date `holdDays` after today's database date. Recording twice is a no-op.
 */
export async function recordPayinHold(
  client: Queryable,
  hold: {
    paymentOrderId: string;
    sellerAccount: string;
    currency: string;
    amountMinor: bigint;
    holdDays: number;
  },
): Promise<void> {
  if (hold.amountMinor <= 0n) return;
  await client.query(
    `INSERT INTO payouts.holds (payment_order_id, seller_account, currency, amount_minor, succeeded_at, available_on)
     VALUES ($1, $2, $3, $4, now(), (now() AT TIME ZONE 'UTC')::date + $5::int)
     ON CONFLICT (payment_order_id) DO NOTHING`,
    [hold.paymentOrderId, hold.sellerAccount, hold.currency, hold.amountMinor, hold.holdDays],
  );
}

/** `recordPayinHold` of many pay-ins in one statement (a settle batch's); recording one twice is a no-op. */
export async function recordPayinHolds(
  client: Queryable,
  holds: ReadonlyArray<{
    paymentOrderId: string;
    sellerAccount: string;
    currency: string;
    amountMinor: bigint;
    holdDays: number;
  }>,
): Promise<void> {
  const kept = holds.filter((hold) => hold.amountMinor > 0n);
  if (kept.length === 0) return;
  await client.query(
    `INSERT INTO payouts.holds (payment_order_id, seller_account, currency, amount_minor, succeeded_at, available_on)
     SELECT h.id, h.seller, h.currency, h.amount, now(), (now() AT TIME ZONE 'UTC')::date + h.days
       FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::int[]) AS h(id, seller, currency, amount, days)
     ON CONFLICT (payment_order_id) DO NOTHING`,
    [
      kept.map((hold) => hold.paymentOrderId),
      kept.map((hold) => hold.sellerAccount),
      kept.map((hold) => hold.currency),
      kept.map((hold) => hold.amountMinor),
      kept.map((hold) => hold.holdDays),
    ],
  );
}

interface DueHold {
  payment_order_id: string;
  seller_account: string;
  currency: string;
  amount_minor: bigint;
}

/**
 * The release entries of a batch of due holds, each at most what the seller's pending balance (locked) still
 * holds; and what each seller's available balance gains, by `seller currency`.
 */
function planReleases(
  due: DueHold[],
  today: IsoDate,
  locked: Map<string, LockedBalance>,
): { entries: EntryInput[]; credited: Map<string, bigint> } {
  const left = new Map<string, bigint>();
  const credited = new Map<string, bigint>();
  const entries: EntryInput[] = [];
  for (const row of due) {
    const code = sellerPending(row.seller_account, row.currency).code;
    const available = left.get(code) ?? locked.get(code)?.balanceMinor ?? 0n;
    const amount = row.amount_minor < available ? row.amount_minor : available;
    if (amount <= 0n) continue;
    left.set(code, available - amount);
    const key = `${row.seller_account} ${row.currency}`;
    credited.set(key, (credited.get(key) ?? 0n) + amount);
    entries.push(
      holdReleased({
        currency: row.currency,
        releaseId: row.payment_order_id,
        sellerId: row.seller_account,
        amountMinor: amount,
        metadata: { paymentOrderId: row.payment_order_id, availableOn: today },
      }),
    );
  }
  return { entries, credited };
}

/**
 * The seller's debt is recovered first from the money a release makes available (docs/ledger.md "Seller debt"):
 * for each seller and currency the batch credits, min(available after the release, receivable), in the release's
 * own transaction and ledger call.
 */
function planDebtRecoveries(
  pairs: SellerCurrency[],
  credited: Map<string, bigint>,
  locked: Map<string, LockedBalance>,
): EntryInput[] {
  const entries: EntryInput[] = [];
  for (const pair of pairs) {
    const gained = credited.get(`${pair.sellerId} ${pair.currency}`) ?? 0n;
    if (gained <= 0n) continue;
    const before = locked.get(sellerAvailable(pair.sellerId, pair.currency).code)?.balanceMinor ?? 0n;
    const receivable = locked.get(sellerReceivable(pair.sellerId, pair.currency).code);
    const entry = planRecovery(pair, before + gained, receivable, { trigger: 'hold_release' });
    if (entry !== undefined) entries.push(entry);
  }
  return entries;
}

async function releaseBatch(client: PoolClient, today: IsoDate, batchSize: number): Promise<number> {
  const due = await client.query<DueHold>(
    `SELECT payment_order_id, seller_account, currency, amount_minor FROM payouts.holds
     WHERE released_at IS NULL AND available_on <= $1::date
     ORDER BY available_on, payment_order_id LIMIT $2 FOR UPDATE`,
    [today, batchSize],
  );
  if (due.rows.length === 0) return 0;
  // A refund or chargeback may have taken money from pending while the sale was on hold: release at most what
  // is still there, so the entry never breaks the account's floor. The seller's accounts are locked first, so a
  // concurrent claw-back cannot move them between this decision and its posting.
  const pairKeys = new Map(
    due.rows.map((row) => [
      `${row.seller_account} ${row.currency}`,
      { sellerId: row.seller_account, currency: row.currency },
    ]),
  );
  const pairs = [...pairKeys.values()];
  const locked = await lockBalances(client, [
    ...pairs.map((p) => sellerPending(p.sellerId, p.currency).code),
    ...recoveryAccountCodes(pairs),
  ]);
  const { entries, credited } = planReleases(due.rows, today, locked);
  const recoveries = planDebtRecoveries(pairs, credited, locked);
  const posted = entries.length > 0 ? await postEntries(client, [...entries, ...recoveries]) : [];
  const entryIds = new Map<string, string>();
  entries.forEach((input, index) => {
    const id = posted[index]?.entryId;
    const po = input.metadata?.paymentOrderId;
    if (id !== undefined && typeof po === 'string') entryIds.set(po, id);
  });
  await client.query(
    `UPDATE payouts.holds h SET released_at = now(), release_entry_id = x.entry_id
     FROM unnest($1::text[], $2::text[]) AS x(payment_order_id, entry_id) WHERE h.payment_order_id = x.payment_order_id`,
    [
      due.rows.map((row) => row.payment_order_id),
      due.rows.map((row) => entryIds.get(row.payment_order_id) ?? null),
    ],
  );
  return due.rows.length;
}

/**
 * The availability job: every hold due on or before `today` is released (pending → available), in batches of
 * one transaction each. When it returns, no hold due by `today` is left unreleased — even one another process
 * was releasing at the same moment: locked holds are waited for (not skipped), then seen released. The payout
 * run relies on this to decide on complete balances. Safe to run again (released holds are skipped; the
 * entries' references are the pay-ins' ids). Holds are locked in one order, so concurrent releasers queue.
 */
export async function releaseDueHolds(pool: Pool, today: IsoDate, batchSize = 1000): Promise<number> {
  let total = 0;
  for (;;) {
    const released = await withTransaction(pool, (client) => releaseBatch(client, today, batchSize));
    total += released;
    if (released === 0) return total;
  }
}
