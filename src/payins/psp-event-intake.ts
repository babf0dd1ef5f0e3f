import type { PspEvent } from '../psp/index.ts';
import { notifyAfterCommit } from '../db/notify.ts';
import { PSP_EVENT_CHANNEL, type PayinsRuntime } from './runtime.ts';
import { insertPspEvent, insertPspEvents, type IncomingPspEvent } from './work-store.ts';

/** Most events in one statement. */
const INTAKE_BATCH = 256;
/** Statements in flight at once: one gathers while the other waits for its commit's WAL flush. */
const IN_FLIGHT = 2;

interface PendingEvent extends IncomingPspEvent {
  resolve: (stored: boolean) => void;
  reject: (error: unknown) => void;
}

export interface PspEventIntakeStats {
  batches: number;
  events: number;
  largestBatch: number;
  /** Batches PostgreSQL refused as a whole, whose events were then stored one by one. */
  fallbacks: number;
}

/**
 * Group commit of the webhook route's one write. Verified events that arrive while earlier ones are being stored
 * are stored together, in one statement and one commit (`insertPspEvents`), instead of a commit each: under load
 * the webhooks of many charges arrive within the same WAL flush. An idle intake starts at once (on the next turn
 * of the event loop, so that requests read in the same turn join), so a lone webhook waits for nothing.
 *
 * Each caller's promise settles after the commit that made its event durable: the route answers 200 only then,
 * as before. One event PostgreSQL refuses fails its batch's statement; the batch's events are then stored one by
 * one, so that event fails alone and the others are stored. (The HTTP body checks refuse what PostgreSQL could not
 * store, such as a `\u0000`, before the route runs: this is the second line.)
 * Two deliveries of one event in one batch: the first is stored, the second is answered as a duplicate.
 */
class PspEventIntake {
  private queue: PendingEvent[] = [];
  private inFlight = 0;
  private scheduled = false;
  readonly stats: PspEventIntakeStats = { batches: 0, events: 0, largestBatch: 0, fallbacks: 0 };

  constructor(private readonly runtime: PayinsRuntime) {}

  record(psp: string, event: PspEvent): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ psp, event, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.scheduled || this.inFlight >= IN_FLIGHT || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.start();
    });
  }

  private start(): void {
    while (this.inFlight < IN_FLIGHT && this.queue.length > 0) {
      const batch = this.queue.splice(0, INTAKE_BATCH);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.kick();
      });
    }
  }

  private async run(batch: PendingEvent[]): Promise<void> {
    this.count(batch.length);
    let stored: Array<{ psp: string; eventId: string }>;
    try {
      stored = await insertPspEvents(this.runtime.ctx.pool, batch);
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.reject(error);
        return;
      }
      this.stats.fallbacks++;
      this.runtime.ctx.log.warn(
        { err: error, events: batch.length },
        'storing a batch of PSP events failed as a whole; storing each on its own',
      );
      // One at a time, as the settler falls back: a batch of 256 at once would take every pooled connection.
      for (const item of batch) await this.alone(item);
      return;
    }
    const fresh = new Set(stored.map((row) => keyOf(row.psp, row.eventId)));
    // The first delivery of each stored event is the one that stored it; the rest are duplicates.
    for (const item of batch) item.resolve(fresh.delete(keyOf(item.psp, item.event.id)));
    if (stored.length > 0) await this.wake();
  }

  private async alone(item: PendingEvent): Promise<void> {
    try {
      const id = await insertPspEvent(this.runtime.ctx.pool, item.psp, item.event);
      item.resolve(id !== undefined);
      if (id !== undefined) await this.wake();
    } catch (error) {
      item.reject(error);
    }
  }

  /** The workers' PSP-event loops are woken once the events have committed (coalesced; they also poll). */
  private async wake(): Promise<void> {
    await notifyAfterCommit(this.runtime.ctx.pool, PSP_EVENT_CHANNEL);
  }

  private count(size: number): void {
    this.stats.batches++;
    this.stats.events += size;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, size);
  }
}

function keyOf(psp: string, eventId: string): string {
  return JSON.stringify([psp, eventId]);
}

const intakes = new WeakMap<PayinsRuntime, PspEventIntake>();

function intakeOf(runtime: PayinsRuntime): PspEventIntake {
  let intake = intakes.get(runtime);
  if (intake === undefined) {
    intake = new PspEventIntake(runtime);
    intakes.set(runtime, intake);
  }
  return intake;
}

/** Stores a verified event with the others arriving meanwhile (see `PspEventIntake`); false for a duplicate. */
export function storePspEvent(runtime: PayinsRuntime, psp: string, event: PspEvent): Promise<boolean> {
  return intakeOf(runtime).record(psp, event);
}

/** What this process's intake has done so far (batches, their sizes, fallbacks). */
export function pspEventIntakeStats(runtime: PayinsRuntime): PspEventIntakeStats {
  return { ...intakeOf(runtime).stats };
}
