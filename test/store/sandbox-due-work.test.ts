import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolClient } from '../../src/db/pool.ts';
import { scheduledWorkDue } from '../../sandbox/scheduler.ts';
import { createTestDatabase, indexCounters, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
const NOW = new Date('2026-12-03T12:00:00Z');

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 2 });
  // Settled objects of every kind the scheduler watches, and one payment intent still in review.
  await db.pool.query(
    `INSERT INTO sandbox.objects (id, object, created, data, internal)
     SELECT kind.prefix || g, kind.object, 1, kind.data::jsonb, '{}'::jsonb
       FROM (VALUES ('pi_done_', 'payment_intent', '{"status":"succeeded"}'),
                    ('cs_done_', 'checkout.session', '{"status":"complete","expires_at":1}'),
                    ('dp_done_', 'dispute', '{"status":"won"}'),
                    ('re_done_', 'refund', '{"status":"succeeded"}')) AS kind(prefix, object, data),
            generate_series(1, 50) g`,
  );
});
afterAll(async () => {
  await db.drop();
});

const DUE_INDEXES = [
  'objects_review_due',
  'objects_session_expiry',
  'objects_dispute_due',
  'objects_refund_due',
];

async function indexScans(client: PoolClient): Promise<Map<string, number>> {
  const counters = await indexCounters(client, 'sandbox');
  return new Map([...counters].map(([name, counter]) => [name, counter.scans]));
}

/**
 * The sandbox scheduler looks for due work every tick. Each look must read only the objects still waiting, by
 * their due time, not every object of the kind ever stored: that cost grew with the sandbox's history on the
 * machine it shares with Bursar (migration sandbox/0002).
 */
describe('the sandbox scheduler’s look for due work', () => {
  it('reads the waiting objects through their due-time indexes, never the index of every object of a kind', async () => {
    const client = await db.pool.connect();
    try {
      // Without a sequential scan to fall back on, the plan shows which index answers.
      await client.query('SET enable_seqscan = off');
      const before = await indexScans(client);
      expect(await scheduledWorkDue(client, NOW, false)).toBe(false);
      const after = await indexScans(client);
      const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
      for (const name of DUE_INDEXES) expect(delta(name), name).toBe(1);
      expect(delta('objects_by_kind')).toBe(0);
    } finally {
      await client.query('RESET enable_seqscan');
      client.release();
    }
  });

  it('still finds a review that fell due, and not one that is not due yet', async () => {
    await db.pool.query(
      `INSERT INTO sandbox.objects (id, object, created, data, internal)
       VALUES ('pi_review', 'payment_intent', 1, '{"status":"processing"}', jsonb_build_object('reviewDueAt', $1::bigint))`,
      [NOW.getTime() + 1_000],
    );
    expect(await scheduledWorkDue(db.pool, NOW, false)).toBe(false);
    expect(await scheduledWorkDue(db.pool, new Date(NOW.getTime() + 1_000), false)).toBe(true);
  });
});
