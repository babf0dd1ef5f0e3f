import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listObjects } from '../../sandbox/store.ts';
import { createTestDatabase, indexCounters, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 2 });
  // Payment intents with the metadata Bursar puts on them, and the other objects a charge stores with the same
  // metadata: its charge and its events.
  await db.pool.query(
    `INSERT INTO sandbox.objects (id, object, created, data, internal)
     SELECT kind.prefix || g, kind.object, 1,
            jsonb_build_object('id', kind.prefix || g, 'metadata', jsonb_build_object('payment_order_id', 'po_' || g)),
            '{}'::jsonb
       FROM (VALUES ('pi_s_', 'payment_intent'), ('ch_s_', 'charge'), ('evt_s_', 'event')) AS kind(prefix, object),
            generate_series(1, 2000) g`,
  );
});
afterAll(async () => {
  await db.drop();
});

/**
 * Only payment intents are searched by metadata (`GET /v1/payment_intents/search`), so only they are in the
 * metadata index (sandbox migration 0003): every other object a charge stores is one insert fewer into it.
 */
describe('the sandbox’s search of payment intents by metadata', () => {
  it('finds the intent through the index that holds payment intents only', async () => {
    const client = await db.pool.connect();
    try {
      // Neither a sequential read nor a walk of objects_by_kind in date order (the plan a small table gets): the
      // planner must be able to answer from the metadata index, which it can only if the query proves its predicate.
      await client.query('SET enable_seqscan = off');
      await client.query('SET enable_indexscan = off');
      const before = await indexCounters(client, 'sandbox', 'objects');
      const found = await listObjects(client, {
        kind: 'payment_intent',
        metadata: { payment_order_id: 'po_17' },
        limit: 10,
      });
      const after = await indexCounters(client, 'sandbox', 'objects');
      expect(found.rows.map((row) => row.id)).toEqual(['pi_s_17']);
      const scans = (name: string) => (after.get(name)?.scans ?? 0) - (before.get(name)?.scans ?? 0);
      expect(scans('objects_intent_metadata')).toBe(1);
    } finally {
      await client.query('RESET enable_seqscan');
      await client.query('RESET enable_indexscan');
      client.release();
    }
  });

  it('indexes the metadata of no other kind of object', async () => {
    const indexes = await db.pool.query<{ name: string; predicate: string | null }>(
      `SELECT c.relname AS name, pg_get_expr(i.indpred, i.indrelid) AS predicate
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = 'sandbox.objects'::regclass AND pg_get_indexdef(i.indexrelid) LIKE '%metadata%'`,
    );
    expect(indexes.rows).toEqual([
      { name: 'objects_intent_metadata', predicate: "(object = 'payment_intent'::text)" },
    ]);
  });
});
