import type { PoolClient } from '../db/pool.ts';
import { afterCommit, withTransaction } from '../db/tx.ts';
import type { LoopGuard } from '../jobs/loops.ts';
import type { PspEventMeaning } from '../psp/index.ts';
import { recordPspEventFailureIn } from './event-failures.ts';
import { PSP_EVENT_QUEUE, type PayinsRuntime } from './runtime.ts';
import { eventOf, type PspOutcome } from './settle.ts';
import { transition, type OrderStatus } from './state-machine.ts';
import {
  deferPspEvents,
  leasePspEvents,
  lockDuePspEvents,
  markPspEventsProcessed,
  orderStatusesOf,
  sessionOrderStatusesOf,
  type ClaimedPspEvent,
  type OrderState,
} from './work-store.ts';

/**
 * PSP events in batches: the events table is the queue. One transaction locks a batch of due events (`FOR UPDATE
 * SKIP LOCKED`, oldest first), reads the orders they are about in one query, and marks processed together every
 * event that changes nothing — one pay-ins do not act on (`charge.succeeded`, `payment_intent.created`…), or one
 * whose orders are already in the state it says (a late or repeated success for a settled order) — with the outcome
 * text processing it alone would have stored. The others (an order to move, a refund, dispute or payout event for
 * its module's handler, anything unusual) are leased to the caller, which processes each in its own transaction
 * (`processPspEvent`): a money-moving event never holds the ledger's accounts across other events, and one that
 * fails is recorded, retried and dead-lettered alone.
 *
 * An event about a saved-method order the executor is charging right now (EXECUTING, its attempt in flight) is put
 * off, for at most `deferMs` after it arrived (no attempt counted): the executor settles that order a moment later,
 * after which the event changes nothing and a batch marks it; processed at once, it would settle the order in a
 * transaction of its own racing the executor's settle batch for the same order and the ledger's accounts.
 *
 * Exactly once: an event is processed when `processed_at` commits with its effects; a crash before the batch
 * commits leaves the whole batch due, and one after it leaves only the leased events, due again when their lease
 * ends, whose processing finds any event done meanwhile (`already_processed`, under the row lock).
 */

export interface PspEventBatch {
  /** Events locked by the batch. */
  claimed: number;
  /** Marked processed by the batch: they changed nothing. */
  unchanged: number;
  /** Events whose marking failed: recorded on the event (attempts, backoff, dead letter), the others unaffected. */
  failed: number;
  /** Put off while their order's charge is in flight (see the module comment). */
  deferred: number;
  /** The earliest time a deferred event is due again, when any was deferred. */
  deferredUntil?: Date;
  /** Leased to the caller, each to be processed in its own transaction, oldest first. */
  work: LeasedPspEvent[];
}

/** An event leased to the caller: its row id, and its type and object as read (`processPspEvent`'s `known`). */
export interface LeasedPspEvent {
  id: bigint;
  type: string;
  object: Record<string, unknown>;
}

export interface BatchOptions {
  limit: number;
  /** How long the leased events are kept from other workers (a worker that dies frees them after this). */
  leaseMs: number;
  /** Only events stored at least this long ago (the background sweep's grace); 0 for all. */
  olderThanMs?: number;
  /**
   * At most this many events are leased (the caller's room); further events with work are left due, untouched,
   * for a later batch, while the batch still marks every event that changes nothing. Unbounded by default.
   */
  maxWork?: number;
  /** How long after its arrival an event about an order being charged may be put off; 0 (default) never. */
  deferMs?: number;
}

interface Statuses {
  orders: Map<string, OrderState>;
  sessions: Map<string, OrderStatus[]>;
}

/** Takes one batch of due events; see the module comment. */
export async function claimPspEventBatch(
  runtime: PayinsRuntime,
  guard: LoopGuard,
  options: BatchOptions,
): Promise<PspEventBatch> {
  return await withTransaction(runtime.ctx.pool, async (client) => {
    const deferMs = options.deferMs ?? 0;
    const events = await lockDuePspEvents(client, options.limit, options.olderThanMs ?? 0, deferMs);
    if (events.length === 0) return { claimed: 0, unchanged: 0, failed: 0, deferred: 0, work: [] };
    const meanings = events.map((event) => meaningOf(runtime, event));
    const statuses = await statusesOf(client, meanings);
    const unchanged: Array<{ id: bigint; outcome: string; type: string }> = [];
    const work: LeasedPspEvent[] = [];
    const deferred: bigint[] = [];
    const room = options.maxWork ?? Number.POSITIVE_INFINITY;
    events.forEach((event, index) => {
      const outcome = unchangedOutcome(runtime, event, meanings[index], statuses);
      if (outcome !== undefined) unchanged.push({ id: event.id, outcome, type: event.event_type });
      else if (deferMs > 0 && event.deferrable && beingCharged(meanings[index], statuses))
        deferred.push(event.id);
      else if (work.length < room)
        work.push({ id: event.id, type: event.event_type, object: event.object ?? {} });
    });
    const failed = await markUnchanged(client, runtime, guard, unchanged);
    const deferredUntil = await deferPspEvents(client, deferred, deferMs);
    if (work.length > 0)
      await leasePspEvents(
        client,
        work.map((event) => event.id),
        options.leaseMs,
      );
    logIgnored(runtime, unchanged);
    return {
      claimed: events.length,
      unchanged: unchanged.length - failed,
      failed,
      deferred: deferred.length,
      ...(deferredUntil === undefined ? {} : { deferredUntil }),
      work,
    };
  });
}

/** Whether the event is about a saved-method order whose charge the executor has in flight. */
function beingCharged(meaning: PspEventMeaning | undefined, statuses: Statuses): boolean {
  return (
    meaning?.subject === 'order' && statuses.orders.get(meaning.paymentOrderId)?.attemptInFlight === true
  );
}

/** What the PSP's adapter says the event means; undefined when it cannot say (processed alone, and fails there). */
function meaningOf(runtime: PayinsRuntime, event: ClaimedPspEvent): PspEventMeaning | undefined {
  try {
    return runtime.psp.interpretEvent({ type: event.event_type, object: event.object ?? {} });
  } catch {
    return undefined;
  }
}

/** The orders the batch's pay-in events are about, in two queries (saved-method orders; hosted sessions). */
async function statusesOf(
  client: PoolClient,
  meanings: ReadonlyArray<PspEventMeaning | undefined>,
): Promise<Statuses> {
  const orderIds = new Set<string>();
  const sessionIds = new Set<string>();
  for (const meaning of meanings) {
    if (meaning?.subject === 'order') orderIds.add(meaning.paymentOrderId);
    if (meaning?.subject === 'session') sessionIds.add(meaning.sessionId);
  }
  return {
    orders: await orderStatusesOf(client, [...orderIds]),
    sessions: await sessionOrderStatusesOf(client, [...sessionIds]),
  };
}

/** A success that carries the PSP's fee: processed alone, where the fee is booked (once per charge). */
function carriesFee(outcome: PspOutcome): boolean {
  return outcome.kind === 'succeeded' && outcome.fee !== undefined;
}

/** Whether `outcome` leaves an order in `status` as it is (the state machine's no-op). */
function leavesAsIs(status: OrderStatus, outcome: PspOutcome): boolean {
  return transition(status, eventOf(outcome).event).kind === 'noop';
}

/**
 * The outcome an event that changes nothing stores (the text `processPspEvent` would have stored), or undefined
 * when it has to be processed on its own. A success that carries the PSP's fee is processed alone (its fee may
 * still be booked); so is an event about an order or session not found, or that the state machine would refuse.
 * Orders read as final stay so (the state machine never moves a final order), so the decision cannot go stale.
 */
function unchangedOutcome(
  runtime: PayinsRuntime,
  event: ClaimedPspEvent,
  meaning: PspEventMeaning | undefined,
  statuses: Statuses,
): string | undefined {
  if (meaning === undefined) return undefined;
  const handlers = runtime.pspEventHandlers;
  switch (meaning.subject) {
    case 'none':
      return `ignored: ${meaning.why}`;
    case 'refund':
    case 'dispute':
    case 'payout':
      return handlers[meaning.subject] === undefined
        ? `ignored: not a pay-in event: ${event.event_type}`
        : undefined;
    case 'order': {
      const status = statuses.orders.get(meaning.paymentOrderId)?.status;
      const outcome: PspOutcome = meaning.outcome;
      if (status === undefined || carriesFee(outcome)) return undefined;
      return leavesAsIs(status, outcome) ? `${outcome.kind}: noop` : undefined;
    }
    case 'session': {
      const orders = statuses.sessions.get(meaning.sessionId) ?? [];
      const outcome: PspOutcome = meaning.outcome;
      if (orders.length === 0 || carriesFee(outcome)) return undefined;
      return orders.every((status) => leavesAsIs(status, outcome))
        ? `${outcome.kind}: 0 order(s) moved`
        : undefined;
    }
  }
}

/**
 * Marks the events that change nothing processed, in one statement. Should that statement fail (one event the
 * database refuses), each is marked under its own savepoint instead, and one that still fails has the failure
 * recorded on it, in this transaction (attempts, backoff, dead letter after its last attempt), alone.
 */
async function markUnchanged(
  client: PoolClient,
  runtime: PayinsRuntime,
  guard: LoopGuard,
  unchanged: ReadonlyArray<{ id: bigint; outcome: string }>,
): Promise<number> {
  if (unchanged.length === 0) return 0;
  await client.query('SAVEPOINT psp_events_bulk');
  try {
    await markPspEventsProcessed(client, unchanged);
    await client.query('RELEASE SAVEPOINT psp_events_bulk');
    return 0;
  } catch {
    await client.query('ROLLBACK TO SAVEPOINT psp_events_bulk');
  }
  let failed = 0;
  for (const item of unchanged) {
    await client.query('SAVEPOINT psp_event');
    try {
      await markPspEventsProcessed(client, [item]);
      await client.query('RELEASE SAVEPOINT psp_event');
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT psp_event');
      failed++;
      await recordFailure(client, runtime, guard, item.id, error);
    }
  }
  return failed;
}

async function recordFailure(
  client: PoolClient,
  runtime: PayinsRuntime,
  guard: LoopGuard,
  eventRowId: bigint,
  error: unknown,
): Promise<void> {
  const failure = await recordPspEventFailureIn(client, PSP_EVENT_QUEUE, eventRowId, error);
  guard.log.error(
    { err: error, loop: 'psp_events', eventRowId: eventRowId.toString(), attempts: failure.attempts },
    'PSP event failed; it is tried again later',
  );
  afterCommit(client, () => {
    guard.failures.inc({ loop: 'psp_events' });
    if (failure.letter === undefined) return;
    runtime.metrics.deadLetters.inc({ queue: PSP_EVENT_QUEUE });
    guard.log.warn({ eventRowId: eventRowId.toString() }, 'PSP event processing exhausted: dead-lettered');
  });
}

/**
 * Events pay-ins do not act on. The routine ones (a type the adapter does not handle: `charge.succeeded`,
 * `payment_intent.created`…, a third of what a PSP sends) are counted by type in one debug line a batch; any other
 * reason (a payment intent without our metadata, an event no module handles) is a warning per event, as when an
 * event is processed alone.
 */
function logIgnored(
  runtime: PayinsRuntime,
  unchanged: ReadonlyArray<{ id: bigint; outcome: string; type: string }>,
): void {
  const routine: Record<string, number> = {};
  for (const item of unchanged) {
    if (!item.outcome.startsWith('ignored')) continue;
    if (item.outcome.startsWith('ignored: unhandled ')) routine[item.type] = (routine[item.type] ?? 0) + 1;
    else
      runtime.ctx.log.warn(
        { eventRowId: item.id.toString(), eventType: item.type, outcome: item.outcome },
        'PSP event ignored',
      );
  }
  if (Object.keys(routine).length > 0) runtime.ctx.log.debug({ ignored: routine }, 'PSP events ignored');
}
