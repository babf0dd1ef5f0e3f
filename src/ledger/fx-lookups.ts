import type { Queryable } from '../db/pool.ts';

/**
 * What entries moved on PSP clearing, by reference and currency, signed: debits less credits (> 0: money came in at
 * the PSP, < 0: money went out). Reconciliation compares a converted line's two sides with it: the presentment side
 * with the refund or dispute entry, the settlement side with the PSP's conversion (docs/currencies.md).
 */
export async function pspClearingByReference(
  db: Queryable,
  references: string[],
): Promise<Map<string, Map<string, bigint>>> {
  const moved = new Map<string, Map<string, bigint>>();
  if (references.length === 0) return moved;
  const found = await db.query<{ reference: string; currency: string; amount: bigint }>(
    // An index lookup per reference (OFFSET 0 keeps it from being flattened into a hash join over every entry).
    `SELECT e.reference, m.currency, m.amount
       FROM unnest($1::text[]) AS r(reference)
       CROSS JOIN LATERAL (
         SELECT e.id, e.reference FROM ledger.entries e WHERE e.reference = r.reference OFFSET 0
       ) e
       CROSS JOIN LATERAL (
         SELECT p.currency,
                sum(CASE WHEN p.is_credit THEN -p.amount_minor ELSE p.amount_minor END)::int8 AS amount
           FROM ledger.postings p
           JOIN ledger.accounts a ON a.id = p.account_id AND a.code LIKE 'platform:psp\\_clearing:%'
          WHERE p.entry_id = e.id
          GROUP BY p.currency
       ) m`,
    [references],
  );
  for (const row of found.rows) {
    const byCurrency = moved.get(row.reference) ?? new Map<string, bigint>();
    byCurrency.set(row.currency, BigInt(row.amount));
    moved.set(row.reference, byCurrency);
  }
  return moved;
}

/**
 * What the ledger booked for the PSP's conversions, by balance transaction id: what the entry
 * `fx_settled:<balance transaction>` moved on PSP clearing in each currency, signed (a charge's settled amount is
 * a debit, > 0; a refund's or withdrawal's a credit, < 0). Reconciliation compares the settlement currency's with
 * the report's gross (docs/currencies.md "Reconciliation").
 */
export async function fxSettledByTransaction(
  db: Queryable,
  balanceTransactionIds: string[],
): Promise<Map<string, Map<string, bigint>>> {
  const moved = await pspClearingByReference(
    db,
    balanceTransactionIds.map((id) => `fx_settled:${id}`),
  );
  return new Map(
    [...moved].map(([reference, byCurrency]) => [reference.slice('fx_settled:'.length), byCurrency]),
  );
}
