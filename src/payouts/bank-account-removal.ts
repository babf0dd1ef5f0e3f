import type { Pool, Queryable } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { AppError } from '../errors.ts';
import { findSeller, lockSellers, removeBankAccount, type CurrencyBankAccount } from '../sellers/index.ts';

/**
 * Removing a seller's bank account of one payout currency (docs/payouts.md "Removing a currency's account"). The
 * sellers module removes and audits it (`removeBankAccount`: never the own currency's); this module refuses while
 * a payout in that currency is pending or in transit (409 `bank_account_payouts_in_flight`). The seller's row lock
 * — the one the payout run and manual payouts take before deciding — is held from that check to the removal, so
 * no payout to the account can be created in between. The balance in the currency stays; the run then leaves it
 * unpaid (`no_bank_details`, reported as skipped) until an account of that currency is given again.
 */

/** At most this many payout ids are named in the refusal. */
const NAMED = 5;

/** Refuses while payouts in `currency` are pending or in transit to the seller (they carry the account's details). */
export async function refuseWhilePayoutsInFlight(
  db: Queryable,
  sellerAccount: string,
  currency: string,
): Promise<void> {
  const inFlight = await db.query<{ id: string; total: bigint }>(
    `SELECT id, count(*) OVER () AS total FROM payouts.payouts
      WHERE seller_account = $1 AND currency = $2 AND status IN ('pending', 'in_transit')
      ORDER BY created_at, id LIMIT ${NAMED}`,
    [sellerAccount, currency],
  );
  const first = inFlight.rows[0];
  if (first === undefined) return;
  throw new AppError(
    'bank_account_payouts_in_flight',
    `seller ${sellerAccount} has ${first.total} ${currency} payout(s) pending or in transit (${inFlight.rows
      .map((row) => row.id)
      .join(', ')}); remove the account once they are paid or returned`,
    { field: 'currency' },
  );
}

/** Removes the seller's account of `currency` in one transaction, under the seller's lock. */
export async function removeSellerBankAccount(
  pool: Pool,
  request: { sellerAccount: string; currency: string; apiKeyId: string | null },
): Promise<CurrencyBankAccount> {
  return await withTransaction(pool, async (client) => {
    await lockSellers(client, [request.sellerAccount]);
    const seller = await findSeller(client, request.sellerAccount);
    if (!seller) throw new AppError('not_found', `no seller ${request.sellerAccount}`);
    return removeBankAccount(client, seller, request.currency, {
      apiKeyId: request.apiKeyId,
      refuseIf: (currency) => refuseWhilePayoutsInFlight(client, seller.sellerAccount, currency),
    });
  });
}
