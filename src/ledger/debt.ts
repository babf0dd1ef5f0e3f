import type { Pool, PoolClient, Queryable } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { sellerAvailable, sellerReceivable } from './chart.ts';
import { postEntries } from './post.ts';
import { normalBalance } from './read.ts';
import { debtRecovered, debtStateId } from './recipes-debt.ts';
import type { AccountType, EntryInput } from './types.ts';

/**
 * Seller debt on the ledger (docs/ledger.md "Seller debt"): locking the accounts a recovery decides on, planning
 * and posting recoveries, and reading a debt's age from the receivable's balance-after chain.
 */

export interface LockedBalance {
  balanceMinor: bigint;
  /** The account's chain length (number of postings). */
  version: bigint;
}

/**
 * Locks the named accounts (in code order, the ledger's lock order) for the rest of the caller's transaction and
 * returns their balances; an account that does not exist yet is absent (its balance is zero). Decisions on these
 * balances (a claw-back split, a recovery) then post without racing a concurrent writer.
 */
export async function lockBalances(client: Queryable, codes: string[]): Promise<Map<string, LockedBalance>> {
  const locked = await client.query<{
    code: string;
    type: AccountType;
    debits_minor: bigint;
    credits_minor: bigint;
    version: bigint;
  }>(
    `SELECT code, type, debits_minor, credits_minor, version FROM ledger.accounts
      WHERE code = ANY($1::text[]) ORDER BY code FOR UPDATE`,
    [[...new Set(codes)]],
  );
  return new Map(
    locked.rows.map((row) => [
      row.code,
      { balanceMinor: normalBalance(row.type, row.debits_minor, row.credits_minor), version: row.version },
    ]),
  );
}

/** A seller and currency whose debt a recovery considers. */
export interface SellerCurrency {
  sellerId: string;
  currency: string;
}

/** The account codes a recovery for these sellers locks: available and receivable. */
export function recoveryAccountCodes(pairs: SellerCurrency[]): string[] {
  return pairs.flatMap((p) => [
    sellerAvailable(p.sellerId, p.currency).code,
    sellerReceivable(p.sellerId, p.currency).code,
  ]);
}

/**
 * The recovery entry for one seller and currency: min(available, receivable), where `availableMinor` is the
 * available balance the recovery may take (after what the same transaction credits to it), and the receivable is
 * read under its lock. Undefined when there is nothing owed or nothing to take.
 */
export function planRecovery(
  pair: SellerCurrency,
  availableMinor: bigint,
  receivable: LockedBalance | undefined,
  metadata: Record<string, unknown> = {},
): EntryInput | undefined {
  if (receivable === undefined || receivable.balanceMinor <= 0n || availableMinor <= 0n) return undefined;
  const amount = availableMinor < receivable.balanceMinor ? availableMinor : receivable.balanceMinor;
  return debtRecovered({
    sellerId: pair.sellerId,
    currency: pair.currency,
    amountMinor: amount,
    recoveryId: debtStateId(pair.sellerId, pair.currency, receivable.version),
    metadata: { ...metadata, currency: pair.currency },
  });
}

/** Recovers, in the caller's transaction, each pair's debt from its available balance (locks, plans, posts). */
export async function recoverDebtsIn(
  client: PoolClient,
  pairs: SellerCurrency[],
  trigger: string,
): Promise<EntryInput[]> {
  if (pairs.length === 0) return [];
  const locked = await lockBalances(client, recoveryAccountCodes(pairs));
  const entries: EntryInput[] = [];
  for (const pair of pairs) {
    const available = locked.get(sellerAvailable(pair.sellerId, pair.currency).code)?.balanceMinor ?? 0n;
    const receivable = locked.get(sellerReceivable(pair.sellerId, pair.currency).code);
    const entry = planRecovery(pair, available, receivable, { trigger });
    if (entry !== undefined) entries.push(entry);
  }
  if (entries.length > 0) await postEntries(client, entries);
  return entries;
}

/**
 * Sellers (and currencies) that owe the platform and have available money: the receivable accounts with a
 * positive balance whose owner's available account in that currency is positive too.
 */
export async function sellersWithRecoverableDebt(db: Queryable): Promise<SellerCurrency[]> {
  const found = await db.query<{ owner_id: string; currency: string }>(
    `SELECT r.owner_id, r.currency
       FROM ledger.accounts r
       JOIN ledger.accounts a ON a.code = 'seller:' || r.owner_id || ':available:' || r.currency
      WHERE r.type = 'asset' AND r.owner_id IS NOT NULL AND r.code LIKE 'seller:%:receivable:%'
        AND r.debits_minor > r.credits_minor AND a.credits_minor > a.debits_minor
      ORDER BY r.owner_id, r.currency`,
  );
  return found.rows.map((row) => ({ sellerId: row.owner_id, currency: row.currency }));
}

/**
 * Recovers every recoverable debt (the payout run does this first, for money that became available some other
 * way than a hold release: a returned payout, say). One transaction per batch of sellers. Returns the number of
 * recovery entries posted.
 */
export async function recoverAllDebts(pool: Pool, batchSize = 500): Promise<number> {
  const pairs = await sellersWithRecoverableDebt(pool);
  let posted = 0;
  for (let start = 0; start < pairs.length; start += batchSize) {
    const batch = pairs.slice(start, start + batchSize);
    const entries = await withTransaction(pool, (client) => recoverDebtsIn(client, batch, 'payout_run'));
    posted += entries.length;
  }
  return posted;
}

/** What a seller owes in one currency, and since when (null when nothing is owed). */
export interface SellerDebt {
  balanceMinor: bigint;
  /**
   * When the debt began: the first posting on the receivable after its balance was last zero (the balance-after
   * chain), so a debt partly recovered and topped up again keeps its first date until it is fully covered.
   */
  since: Date | null;
}

/** A seller's debt in `currency` (a view of the receivable's postings; no lock). */
export async function sellerDebt(db: Queryable, sellerId: string, currency: string): Promise<SellerDebt> {
  const found = await db.query<{ balance: bigint; since: Date | null }>(
    `SELECT a.debits_minor - a.credits_minor AS balance,
            (SELECT min(p.posted_at) FROM ledger.postings p
              WHERE p.account_id = a.id
                AND p.seq > coalesce((SELECT max(z.seq) FROM ledger.postings z
                                       WHERE z.account_id = a.id AND z.balance_after = 0), 0)) AS since
       FROM ledger.accounts a WHERE a.code = $1`,
    [sellerReceivable(sellerId, currency).code],
  );
  const row = found.rows[0];
  if (row === undefined || row.balance <= 0n) return { balanceMinor: 0n, since: null };
  return { balanceMinor: row.balance, since: row.since };
}

/**
 * The part of a seller's debt that is older than `cutoff`, oldest money first: what the receivable held at the
 * cutoff less every credit (recovery, write-off) posted since, never below zero nor above today's balance.
 */
export async function debtOlderThan(
  db: Queryable,
  sellerId: string,
  currency: string,
  cutoff: Date,
): Promise<bigint> {
  const found = await db.query<{ balance: bigint; at_cutoff: bigint | null; credited_since: bigint }>(
    `SELECT a.debits_minor - a.credits_minor AS balance,
            (SELECT p.balance_after FROM ledger.postings p
              WHERE p.account_id = a.id AND p.posted_at <= $2
              ORDER BY p.posted_at DESC, p.seq DESC LIMIT 1) AS at_cutoff,
            (SELECT coalesce(sum(p.amount_minor), 0)::bigint FROM ledger.postings p
              WHERE p.account_id = a.id AND p.posted_at > $2 AND p.is_credit) AS credited_since
       FROM ledger.accounts a WHERE a.code = $1`,
    [sellerReceivable(sellerId, currency).code, cutoff],
  );
  const row = found.rows[0];
  if (row === undefined) return 0n;
  const old = (row.at_cutoff ?? 0n) - row.credited_since;
  if (old <= 0n) return 0n;
  return old < row.balance ? old : row.balance;
}
