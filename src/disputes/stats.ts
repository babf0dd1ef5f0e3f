import type { Queryable } from '../db/pool.ts';

/** One day's new disputes in one currency, for the dashboard's charts: money in minor units and a count. */
export interface DisputeDay {
  day: string;
  currency: string;
  disputedMinor: bigint;
  disputes: number;
}

/**
 * Disputes opened per day (UTC) and currency since `from` (early warnings included): the disputed amount and the
 * count. One grouped scan of the disputes created in the window (indexed by creation time).
 */
export async function disputeDays(db: Queryable, from: Date): Promise<DisputeDay[]> {
  const result = await db.query<{ day: string; currency: string; disputed_minor: string; disputes: number }>(
    `SELECT to_char(date_trunc('day', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, currency,
            coalesce(sum(amount_minor), 0)::bigint AS disputed_minor, count(*)::int AS disputes
       FROM disputes.disputes
      WHERE created_at >= $1
      GROUP BY 1, 2 ORDER BY 1, 2`,
    [from],
  );
  return result.rows.map((row) => ({
    day: row.day,
    currency: row.currency,
    disputedMinor: BigInt(row.disputed_minor),
    disputes: row.disputes,
  }));
}
