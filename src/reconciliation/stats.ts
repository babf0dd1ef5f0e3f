import type { Queryable } from '../db/pool.ts';

/** Open reconciliation exceptions by class (finance, investigation): the queues waiting for people. */
export async function openExceptionCounts(db: Queryable): Promise<Record<string, number>> {
  const result = await db.query<{ class: string; n: number }>(
    `SELECT class, count(*)::int AS n FROM recon.exceptions WHERE status = 'open' GROUP BY class`,
  );
  return Object.fromEntries(result.rows.map((row) => [row.class, row.n]));
}
