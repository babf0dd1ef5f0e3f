import type { Pool, PoolClient, Queryable } from '../db/pool.ts';
import { entryIdOf } from './ids.ts';

/**
 * Checks the whole ledger against its invariants, set-based (a few scans of the postings whatever their number):
 *   entry_postings  every entry has at least two postings;
 *   entry_balance   every entry balances per currency;
 *   cached_balance  every account's cached totals and version equal the sums and count of its postings, and its
 *                   balance equals its last posting's balance-after;
 *   posting_chain   every account's postings are numbered 1..n without gaps and each one's balance-after is the
 *                   previous one's plus its own amount;
 *   zero_sum        per currency, all debits equal all credits.
 * Used by `bursar ledger verify` and by reconciliation's self-check.
 */

export type VerifyCheck =
  'entry_postings' | 'entry_balance' | 'cached_balance' | 'posting_chain' | 'zero_sum';

export interface VerifyFailure {
  check: VerifyCheck;
  /** The entry id, account code or currency at fault. */
  subject: string;
  detail: string;
}

export interface VerifyReport {
  ok: boolean;
  entries: bigint;
  postings: bigint;
  accounts: bigint;
  currencies: { currency: string; debitsMinor: bigint; creditsMinor: bigint }[];
  /** Failures found, per check (all of them, even those not listed). */
  failureCounts: Record<VerifyCheck, number>;
  /** Up to `maxListed` failures per check. */
  failures: VerifyFailure[];
  durationMs: number;
}

const ENTRIES_SQL = `
SELECT e.id, e.reference, coalesce(t.n, 0) AS n, t.unbalanced
  FROM ledger.entries e
  LEFT JOIN (
    SELECT entry_id, sum(n) AS n, string_agg(currency || ' ' || net, ', ') FILTER (WHERE net <> 0) AS unbalanced
      FROM (SELECT entry_id, currency, count(*) AS n,
                   sum(CASE WHEN is_credit THEN -amount_minor ELSE amount_minor END) AS net
              FROM ledger.postings GROUP BY entry_id, currency) per_currency
     GROUP BY entry_id
  ) t ON t.entry_id = e.id
 WHERE coalesce(t.n, 0) < 2 OR t.unbalanced IS NOT NULL
 ORDER BY e.id`;

/** One ordered pass over each account's chain, folded into per-account figures, compared with the account row. */
const ACCOUNTS_SQL = `
WITH chain AS (
  SELECT p.account_id, p.seq, p.is_credit, p.amount_minor, p.balance_after,
         p.balance_after - CASE WHEN (a.type IN ('asset', 'expense')) = (NOT p.is_credit)
                                THEN p.amount_minor ELSE -p.amount_minor END AS balance_before,
         lag(p.seq) OVER w AS prev_seq,
         lag(p.balance_after) OVER w AS prev_balance,
         lead(p.seq) OVER w IS NULL AS is_last
    FROM ledger.postings p JOIN ledger.accounts a ON a.id = p.account_id
  WINDOW w AS (PARTITION BY p.account_id ORDER BY p.seq)
),
per_account AS (
  SELECT account_id,
         coalesce(sum(amount_minor) FILTER (WHERE NOT is_credit), 0) AS dr,
         coalesce(sum(amount_minor) FILTER (WHERE is_credit), 0) AS cr,
         count(*) AS n,
         count(*) FILTER (WHERE seq <> coalesce(prev_seq, 0) + 1 OR balance_before <> coalesce(prev_balance, 0))
           AS breaks,
         min(seq) FILTER (WHERE seq <> coalesce(prev_seq, 0) + 1 OR balance_before <> coalesce(prev_balance, 0))
           AS first_break,
         max(balance_after) FILTER (WHERE is_last) AS last_balance
    FROM chain GROUP BY account_id
)
SELECT a.code, a.debits_minor, a.credits_minor, a.version,
       CASE WHEN a.type IN ('asset', 'expense') THEN a.debits_minor - a.credits_minor
            ELSE a.credits_minor - a.debits_minor END AS balance,
       coalesce(s.dr, 0) AS dr, coalesce(s.cr, 0) AS cr, coalesce(s.n, 0) AS n,
       coalesce(s.breaks, 0) AS breaks, s.first_break, s.last_balance
  FROM ledger.accounts a LEFT JOIN per_account s ON s.account_id = a.id
 WHERE a.debits_minor <> coalesce(s.dr, 0) OR a.credits_minor <> coalesce(s.cr, 0) OR a.version <> coalesce(s.n, 0)
    OR coalesce(s.breaks, 0) > 0
    OR (s.n > 0 AND s.last_balance <> CASE WHEN a.type IN ('asset', 'expense') THEN a.debits_minor - a.credits_minor
                                           ELSE a.credits_minor - a.debits_minor END)
 ORDER BY a.code`;

const CURRENCIES_SQL = `
SELECT currency,
       coalesce(sum(amount_minor) FILTER (WHERE NOT is_credit), 0) AS dr,
       coalesce(sum(amount_minor) FILTER (WHERE is_credit), 0) AS cr,
       count(*) AS n
  FROM ledger.postings GROUP BY currency ORDER BY currency`;

function isPool(db: Queryable | Pool): db is Pool {
  return typeof (db as Pool).connect === 'function' && typeof (db as Pool).totalCount === 'number';
}

interface EntryRow {
  id: bigint;
  reference: string;
  n: bigint;
  unbalanced: string | null;
}

interface AccountRow {
  code: string;
  debits_minor: bigint;
  credits_minor: bigint;
  version: bigint;
  balance: bigint;
  dr: bigint;
  cr: bigint;
  n: bigint;
  breaks: bigint;
  first_break: bigint | null;
  last_balance: bigint | null;
}

interface CurrencyRow {
  currency: string;
  dr: bigint;
  cr: bigint;
  n: bigint;
}

/** What is wrong with an entry the entries query returned: too few postings, and/or unbalanced. */
export function entryFailures(row: EntryRow): VerifyFailure[] {
  const failures: VerifyFailure[] = [];
  const subject = `${entryIdOf(row.id)} (${row.reference})`;
  if (row.n < 2n) {
    failures.push({ check: 'entry_postings', subject, detail: `${row.n} posting(s); at least two required` });
  }
  if (row.unbalanced !== null) {
    failures.push({
      check: 'entry_balance',
      subject,
      detail: `debits − credits per currency: ${row.unbalanced}`,
    });
  }
  return failures;
}

/** What is wrong with an account the accounts query returned: its cached figures, and/or its posting chain. */
export function accountFailures(row: AccountRow): VerifyFailure[] {
  const failures: VerifyFailure[] = [];
  if (row.debits_minor !== row.dr || row.credits_minor !== row.cr || row.version !== row.n) {
    failures.push({
      check: 'cached_balance',
      subject: row.code,
      detail:
        `cached debits ${row.debits_minor}, credits ${row.credits_minor}, version ${row.version}; ` +
        `postings sum to debits ${row.dr}, credits ${row.cr}, count ${row.n}`,
    });
  } else if (row.last_balance !== null && row.last_balance !== row.balance) {
    failures.push({
      check: 'cached_balance',
      subject: row.code,
      detail: `cached balance ${row.balance}; last posting's balance-after ${row.last_balance}`,
    });
  }
  if (row.breaks > 0n) {
    failures.push({
      check: 'posting_chain',
      subject: row.code,
      detail: `${row.breaks} break(s) in the posting chain, the first at seq ${row.first_break}`,
    });
  }
  return failures;
}

/** A currency whose debits and credits differ across the whole ledger. */
export function currencyFailures(row: CurrencyRow): VerifyFailure[] {
  if (row.dr === row.cr) return [];
  return [
    {
      check: 'zero_sum',
      subject: row.currency,
      detail: `debits ${row.dr} ≠ credits ${row.cr} (difference ${row.dr - row.cr})`,
    },
  ];
}

/** Counts every failure per check and keeps the first `maxListed` of each. */
class FailureList {
  readonly failures: VerifyFailure[] = [];
  readonly counts: Record<VerifyCheck, number> = {
    entry_postings: 0,
    entry_balance: 0,
    cached_balance: 0,
    posting_chain: 0,
    zero_sum: 0,
  };

  constructor(private readonly maxListed: number) {}

  add(failures: VerifyFailure[]): void {
    for (const failure of failures) {
      this.counts[failure.check] += 1;
      if (this.counts[failure.check] <= this.maxListed) this.failures.push(failure);
    }
  }
}

/** Runs the checks on one connection (a snapshot when verifyLedger opened it). */
async function runChecks(q: Queryable, list: FailureList): Promise<Omit<VerifyReport, 'durationMs'>> {
  const counts = await q.query<{ entries: bigint; accounts: bigint }>(
    'SELECT (SELECT count(*) FROM ledger.entries) AS entries, (SELECT count(*) FROM ledger.accounts) AS accounts',
  );
  const entries = await q.query<EntryRow>(ENTRIES_SQL);
  for (const row of entries.rows) list.add(entryFailures(row));
  const accounts = await q.query<AccountRow>(ACCOUNTS_SQL);
  for (const row of accounts.rows) list.add(accountFailures(row));
  const currencies = await q.query<CurrencyRow>(CURRENCIES_SQL);
  let postings = 0n;
  for (const row of currencies.rows) {
    postings += row.n;
    list.add(currencyFailures(row));
  }
  return {
    ok: Object.values(list.counts).every((count) => count === 0),
    entries: counts.rows[0]?.entries ?? 0n,
    postings,
    accounts: counts.rows[0]?.accounts ?? 0n,
    currencies: currencies.rows.map((row) => ({
      currency: row.currency,
      debitsMinor: row.dr,
      creditsMinor: row.cr,
    })),
    failureCounts: list.counts,
    failures: list.failures,
  };
}

export async function verifyLedger(
  db: Queryable | Pool,
  options: { maxListed?: number } = {},
): Promise<VerifyReport> {
  const started = performance.now();
  const list = new FailureList(options.maxListed ?? 50);
  // From a pool: one read-only snapshot for all the checks, with room to hash millions of rows in memory.
  let client: PoolClient | undefined;
  let q: Queryable = db;
  if (isPool(db)) {
    client = await db.connect();
    q = client;
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query("SET LOCAL work_mem = '256MB'");
  }
  try {
    const report = await runChecks(q, list);
    return { ...report, durationMs: Math.round(performance.now() - started) };
  } finally {
    if (client !== undefined) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
  }
}
