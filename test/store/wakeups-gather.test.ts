import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { Wakeups } from '../../src/jobs/wakeups.ts';
import { createLogger } from '../../src/log.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { waitFor } from '../support/payins.ts';

/**
 * A worker loop's wake-ups with a gathering window: a notification that finds the loop idle opens the window, and
 * the drain after it takes every row notified meanwhile, in one drain instead of one each. The poll here is a
 * minute, far beyond the test: every drain seen was started by a notification or by `wake()`.
 */
const CHANNEL = 'bursar_test_gather';
let db: TestDatabase;
let wakeups: Wakeups | undefined;

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 4 });
  await db.pool.query('CREATE TABLE public.gather_work (id int PRIMARY KEY)');
});

afterEach(async () => {
  await wakeups?.stop();
  wakeups = undefined;
  await db.pool.query('TRUNCATE public.gather_work');
});

afterAll(async () => {
  await db.drop();
});

/** Wake-ups whose drain records how many rows each drain found. */
async function started(gatherMs: number): Promise<{ wakeups: Wakeups; drains: number[] }> {
  const drains: number[] = [];
  const made = new Wakeups({
    pool: db.pool,
    channel: CHANNEL,
    name: 'test-gather',
    pollMs: 60_000,
    gatherMs,
    log: createLogger('silent'),
    drain: async () => {
      const found = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM public.gather_work');
      drains.push(found.rows[0]?.n ?? -1);
    },
  });
  await made.start();
  // start() drains once at once; the tests count the drains after that one.
  await waitFor(async () => (drains.length === 1 && !made.isDraining ? true : undefined));
  drains.length = 0;
  wakeups = made;
  return { wakeups: made, drains };
}

/** One row inserted and notified in a transaction of its own, as a checkout's POST does. */
async function arrive(id: number): Promise<void> {
  await db.pool.query(
    `WITH w AS (INSERT INTO public.gather_work (id) VALUES ($1)) SELECT pg_notify('${CHANNEL}', $1::text)`,
    [id],
  );
}

it('rows notified one at a time while the loop is idle are taken in one drain after the gathering window', async () => {
  const { wakeups: w, drains } = await started(3_000);
  await arrive(1);
  // The first notification opened the window (the loop did not drain at once).
  await waitFor(async () => (w.isGathering || drains.length > 0 ? true : undefined));
  expect(drains).toEqual([]);
  await arrive(2);
  await arrive(3);
  await waitFor(async () => (drains.length > 0 ? true : undefined), 20_000, 'the drain after the window');
  expect(drains).toEqual([3]);
});

it('without a window each notification that finds the loop idle is drained at once', async () => {
  const { wakeups: w, drains } = await started(0);
  await arrive(1);
  await waitFor(async () => (drains.length === 1 && !w.isDraining ? true : undefined));
  await arrive(2);
  await waitFor(async () => (drains.length === 2 && !w.isDraining ? true : undefined));
  expect(drains).toEqual([1, 2]);
});

it('wake() never waits for an open window: the drain runs at once and the window closes', async () => {
  const { wakeups: w, drains } = await started(60_000);
  await arrive(1);
  await waitFor(async () => (w.isGathering ? true : undefined));
  w.wake();
  await waitFor(async () => (drains.length === 1 && !w.isDraining ? true : undefined), 10_000);
  expect(drains).toEqual([1]);
  expect(w.isGathering).toBe(false);
});
