import type { Queryable } from '../db/pool.ts';

/** One day's refunds in one currency, for the dashboard's charts: money in minor units and a count. */
export interface RefundDay {
  day: string;
  currency: string;
  refundedMinor: bigint;
  refunds: number;
}

/**
 * Refunds asked for per day (UTC) and currency since `from`, failed and canceled ones left out: the amount and the
 * count. One grouped scan of the refunds created in the window (indexed by creation time).
 */
export async function refundDays(db: Queryable, from: Date): Promise<RefundDay[]> {
  const result = await db.query<{ day: string; currency: string; refunded_minor: string; refunds: number }>(
    `SELECT to_char(date_trunc('day', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, currency,
            coalesce(sum(amount_minor), 0)::bigint AS refunded_minor, count(*)::int AS refunds
       FROM refunds.refunds
      WHERE created_at >= $1 AND status IN ('pending', 'succeeded')
      GROUP BY 1, 2 ORDER BY 1, 2`,
    [from],
  );
  return result.rows.map((row) => ({
    day: row.day,
    currency: row.currency,
    refundedMinor: BigInt(row.refunded_minor),
    refunds: row.refunds,
  }));
}
