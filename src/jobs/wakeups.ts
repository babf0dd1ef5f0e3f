import pg from 'pg';
import type { Pool } from '../db/pool.ts';
import type { Logger } from '../log.ts';
import { connectionStringOf } from './queue.ts';

export interface WakeupOptions {
  pool: Pool;
  /** The channel the work's writers notify on commit (`notifyAfterCommit`). */
  channel: string;
  /** What the loop is called in logs, and (as `bursar-<name>-wakeup`) its listening connection. */
  name: string;
  /** Polls this often as well: for work that fell due, and for a notification or connection lost. */
  pollMs: number;
  log: Logger;
  /** Takes what is due; never run twice at once. */
  drain: () => Promise<void>;
  /**
   * A notification that finds the loop idle starts its drain this long after it, so the notifications of that
   * window are taken in one drain (one transaction for several rows, instead of one each, when work arrives one
   * row at a time). 0 drains at once. The poll and `wake()` never wait.
   */
  gatherMs?: number;
}

/**
 * When a worker loop takes work: on `NOTIFY <channel>` (over a connection of its own, opened again a second after
 * it is lost; the poll covers the gap), every `pollMs`, and whenever the loop calls `wake()`. A wake-up during a
 * drain runs one more drain right after it, so work that arrived meanwhile is never missed and no two drains
 * overlap.
 */
export class Wakeups {
  private draining = false;
  private again = false;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private gathering: NodeJS.Timeout | undefined;
  private listener: pg.Client | undefined;

  constructor(private readonly options: WakeupOptions) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** A notification opened the gathering window: a drain is due when it closes. */
  get isGathering(): boolean {
    return this.gathering !== undefined;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.listen();
    this.timer = setInterval(() => this.wake(), this.options.pollMs);
    this.timer.unref();
    this.wake();
  }

  /** No more wake-ups; a drain in progress goes on (`whenIdle` waits for it). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.gathering) clearTimeout(this.gathering);
    this.gathering = undefined;
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
  }

  /** Resolves once no drain is running or about to (a gathering window open). */
  async whenIdle(): Promise<void> {
    while (this.draining || this.gathering !== undefined)
      await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /** Runs a drain now, or right after the one running. */
  wake(): void {
    if (this.gathering) clearTimeout(this.gathering);
    this.gathering = undefined;
    if (this.stopped) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = true;
    this.options
      .drain()
      .catch((error: unknown) =>
        this.options.log.warn({ err: error }, `${this.options.name} loop: taking work failed; will retry`),
      )
      .finally(() => {
        this.draining = false;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /**
   * A notification: a drain running takes the work once it is done (as `wake()`); an idle loop waits `gatherMs`
   * for more before its drain (a gathering window already open takes this one too).
   */
  private notified(): void {
    const gatherMs = this.options.gatherMs ?? 0;
    if (gatherMs <= 0 || this.draining) {
      this.wake();
      return;
    }
    if (this.gathering || this.stopped) return;
    this.gathering = setTimeout(() => this.wake(), gatherMs);
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: connectionStringOf(this.options.pool),
      application_name: `bursar-${this.options.name}-wakeup`,
    });
    const retry = () => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => undefined);
      setTimeout(() => void this.listen().catch(() => undefined), 1_000).unref();
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', () => this.notified());
    this.listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${this.options.channel}`);
    } catch (error) {
      this.options.log.warn(
        { err: error },
        `${this.options.name} loop: LISTEN failed; polling until it is back`,
      );
      retry();
    }
  }
}
