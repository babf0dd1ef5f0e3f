import { loopGuard, type LoopGuard } from '../jobs/loops.ts';
import { Wakeups } from '../jobs/wakeups.ts';
import type { Logger } from '../log.ts';
import { claimPspEventBatch, type LeasedPspEvent } from './psp-event-batch.ts';
import { PSP_EVENT_LEASE_MS, processPspEventRecordingFailure } from './psp-events.ts';
import { PSP_EVENT_CHANNEL, type PayinsRuntime } from './runtime.ts';
import { releasePspEventLeases } from './work-store.ts';

/** Events one batch takes (locks, classifies, marks) at most. */
export const PSP_EVENT_BATCH = 500;
/** Events processed on their own at once per worker process (each its own transaction, maybe a PSP call). */
export const PSP_EVENT_CONCURRENCY = 16;
/**
 * Leased events a loop holds at most, waiting for a slot: enough that batches go on marking the events that change
 * nothing while those with work are processed, few enough that they are all started long before their lease ends.
 */
export const PSP_EVENT_MAX_QUEUED = 256;

/**
 * A worker process's PSP event loop, over the events table itself (no job per event): it takes due events in
 * batches (psp-event-batch.ts: those that change nothing are marked processed in the batch's transaction), and
 * processes the batch's other events each in its own transaction, up to `PSP_EVENT_CONCURRENCY` at a time, while
 * the next batches go on (up to `PSP_EVENT_MAX_QUEUED` leased events waiting). It is woken by
 * `NOTIFY bursar_payins_psp_event` (sent after the webhook's insert commits), when its queue of leased events runs
 * low, when an event it put off (its order's charge in flight, see psp-event-batch.ts) falls due, and every
 * `claimPollMs` (retries that fell due, leases that ended, a lost notification).
 */
export class PspEventLoop {
  /** The last drain stopped because enough leased events were waiting: a finishing one wakes the loop. */
  private full = false;
  private inflight = 0;
  private readonly queue: LeasedPspEvent[] = [];
  /** Wakes the loop when the earliest event put off while its order was being charged falls due. */
  private deferralTimer: { at: number; handle: NodeJS.Timeout } | undefined;
  private readonly wakeups: Wakeups;
  private readonly log: Logger;
  private readonly guard: LoopGuard;

  constructor(
    private readonly runtime: PayinsRuntime,
    private readonly options: { batch?: number; concurrency?: number; leaseMs?: number } = {},
  ) {
    this.log = runtime.ctx.log;
    this.guard = loopGuard(runtime.ctx);
    this.wakeups = new Wakeups({
      pool: runtime.ctx.pool,
      channel: PSP_EVENT_CHANNEL,
      name: 'payins-psp-event',
      pollMs: runtime.config.claimPollMs,
      gatherMs: runtime.config.gatherMs,
      log: this.log,
      drain: () => this.drain(),
    });
  }

  private get concurrency(): number {
    return this.options.concurrency ?? PSP_EVENT_CONCURRENCY;
  }

  private get stopped(): boolean {
    return this.wakeups.isStopped;
  }

  async start(): Promise<void> {
    await this.wakeups.start();
  }

  /** Stops taking events; leased events not started yet are given back (due again at once, for any worker). */
  async stop(): Promise<void> {
    await this.wakeups.stop();
    if (this.deferralTimer) clearTimeout(this.deferralTimer.handle);
    this.deferralTimer = undefined;
    const waiting = this.queue.splice(0).map((event) => event.id);
    if (waiting.length > 0)
      await releasePspEventLeases(this.runtime.ctx.pool, waiting).catch((error: unknown) =>
        this.log.warn({ err: error }, 'PSP event loop: giving leases back failed; they end on their own'),
      );
  }

  /** Waits for the events being processed to finish. */
  async flush(): Promise<void> {
    while (this.inflight > 0 || this.wakeups.isDraining)
      await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /** Runs a drain now, or right after the one running. */
  wake(): void {
    this.wakeups.wake();
  }

  private async drain(): Promise<void> {
    const batch = this.options.batch ?? PSP_EVENT_BATCH;
    for (;;) {
      if (this.stopped) return;
      const room = PSP_EVENT_MAX_QUEUED - this.queue.length;
      if (room <= 0) {
        this.full = true;
        return;
      }
      const taken = await claimPspEventBatch(this.runtime, this.guard, {
        limit: batch,
        leaseMs: this.options.leaseMs ?? PSP_EVENT_LEASE_MS,
        maxWork: room,
        deferMs: this.runtime.config.pspEventDeferMs,
      });
      if (taken.deferredUntil !== undefined) this.wakeAt(taken.deferredUntil);
      if (this.stopped) {
        // Stopped meanwhile: the batch's leased events go back at once rather than when their lease ends.
        const ids = taken.work.map((event) => event.id);
        if (ids.length > 0) await releasePspEventLeases(this.runtime.ctx.pool, ids);
        return;
      }
      this.queue.push(...taken.work);
      this.pump();
      if (taken.claimed < batch) return;
    }
  }

  /**
   * Wakes the loop at `due` (a deferred event falls due), unless an earlier wake-up is already set; a gathering
   * window later (`BURSAR_PAYINS_GATHER_MS`), so that events put off one after another are taken together.
   */
  private wakeAt(due: Date): void {
    const at = due.getTime();
    if (this.stopped || (this.deferralTimer !== undefined && this.deferralTimer.at <= at)) return;
    if (this.deferralTimer) clearTimeout(this.deferralTimer.handle);
    const handle = setTimeout(
      () => {
        this.deferralTimer = undefined;
        this.wake();
      },
      Math.max(0, at - Date.now()) + Math.max(5, this.runtime.config.gatherMs),
    );
    handle.unref();
    this.deferralTimer = { at, handle };
  }

  /** Starts leased events on their own, up to the concurrency. */
  private pump(): void {
    while (!this.stopped && this.inflight < this.concurrency) {
      const event = this.queue.shift();
      if (event === undefined) return;
      this.inflight++;
      void this.processOne(event).finally(() => {
        this.inflight--;
        this.pump();
        if (this.full && this.queue.length < PSP_EVENT_MAX_QUEUED / 2) {
          this.full = false;
          this.wake();
        }
      });
    }
  }

  private async processOne(event: LeasedPspEvent): Promise<void> {
    try {
      await processPspEventRecordingFailure(this.runtime, event.id, event);
    } catch (error) {
      // Recorded on the event (retried after a backoff, dead-lettered after its attempts); the others go on.
      this.guard.failures.inc({ loop: 'psp_events' });
      this.log.error({ err: error, loop: 'psp_events', eventRowId: event.id.toString() }, 'PSP event failed');
    }
  }
}
