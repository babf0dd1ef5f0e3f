import type { Queryable } from '../db/pool.ts';
import { filters, keysetRows, type KeysetTable } from '../http/list-query.ts';
import type { PageRequest } from '../http/pagination.ts';
import { SELLER_COLUMNS, toSeller, type Seller, type SellerRow, type SellerStatus } from './store.ts';

/** The seller list query (`GET /v1/sellers`); indexes in migrations/0170_read_api.sql. */

const SELLERS: KeysetTable = {
  name: 'sellers.sellers',
  alias: 's',
  id: 'seller_account',
  created: 'created_at',
};

export interface SellerFilter {
  status?: SellerStatus | undefined;
  /** Flagged: a payout came back and the seller must give new bank details for some currency (`needs_bank_details`). */
  flagged?: boolean | undefined;
}

export interface ListedSeller {
  seller: Seller;
  flagged: boolean;
}

/** Any of the seller's accounts waits for new details: the own currency's (payout settings) or another's. */
const FLAGGED = `(EXISTS (SELECT 1 FROM sellers.payout_settings ps
                           WHERE ps.seller_account = s.seller_account AND ps.needs_bank_details)
                  OR EXISTS (SELECT 1 FROM sellers.payout_bank_accounts a
                              WHERE a.seller_account = s.seller_account AND a.needs_bank_details))`;

/** A page of sellers, newest first, under the filter. */
export async function listSellers(
  db: Queryable,
  filter: SellerFilter,
  request: PageRequest,
): Promise<{ rows: ListedSeller[]; backwards: boolean }> {
  const where = filters(
    [filter.status, (p) => `s.status = ${p}`],
    [
      filter.flagged,
      (p) =>
        filter.flagged === true
          ? `(s.seller_account IN (SELECT ps.seller_account FROM sellers.payout_settings ps
                                    WHERE ps.needs_bank_details
                                   UNION ALL
                                   SELECT a.seller_account FROM sellers.payout_bank_accounts a
                                    WHERE a.needs_bank_details) AND ${p}::boolean)`
          : `(NOT ${FLAGGED} AND NOT ${p}::boolean)`,
    ],
  );
  const columns = `${SELLER_COLUMNS.split(',')
    .map((column) => `s.${column.trim()}`)
    .join(', ')}, ${FLAGGED} AS flagged`;
  const page = await keysetRows<SellerRow & { flagged: boolean }>(db, {
    table: SELLERS,
    columns,
    where,
    request,
  });
  return {
    rows: page.rows.map((row) => ({ seller: toSeller(row), flagged: row.flagged })),
    backwards: page.backwards,
  };
}
