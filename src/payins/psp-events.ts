import type { PoolClient } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { forEachIsolated, loopGuard } from '../jobs/loops.ts';
import type { PspEvent } from '../psp/index.ts';
import { PSP_EVENT_QUEUE, type PayinsRuntime } from './runtime.ts';
import { recordPspEventFailure } from './event-failures.ts';
import { transitionDeps } from './service.ts';
import { lookUpFeeForSuccess, type FeeLookup, type FeeSubject } from './psp-fee.ts';
import type { StoredPspEvent } from './ports.ts';
import { settleCheckout, settleOrder, type PspOutcome } from './settle.ts';
import { getCheckoutBySession } from './store.ts';
import { anyDuePspEvent, getPspEvent, markPspEventProcessed } from './work-store.ts';
import { storePspEvent } from './psp-event-intake.ts';
import { claimPspEventBatch } from './psp-event-batch.ts';

/**
 * Stores a verified PSP event once (unique on the PSP's event id): the events table is the queue
 * (psp-event-batch.ts), so nothing else is written, and the events arriving together share one statement and one
 * commit (psp-event-intake.ts). Resolves once the event has committed; the workers' loops are woken then (they
 * also poll). Returns false for a duplicate, which is acknowledged and otherwise ignored.
 */
export async function recordPspEvent(runtime: PayinsRuntime, psp: string, event: PspEvent): Promise<boolean> {
  return await storePspEvent(runtime, psp, event);
}

/** What an event says, for which subject: a hosted session (the whole checkout) or one saved-method order. */
export type EventMeaning =
  | { subject: 'session'; sessionId: string; outcome: PspOutcome }
  | { subject: 'order'; paymentOrderId: string; outcome: PspOutcome }
  | { subject: 'none'; why: string };

/**
 * What a stored event means for pay-ins, as the PSP's adapter says (the port speaks Bursar; pay-ins never read a
 * PSP's event types or metadata). Refunds, disputes and payouts go to their modules' handlers.
 */
function meaningFor(runtime: PayinsRuntime, type: string, object: Record<string, unknown>): EventMeaning {
  const meaning = runtime.psp.interpretEvent({ type, object });
  switch (meaning.subject) {
    case 'session':
    case 'order':
    case 'none':
      return meaning;
    default:
      return { subject: 'none', why: `not a pay-in event: ${type}` };
  }
}

/** Refund, dispute and payout events, handed to the handler their module registered (in this transaction). */
async function dispatchOther(
  runtime: PayinsRuntime,
  client: PoolClient,
  event: StoredPspEvent,
): Promise<string | undefined> {
  const meaning = runtime.psp.interpretEvent({ type: event.type, object: event.object });
  const handlers = runtime.pspEventHandlers;
  if (meaning.subject === 'refund' && handlers.refund) return await handlers.refund(client, meaning, event);
  if (meaning.subject === 'dispute' && handlers.dispute)
    return await handlers.dispute(client, meaning, event);
  if (meaning.subject === 'payout' && handlers.payout) return await handlers.payout(client, meaning, event);
  return undefined;
}

/**
 * An event as a batch read it (under its row lock, unprocessed then), so that processing it needs no read before
 * its transaction; the transaction still locks the row and checks that it is unprocessed.
 */
export interface KnownPspEvent {
  type: string;
  object: Record<string, unknown>;
}

/**
 * Processes one stored event (the worker's job). The outcome and `processed_at` commit with the status changes;
 * a duplicate or out-of-order event changes nothing more, because the state machine never moves backwards.
 */
export async function processPspEvent(
  runtime: PayinsRuntime,
  eventRowId: bigint,
  known?: KnownPspEvent,
): Promise<string> {
  const deps = transitionDeps(runtime);
  const fee = await feeOfEvent(runtime, eventRowId, known);
  return await withTransaction(runtime.ctx.pool, async (client: PoolClient) => {
    const row = await getPspEvent(client, eventRowId, { forUpdate: true });
    if (!row) return 'not_found';
    if (row.processed_at !== null) return 'already_processed';
    const meaning = withFee(meaningFor(runtime, row.event_type, row.payload.object ?? {}), fee);
    let outcome: string;
    if (meaning.subject === 'session') {
      const checkout = await getCheckoutBySession(client, meaning.sessionId);
      if (!checkout) outcome = `no checkout for session ${meaning.sessionId}`;
      else {
        const results = await settleCheckout(client, deps, checkout.checkoutId, meaning.outcome, {
          details: { settled_by: 'webhook' },
        });
        outcome = `${meaning.outcome.kind}: ${results.filter((result) => result.applied).length} order(s) moved`;
      }
    } else if (meaning.subject === 'order') {
      const result = await settleOrder(client, deps, meaning.paymentOrderId, meaning.outcome, {
        details: { settled_by: 'webhook' },
      });
      outcome = `${meaning.outcome.kind}: ${result.applied ? 'moved' : result.why}`;
    } else {
      const object = row.payload.object ?? {};
      const handled = await dispatchOther(runtime, client, {
        id: row.event_id,
        type: row.event_type,
        object,
      });
      outcome = handled ?? `ignored: ${meaning.why}`;
    }
    if (outcome.startsWith('ignored') || outcome.startsWith('no checkout')) {
      deps.log.warn(
        { eventRowId: eventRowId.toString(), eventType: row.event_type, outcome },
        'PSP event ignored',
      );
    }
    await markPspEventProcessed(client, eventRowId, outcome.slice(0, 500));
    return outcome;
  });
}

/**
 * The PSP's fee for a success event not processed yet, fetched outside any transaction (psp-fee.ts): `none` for
 * any other event or an event processed already; `unavailable` when the PSP failed transiently, so that the
 * settling transaction marks the fee pending for the worker's follow-up.
 */
async function feeOfEvent(
  runtime: PayinsRuntime,
  eventRowId: bigint,
  known: KnownPspEvent | undefined,
): Promise<FeeLookup & { subject?: FeeSubject }> {
  let event = known;
  if (event === undefined) {
    const row = await getPspEvent(runtime.ctx.pool, eventRowId);
    if (!row || row.processed_at !== null) return { kind: 'none' };
    event = { type: row.event_type, object: row.payload.object ?? {} };
  }
  const meaning = meaningFor(runtime, event.type, event.object);
  if (meaning.subject === 'none' || meaning.outcome.kind !== 'succeeded') return { kind: 'none' };
  if (meaning.outcome.fee !== undefined) return { kind: 'fee', fee: meaning.outcome.fee };
  const subject: FeeSubject =
    meaning.subject === 'session'
      ? { subject: 'session', sessionId: meaning.sessionId, paymentId: meaning.outcome.paymentId }
      : { subject: 'order', paymentOrderId: meaning.paymentOrderId, paymentId: meaning.outcome.paymentId };
  return { ...(await lookUpFeeForSuccess(runtime, subject)), subject };
}

function withFee(meaning: EventMeaning, found: FeeLookup & { subject?: FeeSubject }): EventMeaning {
  if (meaning.subject === 'none' || meaning.outcome.kind !== 'succeeded') return meaning;
  if (found.kind === 'fee') return { ...meaning, outcome: { ...meaning.outcome, fee: found.fee } };
  if (found.kind === 'unavailable' && found.subject !== undefined)
    return { ...meaning, outcome: { ...meaning.outcome, feePending: found.subject } };
  return meaning;
}

/**
 * The background sweep's step (the worker's tick): one batch of events stored at least `olderThanMs` ago and still
 * due — which the PSP event loop would normally have taken long before — then each event of it that has work
 * processed on its own. One event that cannot be processed is logged, counted and, after its attempts,
 * dead-lettered; the rest go on. Returns how many events the batch took.
 */
export async function processPendingEvents(
  runtime: PayinsRuntime,
  olderThanMs: number,
  limit = 100,
): Promise<number> {
  if (!(await anyDuePspEvent(runtime.ctx.pool, olderThanMs))) return 0;
  const guard = loopGuard(runtime.ctx);
  const batch = await claimPspEventBatch(runtime, guard, {
    limit,
    leaseMs: PSP_EVENT_LEASE_MS,
    olderThanMs,
  });
  await forEachIsolated(
    guard,
    'psp_events',
    batch.work,
    (event) => ({ eventRowId: event.id.toString() }),
    async (event) => {
      await processPspEventRecordingFailure(runtime, event.id, event);
    },
  );
  return batch.claimed;
}

/**
 * How long events taken for processing on their own are kept from other workers: far longer than processing one
 * takes (a fee look-up at the PSP included); a worker killed meanwhile leaves them due again after it.
 */
export const PSP_EVENT_LEASE_MS = 60_000;

/** `processPspEvent`, with a failure recorded on the event (and dead-lettered after its attempts), then rethrown. */
export async function processPspEventRecordingFailure(
  runtime: PayinsRuntime,
  eventRowId: bigint,
  known?: KnownPspEvent,
): Promise<string> {
  try {
    return await processPspEvent(runtime, eventRowId, known);
  } catch (error) {
    const failure = await recordPspEventFailure(runtime.ctx.pool, PSP_EVENT_QUEUE, eventRowId, error);
    if (failure.letter) {
      runtime.metrics.deadLetters.inc({ queue: PSP_EVENT_QUEUE });
      runtime.ctx.log.warn(
        { eventRowId: eventRowId.toString() },
        'PSP event processing exhausted: dead-lettered',
      );
    }
    throw error;
  }
}

export { PSP_EVENT_QUEUE };
