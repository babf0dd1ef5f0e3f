import type { Queryable } from '../db/pool.ts';
import { filters, keysetRows, type KeysetTable } from '../http/list-query.ts';
import type { PageRequest } from '../http/pagination.ts';
import { PAYOUT_COLUMNS, toPayout, type PayoutRow } from './store.ts';
import type { Payout, PayoutStatus } from './types.ts';

/** The payout list query (`GET /v1/payouts`); indexes in migrations/0050 and 0170. */

const PAYOUTS: KeysetTable = { name: 'payouts.payouts', alias: 'p', id: 'id', created: 'created_at' };

export interface PayoutFilter {
  sellerAccount?: string | undefined;
  status?: PayoutStatus | undefined;
  /** A scheduled run's date (YYYY-MM-DD). */
  runDate?: string | undefined;
}

export async function listPayouts(
  db: Queryable,
  filter: PayoutFilter,
  request: PageRequest,
): Promise<{ rows: Payout[]; backwards: boolean }> {
  const where = filters(
    [filter.sellerAccount, (p) => `p.seller_account = ${p}`],
    [filter.status, (p) => `p.status = ${p}`],
    [filter.runDate, (p) => `p.run_date = ${p}::date`],
  );
  const columns = PAYOUT_COLUMNS.replace(/(^|,\s*)(\w+)/g, '$1p.$2');
  const page = await keysetRows<PayoutRow>(db, { table: PAYOUTS, columns, where, request });
  return { rows: page.rows.map(toPayout), backwards: page.backwards };
}
