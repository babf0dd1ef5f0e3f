import type { Pool, PoolClient } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { AppError } from '../errors.ts';
import { entryIdOf } from './ids.ts';
import { loadContents, postValidEntries, referenceConflict } from './post.ts';
import { normalBalance } from './read.ts';
import type { AccountType, EntryInput, PostedEntry } from './types.ts';
import { normalDelta, validateEntry, type ValidEntry } from './validate.ts';
import { preparedQuery } from '../db/pool.ts';
import { writeEntries } from './write-sql.ts';

/**
 * Group commit: concurrent `post()` calls are gathered while the previous batch is being written, and each
 * gathered batch is written in ONE transaction (one statement for the lock, one for the writes, one COMMIT), so
 * a thousand entries cost about what one does. Each caller's promise settles after the COMMIT that made its
 * entry durable.
 *
 * One bad entry fails alone: under the batch's row locks the writer replays every entry against the locked
 * balances first (account details, floors, existing references), leaves the bad ones out with their own error,
 * and writes the rest. Should the batch still fail (a race the pre-check could not see, such as a concurrent
 * poster of the same reference), it is rolled back and every entry is posted on its own, so each gets its own
 * outcome.
 */

export interface LedgerWriterOptions {
  /** Most entries in one transaction. */
  maxBatch?: number;
  /** How long a batch may wait to gather more entries when the writer is idle; 0: the next turn of the loop. */
  maxDelayMs?: number;
  /** Batches written at once (one can gather and lock while another commits). */
  maxInFlight?: number;
}

export interface LedgerWriterStats {
  batches: number;
  entries: number;
  largestBatch: number;
  /** Batches that failed as a whole and were posted entry by entry. */
  fallbacks: number;
}

interface Pending {
  entry: ValidEntry;
  resolve: (result: PostedEntry) => void;
  reject: (error: unknown) => void;
}

/** Entries of one batch that share a reference: the first one is written, the others are its replays. */
interface Group {
  entry: ValidEntry;
  waiters: Pending[];
  settled: boolean;
}

interface LockedAccount {
  type: AccountType;
  currency: string;
  ownerId: string | null;
  floorMinor: bigint | null;
  balanceMinor: bigint;
}

const LOCK_SQL = `
WITH locked AS (
  SELECT code, type, currency, owner_id, floor_minor, debits_minor, credits_minor
    FROM ledger.accounts WHERE code = ANY($1::text[])
   ORDER BY code
     FOR UPDATE
)
SELECT 'account' AS row_kind, code AS key, type, currency, owner_id, floor_minor, debits_minor, credits_minor,
       NULL::bigint AS entry_id
  FROM locked
UNION ALL
SELECT 'entry', reference, NULL, NULL, NULL, NULL, NULL, NULL, id FROM ledger.entries WHERE reference = ANY($2::text[])`;

export class LedgerWriter {
  private readonly pool: Pool;
  private readonly maxBatch: number;
  private readonly maxDelayMs: number;
  private readonly maxInFlight: number;
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  private closed = false;
  private idle: (() => void)[] = [];
  private readonly counters: LedgerWriterStats = { batches: 0, entries: 0, largestBatch: 0, fallbacks: 0 };

  constructor(pool: Pool, options: LedgerWriterOptions = {}) {
    this.pool = pool;
    this.maxBatch = options.maxBatch ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 0;
    this.maxInFlight = options.maxInFlight ?? 2;
  }

  /** Posts one entry; settles once its batch has committed (or with the entry's own error). */
  post(input: EntryInput): Promise<PostedEntry> {
    if (this.closed) return Promise.reject(new Error('the ledger writer is closed'));
    let entry: ValidEntry;
    try {
      entry = validateEntry(input);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<PostedEntry>((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      this.schedule();
    });
  }

  stats(): LedgerWriterStats {
    return { ...this.counters };
  }

  /** Stops taking entries and waits until every accepted one is settled. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.queue.length === 0 && this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private schedule(): void {
    if (this.inFlight >= this.maxInFlight) return; // a finishing batch picks the queue up
    if (this.queue.length >= this.maxBatch) {
      this.flush();
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    const go = (): void => {
      this.scheduled = false;
      this.flush();
    };
    if (this.maxDelayMs > 0) setTimeout(go, this.maxDelayMs);
    else setImmediate(go);
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.slice(0, this.maxBatch);
      this.queue = this.queue.slice(batch.length);
      this.inFlight += 1;
      void this.run(batch).finally(() => {
        this.inFlight -= 1;
        if (this.queue.length > 0) this.flush();
        else if (this.inFlight === 0) for (const wake of this.idle.splice(0)) wake();
      });
    }
  }

  private async run(batch: Pending[]): Promise<void> {
    const groups: Group[] = [];
    const byReference = new Map<string, Group>();
    for (const pending of batch) {
      const group = byReference.get(pending.entry.reference);
      if (group === undefined) {
        const created: Group = { entry: pending.entry, waiters: [pending], settled: false };
        byReference.set(pending.entry.reference, created);
        groups.push(created);
      } else if (group.entry.contentKey === pending.entry.contentKey) {
        group.waiters.push(pending);
      } else {
        pending.reject(
          new AppError(
            'ledger_reference_conflict',
            `reference ${pending.entry.reference} was posted twice with different contents`,
            {
              field: 'reference',
            },
          ),
        );
      }
    }
    this.counters.batches += 1;
    this.counters.largestBatch = Math.max(this.counters.largestBatch, batch.length);
    try {
      await this.writeBatch(groups);
    } catch {
      this.counters.fallbacks += 1;
      await Promise.all(groups.filter((group) => !group.settled).map((group) => this.postAlone(group)));
    }
  }

  private settle(group: Group, outcome: { result: PostedEntry } | { error: unknown }): void {
    if (group.settled) return;
    group.settled = true;
    group.waiters.forEach((waiter, index) => {
      if ('error' in outcome) waiter.reject(outcome.error);
      else waiter.resolve(index === 0 ? outcome.result : { entryId: outcome.result.entryId, created: false });
    });
    if ('result' in outcome && outcome.result.created) this.counters.entries += 1;
  }

  private async postAlone(group: Group): Promise<void> {
    try {
      const [result] = await withTransaction(this.pool, (client) => postValidEntries(client, [group.entry]));
      if (result === undefined) throw new Error('no result');
      this.settle(group, { result });
    } catch (error) {
      this.settle(group, { error });
    }
  }

  private async writeBatch(groups: Group[]): Promise<void> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const accepted = await this.prepare(client, groups);
      if (accepted.length > 0) {
        const { written } = await writeEntries(
          client,
          accepted.map((group) => group.entry),
        );
        // Fewer rows than entries: a reference was inserted concurrently after the pre-check. Start over, alone.
        if (written.length !== accepted.length) throw new Error('batch raced with a concurrent poster');
        await client.query('COMMIT');
        const ids = new Map(written.map((row) => [row.reference, row.rowId]));
        for (const group of accepted) {
          const rowId = ids.get(group.entry.reference);
          if (rowId === undefined) throw new Error('written entry missing from the result');
          this.settle(group, { result: { entryId: entryIdOf(rowId), created: true } });
        }
      } else {
        await client.query('COMMIT');
      }
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * Under the batch's row locks, replays each entry against the locked balances in batch order; settles the
   * replays and the entries that cannot go in, and returns the ones to write.
   */
  private async prepare(client: PoolClient, groups: Group[]): Promise<Group[]> {
    const codes = new Set<string>();
    for (const group of groups) for (const code of group.entry.accounts.keys()) codes.add(code);
    const locked = await preparedQuery<{
      row_kind: 'account' | 'entry';
      key: string;
      type: AccountType | null;
      currency: string | null;
      owner_id: string | null;
      floor_minor: bigint | null;
      debits_minor: bigint | null;
      credits_minor: bigint | null;
      entry_id: bigint | null;
    }>(client, 'ledger_lock_batch', LOCK_SQL, [[...codes], groups.map((group) => group.entry.reference)]);

    const accounts = new Map<string, LockedAccount>();
    const existing = new Set<string>();
    for (const row of locked.rows) {
      if (row.row_kind === 'entry') existing.add(row.key);
      else if (row.type !== null && row.currency !== null) {
        accounts.set(row.key, {
          type: row.type,
          currency: row.currency,
          ownerId: row.owner_id,
          floorMinor: row.floor_minor,
          balanceMinor: normalBalance(row.type, row.debits_minor ?? 0n, row.credits_minor ?? 0n),
        });
      }
    }

    if (existing.size > 0) {
      const stored = await loadContents(client, [...existing]);
      for (const group of groups) {
        const found = stored.get(group.entry.reference);
        if (found === undefined) continue;
        if (found.contentKey === group.entry.contentKey) {
          this.settle(group, { result: { entryId: entryIdOf(found.rowId), created: false } });
        } else {
          this.settle(group, { error: referenceConflict(group.entry.reference, found.rowId) });
        }
      }
    }

    const accepted: Group[] = [];
    for (const group of groups) {
      if (group.settled) continue;
      const problem = this.simulate(group.entry, accounts);
      if (problem === undefined) accepted.push(group);
      else this.settle(group, { error: problem });
    }
    return accepted;
  }

  /** Applies the entry to the simulated balances, or says why it cannot go in (leaving them untouched). */
  private simulate(entry: ValidEntry, accounts: Map<string, LockedAccount>): AppError | undefined {
    const deltas = new Map<string, bigint>();
    // Accounts this entry would create join the simulation only if the entry goes in.
    const created = new Map<string, LockedAccount>();
    for (const posting of entry.postings) {
      const spec = posting.account;
      const code = spec.code;
      let account = accounts.get(code) ?? created.get(code);
      if (account === undefined) {
        account = {
          type: spec.type,
          currency: spec.currency,
          ownerId: spec.ownerId ?? null,
          floorMinor: spec.floorMinor ?? null,
          balanceMinor: 0n,
        };
        created.set(code, account);
      }
      if (account.currency !== spec.currency) {
        return new AppError(
          'currency_mismatch',
          `entry ${entry.reference}: account ${code} is in ${account.currency}, not ${spec.currency}`,
        );
      }
      if (account.type !== spec.type || account.ownerId !== (spec.ownerId ?? null)) {
        return new AppError(
          'ledger_entry_invalid',
          `entry ${entry.reference}: account ${code} exists as ${account.type} owned by ${account.ownerId ?? 'nobody'}`,
        );
      }
      deltas.set(
        code,
        (deltas.get(code) ?? 0n) + normalDelta(account.type, posting.direction, posting.amountMinor),
      );
    }
    for (const [code, delta] of deltas) {
      const account = accounts.get(code) ?? created.get(code);
      if (account === undefined || account.floorMinor === null || delta >= 0n) continue;
      if (account.balanceMinor + delta < account.floorMinor) {
        return new AppError(
          'account_limit_exceeded',
          `entry ${entry.reference}: account ${code} would fall to ${account.balanceMinor + delta}, below its floor ${account.floorMinor}`,
        );
      }
    }
    for (const [code, account] of created) accounts.set(code, account);
    for (const [code, delta] of deltas) {
      const account = accounts.get(code);
      if (account !== undefined) account.balanceMinor += delta;
    }
    return undefined;
  }
}
