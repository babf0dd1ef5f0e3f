import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  afterCommit,
  observeTransactionRetries,
  TX_RETRIES_METRIC,
  withTransaction,
} from '../../src/db/tx.ts';
import { createLogger } from '../../src/log.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
const logLines: Array<Record<string, unknown>> = [];
const registry = new Registry();

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query('CREATE TABLE public.tx_rows (id integer PRIMARY KEY, n integer NOT NULL DEFAULT 0)');
  await db.pool.query('INSERT INTO public.tx_rows (id) VALUES (1), (2)');
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  observeTransactionRetries(db.pool, createLogger('info', sink), registry);
});
afterAll(async () => {
  await db.drop();
});

function barrier(): { arrive: () => void; all: Promise<void> } {
  let count = 0;
  let open: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (open = resolve));
  return {
    arrive: () => {
      count++;
      if (count === 2) open();
    },
    all,
  };
}

async function retriesCounted(): Promise<number> {
  const metric = await registry.getSingleMetric(TX_RETRIES_METRIC)?.get();
  return (metric?.values ?? []).reduce((sum, value) => sum + value.value, 0);
}

describe('withTransaction', () => {
  it('retries a deadlock, logs it (warn, attempt, SQLSTATE) and counts it; after-commit hooks run once per commit', async () => {
    const both = barrier();
    let counted = 0;
    let runs = 0;
    const lockInOrder = (first: number, second: number) =>
      withTransaction(db.pool, async (client) => {
        runs++;
        await client.query('UPDATE public.tx_rows SET n = n + 1 WHERE id = $1', [first]);
        afterCommit(client, () => counted++);
        both.arrive();
        await both.all;
        await client.query('UPDATE public.tx_rows SET n = n + 1 WHERE id = $1', [second]);
      });
    await Promise.all([lockInOrder(1, 2), lockInOrder(2, 1)]);

    expect(runs).toBe(3);
    expect(counted).toBe(2);
    const rows = await db.pool.query<{ n: number }>('SELECT n FROM public.tx_rows ORDER BY id');
    expect(rows.rows.map((row) => row.n)).toEqual([2, 2]);
    const warned = logLines.filter(
      (line) => line.msg === 'transaction retried after a deadlock or serialization failure',
    );
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 40, attempt: 1, sqlState: '40P01' });
    expect(await retriesCounted()).toBe(1);
  });

  it('drops after-commit hooks of a transaction that rolls back', async () => {
    let counted = 0;
    await expect(
      withTransaction(db.pool, async (client) => {
        afterCommit(client, () => counted++);
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(counted).toBe(0);
    afterCommit(db.pool, () => counted++);
    expect(counted).toBe(1);
  });

  it("reads under another open transaction's exported snapshot: its view, not rows committed after it, read-only", async () => {
    await withTransaction(
      db.pool,
      async (exporter) => {
        await exporter.query('SELECT n FROM public.tx_rows WHERE id = 1');
        const exported = await exporter.query<{ s: string }>('SELECT pg_export_snapshot() AS s');
        const snapshot = exported.rows[0]?.s ?? '';
        await db.pool.query('UPDATE public.tx_rows SET n = n + 100 WHERE id = 2');
        const seen = await withTransaction(
          db.pool,
          async (reader) =>
            (await reader.query<{ n: number }>('SELECT n FROM public.tx_rows WHERE id = 2')).rows[0]?.n,
          { isolation: 'repeatable read', readOnly: true, snapshot },
        );
        const now = await db.pool.query<{ n: number }>('SELECT n FROM public.tx_rows WHERE id = 2');
        expect(seen).toBe((now.rows[0]?.n ?? 0) - 100);
        await expect(
          withTransaction(db.pool, (reader) => reader.query('UPDATE public.tx_rows SET n = 0'), {
            isolation: 'repeatable read',
            readOnly: true,
            snapshot,
          }),
        ).rejects.toMatchObject({ code: '25006' });
      },
      { isolation: 'repeatable read' },
    );
  });

  it('refuses a snapshot id of any other shape before it reaches SQL', async () => {
    await expect(
      withTransaction(db.pool, async () => 'never', {
        isolation: 'repeatable read',
        snapshot: "1-1'; DROP TABLE public.tx_rows; --",
      }),
    ).rejects.toThrow('not a snapshot id');
    const rows = await db.pool.query('SELECT count(*)::int AS n FROM public.tx_rows');
    expect(rows.rows[0]).toEqual({ n: 2 });
  });
});
