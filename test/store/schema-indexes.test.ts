import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 1 });
});
afterAll(async () => {
  await db.drop();
});

/**
 * Every index is written on every insert of its table and on every update that is not heap-only, so an index that
 * another one already serves is a cost on the write path for nothing (migration 0360 dropped four). An index is
 * redundant when another index of the same table, with the same predicate and expressions, has its columns as a
 * prefix (a B-tree reads both ways, so the sort direction does not matter) and it enforces nothing itself.
 */
const REDUNDANT_INDEXES = `
  SELECT a.indexrelid::regclass::text AS redundant, b.indexrelid::regclass::text AS served_by
    FROM pg_index a
    JOIN pg_index b ON b.indrelid = a.indrelid AND b.indexrelid <> a.indexrelid
    JOIN pg_class t ON t.oid = a.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_class ai ON ai.oid = a.indexrelid
    JOIN pg_class bi ON bi.oid = b.indexrelid
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgboss', 'sandbox')
     AND NOT a.indisunique
     AND ai.relam = bi.relam
     AND (b.indkey::text || ' ') LIKE (a.indkey::text || ' %')
     AND coalesce(pg_get_expr(a.indpred, a.indrelid), '') = coalesce(pg_get_expr(b.indpred, b.indrelid), '')
     AND coalesce(pg_get_expr(a.indexprs, a.indrelid), '') = coalesce(pg_get_expr(b.indexprs, b.indrelid), '')
   ORDER BY 1, 2`;

interface Redundant {
  redundant: string;
  served_by: string;
}

describe('the schema', () => {
  it('has no index that another index of its table already serves', async () => {
    expect((await db.pool.query<Redundant>(REDUNDANT_INDEXES)).rows).toEqual([]);
  });

  it('reports an index made redundant, so the check above can fail', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('CREATE INDEX probe_redundant ON payins.payment_order (seller_account)');
      const found = await client.query<Redundant>(REDUNDANT_INDEXES);
      expect(found.rows).toEqual([
        { redundant: 'payins.probe_redundant', served_by: 'payins.payment_order_list_seller' },
      ]);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});
