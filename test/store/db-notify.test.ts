import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifyAfterCommit } from '../../src/db/notify.ts';
import type { PoolClient } from '../../src/db/pool.ts';
import { withTransaction } from '../../src/db/tx.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { waitFor } from '../support/payins.ts';

const until = (condition: () => boolean) => waitFor(async () => (condition() ? true : undefined));

let db: TestDatabase;
let listener: PoolClient;
const heard: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  listener = await db.pool.connect();
  listener.on('notification', (message) => heard.push(message.channel));
  await listener.query('LISTEN notify_test_a');
  await listener.query('LISTEN notify_test_b');
});
afterAll(async () => {
  listener.release();
  await db.drop();
});

/** A round trip on the listening connection, so notifications already sent to it have been read. */
async function drained(): Promise<void> {
  await listener.query('SELECT 1');
}

describe('notifyAfterCommit', () => {
  it('wakes listeners only after the transaction commits, and never for one that rolls back', async () => {
    heard.length = 0;
    await withTransaction(db.pool, async (client) => {
      await notifyAfterCommit(client, 'notify_test_a');
      await drained();
      expect(heard).toEqual([]);
    });
    await until(() => heard.includes('notify_test_a'));

    heard.length = 0;
    await expect(
      withTransaction(db.pool, async (client) => {
        await notifyAfterCommit(client, 'notify_test_b');
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    // A committed wake-up on the other channel sent afterwards arrives; the rolled-back one never does.
    await notifyAfterCommit(db.pool, 'notify_test_a');
    await until(() => heard.includes('notify_test_a'));
    await drained();
    expect(heard).not.toContain('notify_test_b');
  });

  it('coalesces a burst of wake-ups on one channel: one NOTIFY in flight and exactly one more after it', async () => {
    heard.length = 0;
    // Outside a transaction each call wakes at once; the first starts a NOTIFY, the other 49 only ask for one more.
    for (let i = 0; i < 50; i++) await notifyAfterCommit(db.pool, 'notify_test_b');
    await until(() => heard.filter((channel) => channel === 'notify_test_b').length >= 2);
    await notifyAfterCommit(db.pool, 'notify_test_a');
    await until(() => heard.includes('notify_test_a'));
    expect(heard.filter((channel) => channel === 'notify_test_b')).toHaveLength(2);
  });
});
