import type { Queryable } from '../db/pool.ts';

/** One day's pay-ins in one currency, for the dashboard's charts: money in minor units, counts of final orders. */
export interface PayinDay {
  day: string;
  currency: string;
  succeededMinor: bigint;
  succeeded: number;
  failed: number;
}

/**
 * Pay-in volume and outcomes per day (UTC) and currency since `from`: succeeded amount, succeeded and failed
 * orders. One grouped scan of the orders created in the window (indexed by creation time).
 */
export async function payinDays(db: Queryable, from: Date): Promise<PayinDay[]> {
  const result = await db.query<{
    day: string;
    currency: string;
    succeeded_minor: bigint;
    succeeded: number;
    failed: number;
  }>(
    `SELECT to_char(date_trunc('day', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, currency,
            coalesce(sum(amount_minor) FILTER (WHERE payment_order_status = 'SUCCESS'), 0)::bigint AS succeeded_minor,
            count(*) FILTER (WHERE payment_order_status = 'SUCCESS')::int AS succeeded,
            count(*) FILTER (WHERE payment_order_status = 'FAILED')::int AS failed
       FROM payins.payment_order
      WHERE created_at >= $1
      GROUP BY 1, 2 ORDER BY 1, 2`,
    [from],
  );
  return result.rows.map((row) => ({
    day: row.day,
    currency: row.currency,
    succeededMinor: BigInt(row.succeeded_minor),
    succeeded: row.succeeded,
    failed: row.failed,
  }));
}
