import type { Queryable } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import { translateLedgerError } from './db-errors.ts';
import { entryIdOf, entryRowIdOf } from './ids.ts';
import type { AccountSpec, AccountType, EntryInput, PostedEntry, PostingInput } from './types.ts';
import { contentKeyOf, validateEntry, type ValidEntry } from './validate.ts';
import { writeEntries } from './write-sql.ts';

/**
 * Posting journal entries inside the caller's open transaction. One statement writes the whole batch (see
 * write-sql.ts); a reference that exists already is looked up and compared, never written twice. After an
 * error the caller's transaction is unusable and must be rolled back, as with any failed statement.
 *
 * Locks: the accounts of the batch are locked in code order and kept until the caller commits, so the caller
 * should commit promptly and never make a network call in between. Posting twice in one transaction (two calls)
 * takes two rounds of locks, which can deadlock with another transaction doing the same in the other order:
 * pass everything to one `postEntries` call instead.
 */

interface StoredContents {
  rowId: bigint;
  contentKey: string;
}

/** The contents of existing entries, by reference, to compare a replay with. */
export async function loadContents(
  db: Queryable,
  references: string[],
): Promise<Map<string, StoredContents>> {
  const result = await db.query<{
    id: bigint;
    reference: string;
    kind: string;
    code: string;
    is_credit: boolean;
    amount_minor: bigint;
  }>(
    `SELECT e.id, e.reference, e.kind, a.code, p.is_credit, p.amount_minor
       FROM ledger.entries e
       JOIN ledger.postings p ON p.entry_id = e.id
       JOIN ledger.accounts a ON a.id = p.account_id
      WHERE e.reference = ANY($1::text[])`,
    [references],
  );
  const grouped = new Map<
    string,
    { rowId: bigint; kind: string; postings: { code: string; direction: string; amountMinor: bigint }[] }
  >();
  for (const row of result.rows) {
    let group = grouped.get(row.reference);
    if (group === undefined) {
      group = { rowId: row.id, kind: row.kind, postings: [] };
      grouped.set(row.reference, group);
    }
    group.postings.push({
      code: row.code,
      direction: row.is_credit ? 'credit' : 'debit',
      amountMinor: row.amount_minor,
    });
  }
  const contents = new Map<string, StoredContents>();
  for (const [reference, group] of grouped) {
    contents.set(reference, { rowId: group.rowId, contentKey: contentKeyOf(group.kind, group.postings) });
  }
  return contents;
}

export function referenceConflict(reference: string, existingRowId: bigint): AppError {
  return new AppError(
    'ledger_reference_conflict',
    `reference ${reference} was used by ${entryIdOf(existingRowId)} with different contents`,
    { field: 'reference' },
  );
}

/** Posts validated entries; results in input order. */
export async function postValidEntries(client: Queryable, entries: ValidEntry[]): Promise<PostedEntry[]> {
  // Within one batch a reference counts once: later copies are replays of the first (or conflicts with it).
  const firstByReference = new Map<string, ValidEntry>();
  for (const entry of entries) {
    const first = firstByReference.get(entry.reference);
    if (first === undefined) firstByReference.set(entry.reference, entry);
    else if (first.contentKey !== entry.contentKey) {
      throw new AppError(
        'ledger_reference_conflict',
        `reference ${entry.reference} appears twice in the batch with different contents`,
        { field: 'reference' },
      );
    }
  }
  const unique = [...firstByReference.values()];
  let written;
  try {
    written = await writeEntries(client, unique);
  } catch (error) {
    throw translateLedgerError(
      error,
      unique.length === 1 ? `entry ${unique[0]?.reference}` : 'batch of entries',
    );
  }
  const results = new Map<string, PostedEntry>();
  const createdRows = new Set<string>();
  for (const row of written.written) {
    results.set(row.reference, { entryId: entryIdOf(row.rowId), created: true });
  }
  const missing = unique.filter((entry) => !results.has(entry.reference));
  if (missing.length > 0) {
    const existing = await loadContents(
      client,
      missing.map((entry) => entry.reference),
    );
    for (const entry of missing) {
      const stored = existing.get(entry.reference);
      if (stored === undefined) {
        // ON CONFLICT skipped it, yet it cannot be seen: only possible under REPEATABLE READ or SERIALIZABLE.
        throw new Error(`entry ${entry.reference} exists but is not visible to this transaction; retry it`);
      }
      if (stored.contentKey !== entry.contentKey) throw referenceConflict(entry.reference, stored.rowId);
      results.set(entry.reference, { entryId: entryIdOf(stored.rowId), created: false });
    }
  }
  return entries.map((entry) => {
    const result = results.get(entry.reference);
    if (result === undefined) throw new Error(`no result for entry ${entry.reference}`);
    // The first copy in the batch reports what happened to the reference; later copies are replays.
    const first = !createdRows.has(entry.reference);
    createdRows.add(entry.reference);
    return first ? result : { entryId: result.entryId, created: false };
  });
}

/** Posts one journal entry in the caller's open transaction. */
export async function postEntry(client: Queryable, input: EntryInput): Promise<PostedEntry> {
  const [result] = await postValidEntries(client, [validateEntry(input)]);
  if (result === undefined) throw new Error('postEntry: no result');
  return result;
}

/**
 * Posts many entries in the caller's open transaction with one statement; results in input order. All or
 * nothing: an invalid entry fails the whole call (use LedgerWriter for independent entries).
 */
export async function postEntries(client: Queryable, inputs: EntryInput[]): Promise<PostedEntry[]> {
  if (inputs.length === 0) return [];
  const entries = inputs.map((input, index) => {
    try {
      return validateEntry(input);
    } catch (error) {
      throw error instanceof AppError ? error.atField(`entries.${index}`) : error;
    }
  });
  return await postValidEntries(client, entries);
}

interface StoredPosting {
  entry_id: bigint;
  kind: string;
  code: string;
  type: AccountType;
  currency: string;
  owner_id: string | null;
  floor_minor: bigint | null;
  is_credit: boolean;
  amount_minor: bigint;
  reversed_by_id: bigint | null;
  reversed_by_reference: string | null;
}

/**
 * Posts the mirror image of an entry (every debit a credit and back), which is how the ledger corrects a
 * mistake: the original stays, and the two together net to nothing. An entry is reversed at most once (the
 * database holds that too); reversing again with the same reference returns the first reversal.
 */
export async function reverseEntry(
  client: Queryable,
  entryId: string,
  reference: string,
  reason: string,
): Promise<PostedEntry> {
  const rowId = entryRowIdOf(entryId);
  if (rowId === undefined) throw new AppError('ledger_entry_invalid', `${entryId} is not a journal entry id`);
  const stored = await client.query<StoredPosting>(
    `SELECT e.id AS entry_id, e.kind, a.code, a.type, a.currency, a.owner_id, a.floor_minor, p.is_credit,
            p.amount_minor, r.id AS reversed_by_id, r.reference AS reversed_by_reference
       FROM ledger.entries e
       JOIN ledger.postings p ON p.entry_id = e.id
       JOIN ledger.accounts a ON a.id = p.account_id
       LEFT JOIN ledger.entries r ON r.reverses_entry_id = e.id
      WHERE e.id = $1
      ORDER BY p.line`,
    [rowId],
  );
  const first = stored.rows[0];
  if (first === undefined) throw new AppError('ledger_entry_invalid', `no journal entry ${entryId}`);
  if (first.reversed_by_id !== null) {
    if (first.reversed_by_reference === reference)
      return { entryId: entryIdOf(first.reversed_by_id), created: false };
    throw new AppError(
      'ledger_entry_invalid',
      `${entryId} was reversed already by ${entryIdOf(first.reversed_by_id)}`,
    );
  }
  const postings: PostingInput[] = stored.rows.map((row) => {
    const account: AccountSpec = {
      code: row.code,
      type: row.type,
      currency: row.currency,
      ...(row.owner_id === null ? {} : { ownerId: row.owner_id }),
      ...(row.floor_minor === null ? {} : { floorMinor: row.floor_minor }),
    };
    return { account, direction: row.is_credit ? 'debit' : 'credit', amountMinor: row.amount_minor };
  });
  const entry = validateEntry(
    {
      reference,
      kind: 'ledger.reversal',
      description: reason,
      postings,
      metadata: { reverses: entryId, reversedKind: first.kind },
    },
    { reversesRowId: rowId },
  );
  const [result] = await postValidEntries(client, [entry]);
  if (result === undefined) throw new Error('reverseEntry: no result');
  return result;
}
