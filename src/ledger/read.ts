import type { Queryable } from '../db/pool.ts';
import { entryIdOf, entryRowIdOf } from './ids.ts';
import type { AccountBalance, AccountType, JournalEntry } from './types.ts';

/** Reading the ledger: balances from the account rows, history from the postings. No locks are taken. */

interface AccountRow {
  code: string;
  type: AccountType;
  currency: string;
  owner_id: string | null;
  debits_minor: bigint;
  credits_minor: bigint;
  version: bigint;
}

const ACCOUNT_COLUMNS = 'code, type, currency, owner_id, debits_minor, credits_minor, version';

export function normalBalance(type: AccountType, debitsMinor: bigint, creditsMinor: bigint): bigint {
  return type === 'asset' || type === 'expense' ? debitsMinor - creditsMinor : creditsMinor - debitsMinor;
}

function toBalance(row: AccountRow): AccountBalance {
  return {
    code: row.code,
    type: row.type,
    currency: row.currency,
    ownerId: row.owner_id,
    debitsMinor: row.debits_minor,
    creditsMinor: row.credits_minor,
    balanceMinor: normalBalance(row.type, row.debits_minor, row.credits_minor),
    version: row.version,
  };
}

/** Balances of the named accounts; an account that does not exist yet is absent from the map. */
export async function getBalances(db: Queryable, codes: string[]): Promise<Map<string, AccountBalance>> {
  const result = await db.query<AccountRow>(
    `SELECT ${ACCOUNT_COLUMNS} FROM ledger.accounts WHERE code = ANY($1::text[])`,
    [codes],
  );
  return new Map(result.rows.map((row) => [row.code, toBalance(row)]));
}

/** Every account an owner (a seller) has, by code. */
export async function listAccountsByOwner(db: Queryable, ownerId: string): Promise<AccountBalance[]> {
  const result = await db.query<AccountRow>(
    `SELECT ${ACCOUNT_COLUMNS} FROM ledger.accounts WHERE owner_id = $1 ORDER BY code`,
    [ownerId],
  );
  return result.rows.map(toBalance);
}

/** One journal entry with its postings, or undefined. */
export async function getEntry(db: Queryable, entryId: string): Promise<JournalEntry | undefined> {
  const rowId = entryRowIdOf(entryId);
  if (rowId === undefined) return undefined;
  const result = await db.query<{
    id: bigint;
    reference: string;
    kind: string;
    description: string;
    effective_at: Date;
    created_at: Date;
    metadata: Record<string, unknown> | null;
    reverses_entry_id: bigint | null;
    line: number;
    code: string;
    type: AccountType;
    currency: string;
    is_credit: boolean;
    amount_minor: bigint;
    seq: bigint;
    balance_after: bigint;
    posted_at: Date;
  }>(
    `SELECT e.id, e.reference, e.kind, e.description, e.effective_at, e.created_at, e.metadata,
            e.reverses_entry_id, p.line, a.code, a.type, p.currency, p.is_credit, p.amount_minor, p.seq,
            p.balance_after, p.posted_at
       FROM ledger.entries e
       JOIN ledger.postings p ON p.entry_id = e.id
       JOIN ledger.accounts a ON a.id = p.account_id
      WHERE e.id = $1
      ORDER BY p.line`,
    [rowId],
  );
  const first = result.rows[0];
  if (first === undefined) return undefined;
  return {
    entryId: entryIdOf(first.id),
    reference: first.reference,
    kind: first.kind,
    description: first.description,
    effectiveAt: first.effective_at,
    createdAt: first.created_at,
    metadata: first.metadata,
    reversesEntryId: first.reverses_entry_id === null ? null : entryIdOf(first.reverses_entry_id),
    postings: result.rows.map((row) => ({
      line: row.line,
      accountCode: row.code,
      accountType: row.type,
      currency: row.currency,
      direction: row.is_credit ? 'credit' : 'debit',
      amountMinor: row.amount_minor,
      seq: row.seq,
      balanceAfterMinor: row.balance_after,
      postedAt: row.posted_at,
    })),
  };
}

/** The entry id for a reference, if one was posted. */
export async function findEntryByReference(db: Queryable, reference: string): Promise<string | undefined> {
  const result = await db.query<{ id: bigint }>('SELECT id FROM ledger.entries WHERE reference = $1', [
    reference,
  ]);
  const row = result.rows[0];
  return row === undefined ? undefined : entryIdOf(row.id);
}

/**
 * An account's normal-side balance as it stood at `at`: the balance after its last posting written at or before
 * that moment (postings' posted_at never go backwards along an account's chain). Zero before the first posting,
 * and for an account that does not exist. This is recording time, not the entries' effective time: a
 * back-dated entry changes balances from when it was written.
 */
export async function balanceAt(db: Queryable, accountCode: string, at: Date): Promise<bigint> {
  const result = await db.query<{ balance_after: bigint }>(
    `SELECT p.balance_after
       FROM ledger.accounts a
       JOIN LATERAL (
         SELECT balance_after FROM ledger.postings
          WHERE account_id = a.id AND posted_at <= $2
          ORDER BY posted_at DESC, seq DESC LIMIT 1
       ) p ON true
      WHERE a.code = $1`,
    [accountCode, at],
  );
  return result.rows[0]?.balance_after ?? 0n;
}
