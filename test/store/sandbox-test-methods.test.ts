import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureObject, type StoredObject } from '../../sandbox/store.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { waitFor } from '../support/payins.ts';

/**
 * Stripe's fixed test PaymentMethods are stored on first use. Two first uses at once (two workers charging
 * `pm_card_visa` on a fresh database) once made the second one answer `resource_missing`, and the order failed.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

function method(id: string): StoredObject {
  return { id, object: 'payment_method', created: 1, data: { id, object: 'payment_method' }, internal: {} };
}

describe('a fixed test PaymentMethod made on first use', () => {
  it('is found by a first use that raced another one, not reported missing', async () => {
    const first = await db.pool.connect();
    try {
      await first.query('BEGIN');
      await ensureObject(first, method('pm_raced'));
      // The second use's INSERT waits on the first's uncommitted row, with its snapshot already taken.
      const second = ensureObject(db.pool, method('pm_raced'));
      await waitFor(async () => {
        const waiting = await db.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%sandbox.objects%'`,
        );
        return (waiting.rows[0]?.n ?? 0) > 0 ? true : undefined;
      });
      await first.query('COMMIT');
      expect((await second)?.id).toBe('pm_raced');
    } finally {
      first.release();
    }
  });

  it('is stored once when many first uses run at once', async () => {
    const found = await Promise.all(
      Array.from({ length: 8 }, () => ensureObject(db.pool, method('pm_many'))),
    );
    expect(found.map((object) => object?.id)).toEqual(Array(8).fill('pm_many'));
    const rows = await db.pool.query('SELECT 1 FROM sandbox.objects WHERE id = $1', ['pm_many']);
    expect(rows.rowCount).toBe(1);
  });
});
