import { preparedQuery, type Queryable } from '../db/pool.ts';
import type { AccountSpec } from './types.ts';
import type { ValidEntry } from './validate.ts';

/**
 * The one statement that writes a batch of journal entries: entries, account balances and postings in a single
 * round trip, from arrays (unnest), whatever the batch size.
 *
 * - Entries are inserted in input order with ON CONFLICT (reference) DO NOTHING: a reference that exists, or that
 *   a concurrent transaction is inserting (PostgreSQL waits for it), is skipped together with its postings. The
 *   caller then looks the first entry up. This is what makes concurrent posters of one reference safe.
 * - Account totals are computed from the postings that actually go in, so a skipped entry cannot skew them.
 * - Accounts are upserted in code order (ON CONFLICT DO UPDATE locks each row), which is the ledger's one global
 *   lock order: two batches can wait for each other but never deadlock. A new account is created with its totals.
 * - Each posting gets the next numbers of its account's chain and the balance after it, from the account's totals
 *   after the update minus what this batch added: `row_number` and a running sum over the batch's postings to that
 *   account in entry order.
 * - Setting type/currency/owner to the spec's values makes the accounts_guard trigger refuse a spec that disagrees
 *   with the stored account; the accounts_guard triggers refuse a balance below an account's floor.
 */
export const WRITE_ENTRIES_SQL = `
WITH e AS (
  INSERT INTO ledger.entries (reference, kind, description, effective_at, metadata, reverses_entry_id)
  SELECT t.reference, t.kind, t.description, coalesce(t.effective_at, now()), t.metadata::jsonb, t.reverses
    FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::bigint[])
         WITH ORDINALITY AS t(reference, kind, description, effective_at, metadata, reverses, ord)
   ORDER BY t.ord
  ON CONFLICT (reference) DO NOTHING
  RETURNING id, reference
),
x AS (
  SELECT e.id AS entry_id, p.ord, p.line, p.code, p.is_credit, p.amount
    FROM unnest($12::int[], $13::int[], $14::text[], $15::boolean[], $16::bigint[]) AS p(ord, line, code, is_credit, amount)
    JOIN unnest($1::text[]) WITH ORDINALITY AS r(reference, ord) ON r.ord = p.ord
    JOIN e ON e.reference = r.reference
),
s AS (
  SELECT code,
         coalesce(sum(amount) FILTER (WHERE NOT is_credit), 0) AS dr,
         coalesce(sum(amount) FILTER (WHERE is_credit), 0) AS cr,
         count(*) AS n
    FROM x GROUP BY code
),
a AS (
  INSERT INTO ledger.accounts AS acc
         (code, type, currency, owner_id, floor_minor, debits_minor, credits_minor, version, updated_at)
  SELECT sp.code, sp.type, sp.currency, sp.owner_id, sp.floor_minor, s.dr, s.cr, s.n, clock_timestamp()
    FROM unnest($7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[])
         AS sp(code, type, currency, owner_id, floor_minor)
    JOIN s ON s.code = sp.code
   ORDER BY sp.code
  ON CONFLICT (code) DO UPDATE SET
    debits_minor = acc.debits_minor + excluded.debits_minor,
    credits_minor = acc.credits_minor + excluded.credits_minor,
    version = acc.version + excluded.version,
    updated_at = greatest(acc.updated_at, excluded.updated_at),
    type = excluded.type,
    currency = excluded.currency,
    owner_id = excluded.owner_id
  RETURNING acc.id, acc.code, acc.type, acc.currency, acc.debits_minor, acc.credits_minor, acc.version, acc.updated_at
),
p AS (
  INSERT INTO ledger.postings
         (account_id, seq, entry_id, line, is_credit, amount_minor, currency, balance_after, posted_at)
  SELECT a.id,
         a.version - s.n + row_number() OVER w,
         x.entry_id, x.line, x.is_credit, x.amount, a.currency,
         (CASE WHEN a.type IN ('asset', 'expense') THEN (a.debits_minor - s.dr) - (a.credits_minor - s.cr)
               ELSE (a.credits_minor - s.cr) - (a.debits_minor - s.dr) END)
           + sum(CASE WHEN (a.type IN ('asset', 'expense')) = (NOT x.is_credit) THEN x.amount ELSE -x.amount END)
             OVER w,
         a.updated_at
    FROM x JOIN a ON a.code = x.code JOIN s ON s.code = x.code
  WINDOW w AS (PARTITION BY x.code ORDER BY x.ord, x.line ROWS UNBOUNDED PRECEDING)
  RETURNING 1
)
SELECT e.id, e.reference, (SELECT count(*) FROM p) AS posting_count FROM e`;

export interface WrittenEntry {
  rowId: bigint;
  reference: string;
}

/**
 * Writes `entries` (validated, references distinct) in one statement. Returns the entries actually inserted and
 * how many postings went in; an entry whose reference existed already is absent from the result.
 */
export async function writeEntries(
  db: Queryable,
  entries: ValidEntry[],
): Promise<{ written: WrittenEntry[]; postingCount: bigint }> {
  const refs: string[] = [];
  const kinds: string[] = [];
  const descriptions: string[] = [];
  const effective: (string | null)[] = [];
  const metadata: (string | null)[] = [];
  const reverses: (string | null)[] = [];
  const specs = new Map<string, AccountSpec>();
  const pOrd: number[] = [];
  const pLine: number[] = [];
  const pCode: string[] = [];
  const pCredit: boolean[] = [];
  const pAmount: string[] = [];
  entries.forEach((entry, index) => {
    refs.push(entry.reference);
    kinds.push(entry.kind);
    descriptions.push(entry.description);
    effective.push(entry.effectiveAt === undefined ? null : entry.effectiveAt.toISOString());
    metadata.push(entry.metadataJson);
    reverses.push(entry.reversesRowId === undefined ? null : entry.reversesRowId.toString());
    for (const [code, spec] of entry.accounts) if (!specs.has(code)) specs.set(code, spec);
    entry.postings.forEach((posting, line) => {
      pOrd.push(index + 1);
      pLine.push(line);
      pCode.push(posting.account.code);
      pCredit.push(posting.direction === 'credit');
      pAmount.push(posting.amountMinor.toString());
    });
  });
  const accounts = [...specs.values()];
  const result = await preparedQuery<{ id: bigint; reference: string; posting_count: bigint }>(
    db,
    'ledger_write_entries',
    WRITE_ENTRIES_SQL,
    [
      refs,
      kinds,
      descriptions,
      effective,
      metadata,
      reverses,
      accounts.map((a) => a.code),
      accounts.map((a) => a.type),
      accounts.map((a) => a.currency),
      accounts.map((a) => a.ownerId ?? null),
      accounts.map((a) => (a.floorMinor === undefined ? null : a.floorMinor.toString())),
      pOrd,
      pLine,
      pCode,
      pCredit,
      pAmount,
    ],
  );
  return {
    written: result.rows.map((row) => ({ rowId: row.id, reference: row.reference })),
    postingCount: result.rows[0]?.posting_count ?? 0n,
  };
}
