import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/db/pool.ts';
import { withTransaction } from '../../src/db/tx.ts';
import {
  normalSideOf,
  type AccountSpec,
  type AccountType,
  type EntryInput,
  type PostingInput,
} from '../../src/ledger/types.ts';
import { getBalances, LedgerWriter, postEntries, postEntry, verifyLedger } from '../../src/ledger/service.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 8 });
  pool = db.pool;
});
afterAll(async () => {
  await db.drop();
});

const CURRENCIES = ['USD', 'EUR', 'JPY', 'KWD'] as const;
const TYPES: AccountType[] = ['asset', 'liability', 'revenue', 'expense', 'equity'];
const ACCOUNTS_PER_CURRENCY = 12;

function accountOf(run: number, currency: string, index: number): AccountSpec {
  return { code: `prop:${run}:${currency}:${index}`, type: TYPES[index % TYPES.length] ?? 'asset', currency };
}

/** An entry is a few transfers (debit one account, credit another, same amount, same currency): balanced by construction. */
const transferArb = fc.record({
  currency: fc.constantFrom(...CURRENCIES),
  from: fc.integer({ min: 0, max: ACCOUNTS_PER_CURRENCY - 1 }),
  to: fc.integer({ min: 0, max: ACCOUNTS_PER_CURRENCY - 1 }),
  amountMinor: fc.bigInt({ min: 1n, max: 10n ** 12n }),
});
const entryArb = fc.array(transferArb, { minLength: 1, maxLength: 3 });
/** How each entry is posted: alone, in a postEntries batch, or through the group-commit writer. */
const modeArb = fc.constantFrom('single', 'batch', 'writer');

describe('a ledger fed random balanced entries', () => {
  it('keeps every cached balance equal to its postings, sums to zero per currency, and verifies', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(entryArb, modeArb), { minLength: 800, maxLength: 1200 }),
        async (generated) => {
          run += 1;
          const expected = new Map<string, bigint>();
          const inputs: { input: EntryInput; mode: string }[] = generated.map(([transfers, mode], index) => {
            const postings: PostingInput[] = [];
            for (const t of transfers) {
              const from = accountOf(run, t.currency, t.from);
              const to = accountOf(run, t.currency, t.to);
              postings.push({ account: to, direction: 'debit', amountMinor: t.amountMinor });
              postings.push({ account: from, direction: 'credit', amountMinor: t.amountMinor });
              for (const [account, direction] of [
                [to, 'debit'],
                [from, 'credit'],
              ] as const) {
                const sign = normalSideOf(account.type) === direction ? 1n : -1n;
                expected.set(account.code, (expected.get(account.code) ?? 0n) + sign * t.amountMinor);
              }
            }
            return {
              input: {
                reference: `prop:${run}:${index}`,
                kind: 'test.random',
                description: 'random',
                postings,
              },
              mode,
            };
          });

          const writer = new LedgerWriter(pool, { maxBatch: 200 });
          const pendingWrites: Promise<unknown>[] = [];
          let batch: EntryInput[] = [];
          for (const { input, mode } of inputs) {
            if (mode === 'writer') pendingWrites.push(writer.post(input));
            else if (mode === 'batch') batch.push(input);
            else await withTransaction(pool, (client) => postEntry(client, input));
            if (batch.length >= 50) {
              const flush = batch;
              batch = [];
              await withTransaction(pool, (client) => postEntries(client, flush));
            }
          }
          if (batch.length > 0) await withTransaction(pool, (client) => postEntries(client, batch));
          await Promise.all(pendingWrites);
          await writer.close();

          const balances = await getBalances(pool, [...expected.keys()]);
          for (const [code, balance] of expected)
            expect(balances.get(code)?.balanceMinor, code).toBe(balance);

          const report = await verifyLedger(pool);
          expect(report.failures).toEqual([]);
          expect(report.ok).toBe(true);
          for (const currency of report.currencies) expect(currency.debitsMinor).toBe(currency.creditsMinor);
        },
      ),
      { numRuns: 3, seed: 20_240_611 },
    );
  });
});
