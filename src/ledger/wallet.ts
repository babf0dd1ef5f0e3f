import type { Queryable } from '../db/pool.ts';
import { sellerAvailable, sellerInTransit } from './chart.ts';
import { ENTRY_KINDS } from './recipes.ts';

/**
 * What a seller has been paid out, in minor units: the payout-paid debits on their in-transit account, less
 * payouts that came back after being paid and reversals of payout-paid entries. A view of the ledger, never a
 * stored second truth.
 */
export async function paidOutTotal(db: Queryable, sellerId: string, currency: string): Promise<bigint> {
  const result = await db.query<{ total: bigint }>(
    `SELECT coalesce(sum(CASE
               WHEN e.kind = $3 AND a.code = $1 AND NOT p.is_credit THEN p.amount_minor
               WHEN e.kind = $4 AND a.code = $2 AND p.is_credit THEN -p.amount_minor
               WHEN e.kind = $5 AND e.metadata->>'reversedKind' = $3 AND a.code = $1 AND p.is_credit
                 THEN -p.amount_minor
               ELSE 0 END), 0)::bigint AS total
       FROM ledger.accounts a
       JOIN ledger.postings p ON p.account_id = a.id
       JOIN ledger.entries e ON e.id = p.entry_id
      WHERE a.code IN ($1, $2)`,
    [
      sellerInTransit(sellerId, currency).code,
      sellerAvailable(sellerId, currency).code,
      ENTRY_KINDS.payoutPaid,
      ENTRY_KINDS.payoutReturnedAfterPaid,
      ENTRY_KINDS.reversal,
    ],
  );
  return result.rows[0]?.total ?? 0n;
}
