import type { Pool, Queryable } from './pool.ts';
import { afterCommit, transactionPool } from './tx.ts';

/**
 * Wake-ups (`NOTIFY`) sent after a transaction commits, not inside it.
 *
 * A transaction that NOTIFYs takes PostgreSQL's one global notify lock before its commit and holds it until the
 * commit is durable, so every notifying transaction in the cluster waits for the previous one's WAL flush: their
 * commits are serialized and group commit is lost (measured with pgbench on this machine, 16 clients inserting a
 * row: 2,412 tps without a NOTIFY, 796 with one in the transaction, 1,606 with the NOTIFY in its own transaction
 * after the commit). Here the insert commits first and the wake-up follows in a transaction of its own with
 * `synchronous_commit = off` (the lock is held only while the notification is queued, not across a disk flush),
 * and wake-ups of one channel are coalesced per pool: while one is in flight, any number of further calls send
 * exactly one more afterwards.
 *
 * A wake-up is a hint. Every listener also polls, so a wake-up lost to a crash between the commit and the NOTIFY,
 * or to a failed NOTIFY, only delays the work until the next poll; nothing is lost.
 */
export async function notifyAfterCommit(db: Queryable, channel: string): Promise<void> {
  const pool = transactionPool(db) ?? (isPool(db) ? db : undefined);
  if (pool === undefined) {
    // A connection whose transaction is not `withTransaction`'s: no commit to wait for, so NOTIFY in it.
    await db.query(`SELECT pg_notify($1, '')`, [channel]);
    return;
  }
  afterCommit(db, () => wakerFor(pool).wake(channel));
}

interface ChannelState {
  inFlight: boolean;
  again: boolean;
}

class Waker {
  private readonly channels = new Map<string, ChannelState>();

  constructor(private readonly pool: Pool) {}

  wake(channel: string): void {
    let state = this.channels.get(channel);
    if (state === undefined) {
      state = { inFlight: false, again: false };
      this.channels.set(channel, state);
    }
    if (state.inFlight) {
      state.again = true;
      return;
    }
    void this.send(channel, state);
  }

  private async send(channel: string, state: ChannelState): Promise<void> {
    state.inFlight = true;
    do {
      state.again = false;
      try {
        // One statement, its own transaction: the setting is local to it and read at its commit.
        await this.pool.query(`SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, '')`, [
          channel,
        ]);
      } catch {
        // A hint only: the listeners poll (see the module comment). A closed pool ends the loop.
        state.again = false;
      }
    } while (state.again);
    state.inFlight = false;
  }
}

const wakers = new WeakMap<Pool, Waker>();

function wakerFor(pool: Pool): Waker {
  let waker = wakers.get(pool);
  if (waker === undefined) {
    waker = new Waker(pool);
    wakers.set(pool, waker);
  }
  return waker;
}

function isPool(db: Queryable): db is Pool {
  return (
    typeof (db as Partial<Pool>).connect === 'function' && typeof (db as Partial<Pool>).end === 'function'
  );
}
