import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/db/pool.ts';
import { AppError } from '../../src/errors.ts';
import type { AccountSpec, EntryInput } from '../../src/ledger/types.ts';
import { getBalances, LedgerWriter, postEntry, verifyLedger } from '../../src/ledger/service.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 40 });
  pool = db.pool;
});
afterAll(async () => {
  await db.drop();
});

const POSTERS = 32;
/** Entries each poster makes at least, however slow the machine, so that the posters always overlap. */
const MIN_ROUNDS = 5;
/** The writer's callers: at least ten entries each, so that each makes one of the bad entries (every tenth). */
const WRITER_MIN_ROUNDS = 10;
const OTHERS = 20;
const hot: AccountSpec = { code: 'conc:hot', type: 'asset', currency: 'USD' };
const other = (i: number): AccountSpec => ({ code: `conc:other:${i}`, type: 'asset', currency: 'USD' });

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 2246822507) + 0x6d2b79f5) >>> 0;
    return state / 2 ** 32;
  };
}

describe('concurrent posting', () => {
  it('32 posters on one hot account and random others: no lost update, no deadlock reaches a caller', async () => {
    const expected = new Map<string, bigint>();
    const add = (code: string, delta: bigint): void =>
      void expected.set(code, (expected.get(code) ?? 0n) + delta);
    const deadline = Date.now() + 3_000;
    const errors: unknown[] = [];
    let posted = 0;

    const poster = async (id: number): Promise<void> => {
      const next = random(id + 1);
      for (let n = 0; n < MIN_ROUNDS || Date.now() < deadline; n++) {
        const amount = BigInt(1 + Math.floor(next() * 1000));
        const a = other(Math.floor(next() * OTHERS));
        const b = other(Math.floor(next() * OTHERS));
        // Three accounts in varying order: the ledger must lock them in one global order whatever the input order.
        const legs: [AccountSpec, 'debit' | 'credit', bigint][] =
          next() < 0.5
            ? [
                [hot, 'debit', amount * 2n],
                [a, 'credit', amount],
                [b, 'credit', amount],
              ]
            : [
                [b, 'debit', amount],
                [a, 'debit', amount],
                [hot, 'credit', amount * 2n],
              ];
        const input: EntryInput = {
          reference: `conc:${id}:${n}`,
          kind: 'test.concurrent',
          description: 'concurrency test',
          postings: legs.map(([account, direction, amountMinor]) => ({ account, direction, amountMinor })),
        };
        // Deliberately without withTransaction's retry: a deadlock would reach us here.
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          await postEntry(client, input);
          await client.query('COMMIT');
          for (const [account, direction, amountMinor] of legs)
            add(account.code, direction === 'debit' ? amountMinor : -amountMinor);
          posted += 1;
        } catch (error) {
          await client.query('ROLLBACK');
          errors.push(error);
        } finally {
          client.release();
        }
      }
    };
    await Promise.all(Array.from({ length: POSTERS }, (_, id) => poster(id)));

    expect(errors).toEqual([]);
    expect(posted).toBeGreaterThan(POSTERS);
    const balances = await getBalances(pool, [...expected.keys()]);
    for (const [code, balance] of expected) expect(balances.get(code)?.balanceMinor, code).toBe(balance);
    const hotBalance = balances.get(hot.code);
    expect(hotBalance?.version).toBe(BigInt(posted));
    const report = await verifyLedger(pool);
    expect(report.failures).toEqual([]);
  });

  it('the group-commit writer: concurrent callers on one hot pair get exact balances, and a bad entry fails alone', async () => {
    const writer = new LedgerWriter(pool, { maxBatch: 256 });
    const source: AccountSpec = { code: 'wr:source', type: 'asset', currency: 'EUR' };
    const seller: AccountSpec = {
      code: 'wr:seller',
      type: 'liability',
      currency: 'EUR',
      ownerId: 'wr',
      floorMinor: 0n,
    };
    const deadline = Date.now() + 1_500;
    let credited = 0n;
    let refused = 0;
    const other: unknown[] = [];
    const caller = async (id: number): Promise<void> => {
      for (let n = 0; n < WRITER_MIN_ROUNDS || Date.now() < deadline; n++) {
        // Every tenth entry tries to take more from the seller than it can ever hold: it must fail alone.
        const bad = n % 10 === 9;
        const amountMinor = bad ? 10n ** 14n : BigInt(id + 1);
        const input: EntryInput = {
          reference: `wr:${id}:${n}`,
          kind: 'test.writer',
          description: 'writer test',
          postings: [
            { account: source, direction: bad ? 'credit' : 'debit', amountMinor },
            { account: seller, direction: bad ? 'debit' : 'credit', amountMinor },
          ],
        };
        try {
          const result = await writer.post(input);
          expect(result.created).toBe(true);
          credited += amountMinor;
        } catch (error) {
          if (bad && error instanceof AppError && error.code === 'account_limit_exceeded') refused += 1;
          else other.push(error);
        }
      }
    };
    await Promise.all(Array.from({ length: POSTERS }, (_, id) => caller(id)));
    await writer.close();
    expect(other).toEqual([]);
    expect(refused).toBeGreaterThan(0);
    const balances = await getBalances(pool, [source.code, seller.code]);
    expect(balances.get(seller.code)?.balanceMinor).toBe(credited);
    expect(balances.get(source.code)?.balanceMinor).toBe(credited);
    const stats = writer.stats();
    expect(stats.largestBatch).toBeGreaterThan(1);
    expect(stats.fallbacks).toBe(0);
    // A replay through the writer returns the first entry.
    const replay = await new LedgerWriter(pool).post({
      reference: 'wr:0:0',
      kind: 'test.writer',
      description: 'replayed',
      postings: [
        { account: source, direction: 'debit', amountMinor: 1n },
        { account: seller, direction: 'credit', amountMinor: 1n },
      ],
    });
    expect(replay.created).toBe(false);
    expect((await verifyLedger(pool)).ok).toBe(true);
  });
});
