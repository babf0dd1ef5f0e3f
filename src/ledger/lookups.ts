import type { Queryable } from '../db/pool.ts';

/**
 * Look-ups by entry reference for other modules' checks (reconciliation compares its files and the other modules'
 * records with what the ledger booked), so that nobody outside the ledger reads its tables.
 */

/** Debit totals of ledger entries by reference: what a fee, refund or chargeback entry booked. */
export async function debitTotalsByReference(
  db: Queryable,
  references: string[],
): Promise<Map<string, bigint>> {
  const booked = new Map<string, bigint>();
  if (references.length === 0) return booked;
  const found = await db.query<{ reference: string; amount: bigint }>(
    // An index lookup per reference (entries by reference, then postings by entry): OFFSET 0 keeps the subquery
    // from being flattened into a join the planner would hash over every entry and posting (a scan per call).
    `SELECT e.reference, d.amount
       FROM unnest($1::text[]) AS r(reference)
       CROSS JOIN LATERAL (
         SELECT e.id, e.reference FROM ledger.entries e WHERE e.reference = r.reference OFFSET 0
       ) e
       CROSS JOIN LATERAL (
         SELECT sum(p.amount_minor) FILTER (WHERE NOT p.is_credit)::int8 AS amount
           FROM ledger.postings p WHERE p.entry_id = e.id
       ) d`,
    [references],
  );
  for (const row of found.rows) booked.set(row.reference, row.amount);
  return booked;
}

/** The entries booked under `references`, by reference (the entry's row id). */
export async function entriesByReference(db: Queryable, references: string[]): Promise<Map<string, bigint>> {
  const found = new Map<string, bigint>();
  if (references.length === 0) return found;
  const rows = await db.query<{ reference: string; id: bigint }>(
    'SELECT reference, id FROM ledger.entries WHERE reference = ANY($1::text[])',
    [references],
  );
  for (const row of rows.rows) found.set(row.reference, row.id);
  return found;
}
