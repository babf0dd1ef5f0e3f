import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/tx.ts';
import { openCopy } from '../../src/reconciliation/copy-rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(
    'CREATE TABLE public.copy_rows (n integer PRIMARY KEY, t text, b bigint, at timestamptz, j jsonb, CHECK (b >= 0))',
  );
});
afterAll(async () => {
  await db.drop();
});

// Text without NUL (PostgreSQL text cannot hold it): tabs, newlines, carriage returns and backslashes included.
const text = fc.string({ unit: 'grapheme', maxLength: 30 }).filter((s) => !s.includes('\u0000'));
const tricky = fc.constantFrom('\\', '\\N', '\t', '\n', '\r', '\\t', 'a\\\\b', '', ' ', '"', "'");

describe('COPY rows', () => {
  it('stores every text exactly as given — delimiters, backslashes and "\\N" included — and null as NULL', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.oneof(text, tricky), { nil: null }), { minLength: 1, maxLength: 40 }),
        async (values) => {
          const back = await withTransaction(db.pool, async (client) => {
            await client.query('TRUNCATE public.copy_rows');
            const copy = openCopy(client, 'public.copy_rows', ['n', 't', 'b', 'at', 'j']);
            for (const [n, t] of values.entries()) {
              await copy.write([
                n,
                t,
                BigInt(n) * 10n ** 15n,
                new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
                '{"k":"v"}',
              ]);
            }
            await copy.end();
            return await client.query<{ n: number; t: string | null; b: string; at: Date }>(
              'SELECT n, t, b::text AS b, at FROM public.copy_rows ORDER BY n',
            );
          });
          expect(back.rows.map((r) => r.t)).toEqual(values);
          expect(back.rows.map((r) => r.b)).toEqual(
            values.map((_, n) => (BigInt(n) * 10n ** 15n).toString()),
          );
          expect(back.rows.map((r) => r.at.getTime())).toEqual(
            values.map((_, n) => Date.UTC(2026, 0, 1, 0, 0, n)),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a row breaking a constraint fails the COPY and its transaction keeps nothing', async () => {
    await db.pool.query('TRUNCATE public.copy_rows');
    await expect(
      withTransaction(db.pool, async (client) => {
        const copy = openCopy(client, 'public.copy_rows', ['n', 't', 'b']);
        await copy.write([1, 'ok', 1n]);
        await copy.write([2, 'negative', -1n]);
        await copy.end();
      }),
    ).rejects.toThrow(/copy_rows_b_check|check constraint/);
    const count = await db.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM public.copy_rows');
    expect(count.rows[0]?.n).toBe('0');
  });

  it("an error of the caller's mid-stream aborts the COPY and leaves the connection usable for the rollback", async () => {
    await db.pool.query('TRUNCATE public.copy_rows');
    await expect(
      withTransaction(db.pool, async (client) => {
        const copy = openCopy(client, 'public.copy_rows', ['n', 't']);
        await copy.write([1, 'first']);
        const error = new Error('line 2 is malformed');
        await copy.abort(error);
        throw error;
      }),
    ).rejects.toThrow('line 2 is malformed');
    const count = await db.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM public.copy_rows');
    expect(count.rows[0]?.n).toBe('0');
    const still = await db.pool.query<{ one: number }>('SELECT 1 AS one');
    expect(still.rows[0]?.one).toBe(1);
  });

  it('a long COPY that waits on back-pressure many times leaves no listener behind (no listener-leak warning)', async () => {
    await db.pool.query('TRUNCATE public.copy_rows');
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.name);
    };
    process.on('warning', onWarning);
    try {
      await withTransaction(db.pool, async (client) => {
        const copy = openCopy(client, 'public.copy_rows', ['n', 't']);
        // About 6 MB: two dozen 256 KB flushes, each one past the stream's buffer, each a wait for 'drain'.
        const filler = 'x'.repeat(200);
        for (let n = 0; n < 30_000; n++) await copy.write([n, filler]);
        await copy.end();
      });
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
    const count = await db.pool.query<{ n: string }>('SELECT count(*)::text AS n FROM public.copy_rows');
    expect(count.rows[0]?.n).toBe('30000');
  });
});
