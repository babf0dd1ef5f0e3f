import { afterAll, beforeAll, expect, it } from 'vitest';
import { dlqCommand } from '../../src/cli/dlq.ts';
import { insertDeadLetter, listDeadLetters } from '../../src/jobs/dead-letters.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { JobQueue } from '../../src/jobs/queue.ts';
import { PAYIN_QUEUES } from '../../src/payins/runtime.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  const jobs = new JobQueue(db.pool, PAYIN_QUEUES);
  await jobs.start();
  await jobs.stop();
});

afterAll(async () => {
  await db.drop();
});

async function run(argv: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await dlqCommand(argv, db, (line) => lines.push(line));
  return { code, lines };
}

it('bursar dlq list shows open dead letters; replay puts each back once, and running it twice is safe', async () => {
  expect((await run(['list'])).lines).toEqual(['the dead-letter queue is empty']);
  const a = await insertDeadLetter(db.pool, {
    queue: 'payins-execute',
    subject: 'po_a',
    payload: { paymentOrderId: 'po_a' },
    reason: 'transient: 503',
    attempts: 6,
  });
  const again = await insertDeadLetter(db.pool, {
    queue: 'payins-execute',
    subject: 'po_a',
    payload: { paymentOrderId: 'po_a' },
    reason: 'x',
    attempts: 7,
  });
  expect(again.id).toBe(a.id);
  await insertDeadLetter(db.pool, {
    queue: 'payins-execute',
    subject: 'po_b',
    payload: { paymentOrderId: 'po_b' },
    reason: 'transient: 429',
    attempts: 6,
  });
  const listed = await run(['list']);
  expect(listed.lines).toHaveLength(2);
  expect(listed.lines[0]).toContain(a.id);

  expect(await run(['replay', a.id])).toEqual({ code: 0, lines: [`replayed ${a.id} (payins-execute po_a)`] });
  expect(await run(['replay', a.id])).toEqual({ code: 0, lines: [`${a.id} was already replayed`] });
  expect((await run(['replay', '--all'])).lines).toHaveLength(1);
  expect((await run(['replay', '--all'])).lines).toEqual(['the dead-letter queue is empty']);
  expect(await listDeadLetters(db.pool)).toEqual([]);
  // The executor's queue is the orders table: its replays queue the order again (src/payins/executor.ts), no job.
  const jobs = await db.pool.query(`SELECT 1 FROM pgboss.job WHERE name = 'payins-execute'`);
  expect(jobs.rowCount).toBe(0);
  expect((await run(['replay', 'dl_missing'])).code).toBe(1);
  expect((await run(['list', '--all'])).lines).toHaveLength(2);
});
