import type { Queryable } from '../db/pool.ts';

/**
 * What the ledger booked for the PSP's conversion of charges, by balance transaction id: the settlement-currency
 * amount the `fx_settled:<balance transaction>` entry debited to PSP clearing (what the PSP was booked as paying),
 * with that currency. Reconciliation compares it with the report's settled gross (docs/currencies.md).
 */
export async function fxSettledByTransaction(
  db: Queryable,
  balanceTransactionIds: string[],
): Promise<Map<string, { settledMinor: bigint; currency: string }>> {
  const booked = new Map<string, { settledMinor: bigint; currency: string }>();
  if (balanceTransactionIds.length === 0) return booked;
  const found = await db.query<{ reference: string; currency: string; amount: bigint }>(
    `SELECT e.reference, p.currency, sum(p.amount_minor)::int8 AS amount
       FROM ledger.entries e
       JOIN ledger.postings p ON p.entry_id = e.id AND NOT p.is_credit
       JOIN ledger.accounts a ON a.id = p.account_id AND a.code LIKE 'platform:psp\\_clearing:%'
      WHERE e.reference = ANY($1::text[])
      GROUP BY e.reference, p.currency`,
    [balanceTransactionIds.map((id) => `fx_settled:${id}`)],
  );
  for (const row of found.rows) {
    booked.set(row.reference.slice('fx_settled:'.length), {
      settledMinor: BigInt(row.amount),
      currency: row.currency,
    });
  }
  return booked;
}
