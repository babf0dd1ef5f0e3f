import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolClient } from '../../src/db/pool.ts';
import { anyDuePspEvent, lockDuePspEvents } from '../../src/payins/work-store.ts';
import { createTestDatabase, indexCounters, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
const due: bigint[] = [];

async function insertEvents(kind: string, count: number, nextAttempt: string | null): Promise<bigint[]> {
  const inserted = await db.pool.query<{ id: bigint }>(
    `INSERT INTO payins.psp_events (psp, event_id, event_type, payload, next_attempt_at)
     SELECT 'stripe', 'evt_' || $1 || '_' || g, 'payment_intent.succeeded', '{"object":{"id":"pi_x"}}',
            now() + $3::interval
       FROM generate_series(1, $2::int) g
     RETURNING id`,
    [kind, count, nextAttempt],
  );
  return inserted.rows.map((row) => row.id);
}

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 3 });
  due.push(...(await insertEvents('fresh_a', 2, null)));
  // A backlog put off (their orders' charges in flight) or leased to another worker: not due for an hour.
  await insertEvents('waiting', 300, '1 hour');
  due.push(...(await insertEvents('retry', 2, '-1 second')));
  due.push(...(await insertEvents('fresh_b', 1, null)));
  await db.pool
    .query(`INSERT INTO payins.psp_events (psp, event_id, event_type, payload, processed_at, outcome)
    SELECT 'stripe', 'evt_done_' || g, 'charge.succeeded', '{}', now(), 'ignored' FROM generate_series(1, 50) g`);
});
afterAll(async () => {
  await db.drop();
});

/** Index entries read on psp_events by this backend so far. */
async function entriesRead(client: PoolClient): Promise<number> {
  const counters = await indexCounters(client, 'payins', 'psp_events');
  return [...counters.values()].reduce((sum, counter) => sum + counter.read, 0);
}

describe('the PSP-event loop’s fetch of due events', () => {
  it('returns the due events oldest first, never-deferred and fallen-due alike', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      const events = await lockDuePspEvents(client, 32);
      expect(events.map((event) => event.id)).toEqual([...due].sort((a, b) => (a < b ? -1 : 1)));
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('reads only the due events, not the backlog waiting behind them (migration 0370)', async () => {
    const client = await db.pool.connect();
    try {
      // A sequential scan would hide which index answers on a table this small.
      await client.query('SET enable_seqscan = off');
      const before = await entriesRead(client);
      await client.query('BEGIN');
      expect(await lockDuePspEvents(client, 32)).toHaveLength(due.length);
      await client.query('ROLLBACK');
      const read = (await entriesRead(client)) - before;
      // The five due events, each found once by its branch and once by id: far from the 300 waiting.
      expect(read).toBeLessThanOrEqual(4 * due.length);
    } finally {
      await client.query('RESET enable_seqscan');
      client.release();
    }
  });

  it('gives two workers fetching at once disjoint events', async () => {
    const first = await db.pool.connect();
    const second = await db.pool.connect();
    try {
      await first.query('BEGIN');
      await second.query('BEGIN');
      const a = await lockDuePspEvents(first, 2);
      const b = await lockDuePspEvents(second, 32);
      expect(a).toHaveLength(2);
      const ids = [...a, ...b].map((event) => event.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(b.length).toBeGreaterThan(0);
    } finally {
      await first.query('ROLLBACK');
      await second.query('ROLLBACK');
      first.release();
      second.release();
    }
  });
});

/** The background sweep's look (`anyDuePspEvent`) reads the same two ranges as the fetch (migration 0370). */
describe('the sweep’s look for due PSP events', () => {
  let own: TestDatabase;
  beforeAll(async () => {
    own = await createTestDatabase({ poolSize: 2 });
  });
  afterAll(async () => {
    await own.drop();
  });
  const insert = async (id: string, receivedAgo: string, nextAttemptIn: string | null) =>
    await own.pool.query(
      `INSERT INTO payins.psp_events (psp, event_id, event_type, payload, received_at, next_attempt_at)
       VALUES ('stripe', $1, 'charge.succeeded', '{}', now() - $2::interval, now() + $3::interval)`,
      [id, receivedAgo, nextAttemptIn],
    );

  it('sees nothing when every event is too young or still waiting', async () => {
    await insert('evt_young', '1 second', null);
    await insert('evt_waiting', '10 minutes', '1 hour');
    expect(await anyDuePspEvent(own.pool, 60_000)).toBe(false);
  });

  it('sees an event never put off once it is old enough', async () => {
    expect(await anyDuePspEvent(own.pool, 500)).toBe(true);
  });

  it('sees a waiting event once its time has come', async () => {
    await own.pool.query(`DELETE FROM payins.psp_events WHERE event_id = 'evt_young'`);
    expect(await anyDuePspEvent(own.pool, 60_000)).toBe(false);
    await own.pool.query(
      `UPDATE payins.psp_events SET next_attempt_at = now() - interval '1 second' WHERE event_id = 'evt_waiting'`,
    );
    expect(await anyDuePspEvent(own.pool, 60_000)).toBe(true);
  });
});
