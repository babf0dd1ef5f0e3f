import type { Queryable } from '../db/pool.ts';
import { entryIdOf } from './ids.ts';
import { normalBalance } from './read.ts';
import type { AccountType } from './types.ts';

/**
 * Reading the ledger's history for statements and reports (docs/reports.md): balances at a moment for many
 * accounts at once, and the entries that touched a set of accounts in a window of recording time, each with all
 * its postings. Windows are (after, upTo]: the opening balance is `balancesAt(after)` and the closing one
 * `balancesAt(upTo)`, exactly what `balanceAt` answers, so opening + movements = closing by construction of the
 * account chains. No locks are taken.
 */

export interface HistoryPosting {
  accountCode: string;
  accountType: AccountType;
  currency: string;
  direction: 'debit' | 'credit';
  amountMinor: bigint;
  /** The change of the account's normal-side balance this posting made. */
  deltaMinor: bigint;
  postedAt: Date;
}

export interface HistoryEntry {
  entryId: string;
  reference: string;
  kind: string;
  description: string;
  effectiveAt: Date;
  /** When the entry's postings were recorded (the window is on this time). */
  postedAt: Date;
  metadata: Record<string, unknown>;
  reversesEntryId: string | null;
  postings: HistoryPosting[];
}

/** Normal-side balances of `codes` as they stood at `at` (0 for an account with no posting by then). */
export async function balancesAt(db: Queryable, codes: string[], at: Date): Promise<Map<string, bigint>> {
  const result = await db.query<{ code: string; balance_after: bigint | null }>(
    `SELECT a.code, p.balance_after
       FROM ledger.accounts a
       LEFT JOIN LATERAL (
         SELECT balance_after FROM ledger.postings
          WHERE account_id = a.id AND posted_at <= $2
          ORDER BY posted_at DESC, seq DESC LIMIT 1
       ) p ON true
      WHERE a.code = ANY($1::text[])`,
    [codes, at],
  );
  const balances = new Map<string, bigint>(codes.map((code) => [code, 0n]));
  for (const row of result.rows) balances.set(row.code, row.balance_after ?? 0n);
  return balances;
}

interface Row {
  entry_id: bigint;
  reference: string;
  kind: string;
  description: string;
  effective_at: Date;
  metadata: Record<string, unknown> | null;
  reverses_entry_id: bigint | null;
  code: string;
  type: AccountType;
  currency: string;
  is_credit: boolean;
  amount_minor: bigint;
  posted_at: Date;
}

/**
 * Every entry with a posting on one of `codes` recorded in (after, upTo], oldest first, each with all its postings
 * (those on other accounts too: a sale's platform fee is on fee revenue). Uses `postings_account_time`.
 */
export async function entriesTouching(
  db: Queryable,
  codes: string[],
  after: Date,
  upTo: Date,
): Promise<HistoryEntry[]> {
  return entriesOf(
    db,
    `SELECT DISTINCT p.entry_id FROM ledger.accounts a
       JOIN ledger.postings p ON p.account_id = a.id AND p.posted_at > $2 AND p.posted_at <= $3
      WHERE a.code = ANY($1::text[])`,
    [codes, after, upTo],
  );
}

/**
 * The entries on account `code` since the previous entry of `kind` on it (exclusive) up to the entry `reference`
 * (inclusive), oldest first, with the account's balance just after that previous entry: what a payout took from
 * the seller's available balance and where that money came from. Undefined when `reference` is not on the account.
 */
export async function entriesSincePrevious(
  db: Queryable,
  code: string,
  kind: string,
  reference: string,
): Promise<{ carriedInMinor: bigint; entries: HistoryEntry[] } | undefined> {
  const bounds = await db.query<{ account_id: bigint; upto: bigint; after: bigint; carried: bigint | null }>(
    `WITH this AS (
       SELECT p.account_id, p.seq FROM ledger.accounts a
         JOIN ledger.postings p ON p.account_id = a.id
         JOIN ledger.entries e ON e.id = p.entry_id
        WHERE a.code = $1 AND e.reference = $3),
     prev AS (
       SELECT coalesce(max(p.seq), 0) AS seq FROM this
         JOIN ledger.postings p ON p.account_id = this.account_id AND p.seq < this.seq
         JOIN ledger.entries e ON e.id = p.entry_id AND e.kind = $2)
     SELECT this.account_id, this.seq AS upto, prev.seq AS after,
            (SELECT balance_after FROM ledger.postings WHERE account_id = this.account_id AND seq = prev.seq) AS carried
       FROM this, prev`,
    [code, kind, reference],
  );
  const row = bounds.rows[0];
  if (row === undefined) return undefined;
  const entries = await entriesOf(
    db,
    'SELECT DISTINCT entry_id FROM ledger.postings WHERE account_id = $1 AND seq > $2 AND seq <= $3',
    [row.account_id, row.after, row.upto],
  );
  return { carriedInMinor: row.carried ?? 0n, entries };
}

/** The entries whose ids `idsSql` selects (one column, `entry_id`), each with all its postings, oldest first. */
async function entriesOf(db: Queryable, idsSql: string, params: unknown[]): Promise<HistoryEntry[]> {
  const result = await db.query<Row>(
    `WITH touched AS (${idsSql})
     SELECT e.id AS entry_id, e.reference, e.kind, e.description, e.effective_at, e.metadata, e.reverses_entry_id,
            a.code, a.type, p.currency, p.is_credit, p.amount_minor, p.posted_at
       FROM touched t
       JOIN ledger.entries e ON e.id = t.entry_id
       JOIN ledger.postings p ON p.entry_id = e.id
       JOIN ledger.accounts a ON a.id = p.account_id
      ORDER BY e.id, p.line`,
    params,
  );
  const entries: HistoryEntry[] = [];
  let current: HistoryEntry | undefined;
  for (const row of result.rows) {
    const entryId = entryIdOf(row.entry_id);
    if (current?.entryId !== entryId) {
      current = entryOf(row, entryId);
      entries.push(current);
    }
    current.postings.push(postingOf(row));
  }
  return entries.sort(
    (a, b) => a.postedAt.getTime() - b.postedAt.getTime() || compareIds(a.entryId, b.entryId),
  );
}

function entryOf(row: Row, entryId: string): HistoryEntry {
  return {
    entryId,
    reference: row.reference,
    kind: row.kind,
    description: row.description,
    effectiveAt: row.effective_at,
    postedAt: row.posted_at,
    metadata: row.metadata ?? {},
    reversesEntryId: row.reverses_entry_id === null ? null : entryIdOf(row.reverses_entry_id),
    postings: [],
  };
}

function postingOf(row: Row): HistoryPosting {
  const debits = row.is_credit ? 0n : row.amount_minor;
  const credits = row.is_credit ? row.amount_minor : 0n;
  return {
    accountCode: row.code,
    accountType: row.type,
    currency: row.currency,
    direction: row.is_credit ? 'credit' : 'debit',
    amountMinor: row.amount_minor,
    deltaMinor: normalBalance(row.type, debits, credits),
    postedAt: row.posted_at,
  };
}

function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** The platform's accounts (`platform:…`) in `currency`, or in every currency, by code. */
export async function platformAccountCodes(
  db: Queryable,
  currency?: string,
): Promise<Array<{ code: string; type: AccountType; currency: string }>> {
  const result = await db.query<{ code: string; type: AccountType; currency: string }>(
    `SELECT code, type, currency FROM ledger.accounts
      WHERE code LIKE 'platform:%' AND ($1::text IS NULL OR currency = $1) ORDER BY currency, code`,
    [currency ?? null],
  );
  return result.rows;
}
