import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool, PoolClient } from '../../src/db/pool.ts';
import { sqlState } from '../../src/db/tx.ts';
import { LEDGER_SQLSTATES } from '../../src/ledger/db-errors.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

/** The database keeps the ledger's invariants by itself: these tests write SQL by hand, bypassing the service. */

let db: TestDatabase;
let pool: Pool;
let accountA: bigint;
let accountB: bigint;
let committedEntry: bigint;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = db.pool;
  const accounts = await pool.query<{ id: bigint }>(
    `INSERT INTO ledger.accounts (code, type, currency, floor_minor)
     VALUES ('raw:a', 'asset', 'USD', NULL), ('raw:b', 'liability', 'USD', 0) RETURNING id`,
  );
  accountA = accounts.rows[0]?.id ?? 0n;
  accountB = accounts.rows[1]?.id ?? 0n;
  // A correct entry written by hand is accepted.
  committedEntry = await inTransaction(async (client) => {
    const id = await insertEntry(client, 'raw:ok');
    await client.query(
      `INSERT INTO ledger.postings (account_id, seq, entry_id, line, is_credit, amount_minor, currency, balance_after, posted_at)
       VALUES ($1, 1, $3, 0, false, 100, 'USD', 100, now()), ($2, 1, $3, 1, true, 100, 'USD', 100, now())`,
      [accountA, accountB, id],
    );
    await client.query(`UPDATE ledger.accounts SET debits_minor = 100, version = 1 WHERE id = $1;`, [
      accountA,
    ]);
    await client.query(`UPDATE ledger.accounts SET credits_minor = 100, version = 1 WHERE id = $1`, [
      accountB,
    ]);
    return id;
  });
});
afterAll(async () => {
  await db.drop();
});

async function inTransaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function insertEntry(client: PoolClient, reference: string): Promise<bigint> {
  const result = await client.query<{ id: bigint }>(
    `INSERT INTO ledger.entries (reference, kind, description, effective_at) VALUES ($1, 'raw', 'by hand', now())
     RETURNING id`,
    [reference],
  );
  return result.rows[0]?.id ?? 0n;
}

async function stateOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return sqlState(error);
  }
  return 'no error';
}

describe('the database refuses what breaks the books', () => {
  it('refuses, at commit, an entry whose debits and credits differ', async () => {
    const state = await stateOf(
      inTransaction(async (client) => {
        const id = await insertEntry(client, 'raw:unbalanced');
        await client.query(
          `INSERT INTO ledger.postings (account_id, seq, entry_id, line, is_credit, amount_minor, currency, balance_after, posted_at)
           VALUES ($1, 2, $3, 0, false, 100, 'USD', 200, now()), ($2, 2, $3, 1, true, 99, 'USD', 199, now())`,
          [accountA, accountB, id],
        );
      }),
    );
    expect(state).toBe(LEDGER_SQLSTATES.unbalanced);
    expect(
      (await pool.query(`SELECT 1 FROM ledger.entries WHERE reference = 'raw:unbalanced'`)).rowCount,
    ).toBe(0);
  });

  it('refuses an entry with fewer than two postings', async () => {
    const state = await stateOf(inTransaction((client) => insertEntry(client, 'raw:empty')));
    expect(state).toBe(LEDGER_SQLSTATES.tooFewPostings);
  });

  it('refuses a posting added to an entry committed earlier', async () => {
    const state = await stateOf(
      inTransaction(async (client) => {
        await client.query(
          `INSERT INTO ledger.postings (account_id, seq, entry_id, line, is_credit, amount_minor, currency, balance_after, posted_at)
           VALUES ($1, 2, $3, 2, false, 5, 'USD', 105, now()), ($2, 2, $3, 3, true, 5, 'USD', 105, now())`,
          [accountA, accountB, committedEntry],
        );
      }),
    );
    expect(state).toBe(LEDGER_SQLSTATES.closedEntry);
  });

  it("refuses a posting in another currency than its account's", async () => {
    const state = await stateOf(
      inTransaction(async (client) => {
        const id = await insertEntry(client, 'raw:currency');
        await client.query(
          `INSERT INTO ledger.postings (account_id, seq, entry_id, line, is_credit, amount_minor, currency, balance_after, posted_at)
           VALUES ($1, 2, $3, 0, false, 5, 'EUR', 105, now()), ($2, 2, $3, 1, true, 5, 'EUR', 105, now())`,
          [accountA, accountB, id],
        );
      }),
    );
    expect(state).toBe(LEDGER_SQLSTATES.currencyMismatch);
  });

  it('refuses a zero or negative amount', async () => {
    const state = await stateOf(
      inTransaction(async (client) => {
        const id = await insertEntry(client, 'raw:zero');
        await client.query(
          `INSERT INTO ledger.postings (account_id, seq, entry_id, line, is_credit, amount_minor, currency, balance_after, posted_at)
           VALUES ($1, 2, $3, 0, false, 0, 'USD', 100, now()), ($2, 2, $3, 1, true, 0, 'USD', 100, now())`,
          [accountA, accountB, id],
        );
      }),
    );
    expect(state).toBe('23514');
  });

  it('refuses a second posting with the same number in an account chain', async () => {
    const state = await stateOf(
      inTransaction(async (client) => {
        const id = await insertEntry(client, 'raw:seq');
        await client.query(
          `INSERT INTO ledger.postings (account_id, seq, entry_id, line, is_credit, amount_minor, currency, balance_after, posted_at)
           VALUES ($1, 1, $3, 0, false, 5, 'USD', 105, now()), ($2, 2, $3, 1, true, 5, 'USD', 105, now())`,
          [accountA, accountB, id],
        );
      }),
    );
    expect(state).toBe('23505');
  });

  it('refuses UPDATE, DELETE and TRUNCATE of postings and entries', async () => {
    const refused = LEDGER_SQLSTATES.appendOnly;
    expect(
      await stateOf(
        pool.query('UPDATE ledger.postings SET amount_minor = 1 WHERE entry_id = $1', [committedEntry]),
      ),
    ).toBe(refused);
    expect(
      await stateOf(pool.query('DELETE FROM ledger.postings WHERE entry_id = $1', [committedEntry])),
    ).toBe(refused);
    expect(
      await stateOf(
        pool.query(`UPDATE ledger.entries SET description = 'x' WHERE id = $1`, [committedEntry]),
      ),
    ).toBe(refused);
    expect(await stateOf(pool.query('DELETE FROM ledger.entries WHERE id = $1', [committedEntry]))).toBe(
      refused,
    );
    expect(await stateOf(pool.query('TRUNCATE ledger.postings'))).toBe(refused);
    expect(await stateOf(pool.query('TRUNCATE ledger.entries CASCADE'))).toBe(refused);
    expect(await stateOf(pool.query('DELETE FROM ledger.accounts WHERE id = $1', [accountA]))).toBe(refused);
    const count = await pool.query<{ n: bigint }>(
      'SELECT count(*) AS n FROM ledger.postings WHERE entry_id = $1',
      [committedEntry],
    );
    expect(count.rows[0]?.n).toBe(2n);
  });

  it("refuses to change an account's identity, shrink its totals or take it below its floor", async () => {
    expect(
      await stateOf(pool.query(`UPDATE ledger.accounts SET currency = 'EUR' WHERE id = $1`, [accountA])),
    ).toBe(LEDGER_SQLSTATES.currencyMismatch);
    expect(
      await stateOf(pool.query(`UPDATE ledger.accounts SET type = 'expense' WHERE id = $1`, [accountA])),
    ).toBe(LEDGER_SQLSTATES.accountMismatch);
    expect(
      await stateOf(pool.query('UPDATE ledger.accounts SET debits_minor = 0 WHERE id = $1', [accountA])),
    ).toBe(LEDGER_SQLSTATES.totalsShrink);
    expect(
      await stateOf(pool.query('UPDATE ledger.accounts SET debits_minor = 101 WHERE id = $1', [accountB])),
    ).toBe(LEDGER_SQLSTATES.belowFloor);
    expect(
      await stateOf(
        pool.query(
          `INSERT INTO ledger.accounts (code, type, currency, floor_minor, debits_minor) VALUES ('raw:c', 'liability', 'USD', 0, 1)`,
        ),
      ),
    ).toBe(LEDGER_SQLSTATES.belowFloor);
  });
});
