import { afterAll, beforeAll, expect, it } from 'vitest';
import { JobQueue } from '../../src/jobs/queue.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { waitFor } from '../support/payins.ts';

let db: TestDatabase;
let jobs: JobQueue;

beforeAll(async () => {
  db = await createTestDatabase();
  jobs = new JobQueue(db.pool, ['drain-test']);
  await jobs.start();
});

afterAll(async () => {
  await jobs?.stop();
  await db?.drop();
});

it('a worker drains a backlog back to back instead of one job per polling interval', async () => {
  const count = 12;
  for (let i = 0; i < count; i++) await jobs.send(db.pool, 'drain-test', { n: i });
  const done: number[] = [];
  const started = Date.now();
  // One worker polling every 2 s: pg-boss alone would need about count × 2 s for the backlog.
  const ids = await jobs.work<{ n: number }>(
    'drain-test',
    { concurrency: 1, pollingIntervalSeconds: 2 },
    async (data) => {
      done.push(data.n);
    },
  );
  try {
    await waitFor(async () => (done.length === count ? true : undefined), 8_000, 'the backlog to drain');
    expect(Date.now() - started).toBeLessThan(8_000);
    expect([...done].sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
  } finally {
    await jobs.offWork(ids);
  }
});
