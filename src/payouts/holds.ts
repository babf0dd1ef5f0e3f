import type { Pool, PoolClient, Queryable } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { getBalances, holdReleased, postEntries, sellerPending, type EntryInput } from '../ledger/index.ts';
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

interface DueHold {
  payment_order_id: string;
  seller_account: string;
  currency: string;
  amount_minor: bigint;
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
  // is still there, so the entry never breaks the account's floor.
  const codes = [...new Set(due.rows.map((row) => sellerPending(row.seller_account, row.currency).code))];
  const balances = await getBalances(client, codes);
  const left = new Map(codes.map((code) => [code, balances.get(code)?.balanceMinor ?? 0n]));
  const entries: EntryInput[] = [];
  for (const row of due.rows) {
    const code = sellerPending(row.seller_account, row.currency).code;
    const available = left.get(code) ?? 0n;
    const amount = row.amount_minor < available ? row.amount_minor : available;
    if (amount <= 0n) continue;
    left.set(code, available - amount);
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
  const posted = entries.length > 0 ? await postEntries(client, entries) : [];
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
