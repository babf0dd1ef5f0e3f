import type { PoolClient } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { forEachIsolated, loopGuard } from '../jobs/loops.ts';
import type { PspEvent } from '../psp/port.ts';
import { PSP_EVENT_QUEUE, type PayinsRuntime } from './runtime.ts';
import { recordPspEventFailure } from './event-failures.ts';
import { transitionDeps } from './service.ts';
import { fetchFeeForSuccess } from './psp-fee.ts';
import { settleCheckout, settleOrder, type PspFeeFacts, type PspOutcome } from './settle.ts';
import { getCheckoutBySession } from './store.ts';

/**
 * Stores a verified PSP event once (unique on the PSP's event id) and enqueues its processing, in one transaction.
 * Returns false for a duplicate, which is acknowledged and otherwise ignored.
 */
export async function recordPspEvent(runtime: PayinsRuntime, psp: string, event: PspEvent): Promise<boolean> {
  return await withTransaction(runtime.ctx.pool, async (client) => {
    const inserted = await client.query<{ id: bigint }>(
      `INSERT INTO payins.psp_events (psp, event_id, event_type, payload) VALUES ($1, $2, $3, $4)
       ON CONFLICT (psp, event_id) DO NOTHING RETURNING id`,
      [
        psp,
        event.id,
        event.type,
        JSON.stringify({
          id: event.id,
          type: event.type,
          created_at: event.createdAt.toISOString(),
          object: event.object,
        }),
      ],
    );
    const row = inserted.rows[0];
    if (!row) return false;
    await runtime.jobs.send(client, PSP_EVENT_QUEUE, { eventRowId: row.id.toString() });
    return true;
  });
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function metadataOf(object: Record<string, unknown>): Record<string, unknown> {
  const metadata = object.metadata;
  return typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>) : {};
}

/** What an event says, for which subject: a hosted session (the whole checkout) or one saved-method order. */
export type EventMeaning =
  | { subject: 'session'; sessionId: string; outcome: PspOutcome }
  | { subject: 'order'; paymentOrderId: string; outcome: PspOutcome }
  | { subject: 'none'; why: string };

/** Maps a Stripe-shaped event to our outcome. Pure. */
export function interpretEvent(type: string, object: Record<string, unknown>): EventMeaning {
  const paymentId =
    text(object.payment_intent) ?? (type.startsWith('payment_intent.') ? text(object.id) : undefined);
  if (type.startsWith('checkout.session.')) {
    const sessionId = text(object.id);
    if (sessionId === undefined) return { subject: 'none', why: 'session event without an id' };
    switch (type) {
      case 'checkout.session.completed':
        return object.payment_status === 'paid' || object.payment_status === 'no_payment_required'
          ? { subject: 'session', sessionId, outcome: { kind: 'succeeded', paymentId } }
          : {
              subject: 'session',
              sessionId,
              outcome: { kind: 'pending', reason: 'awaiting_async_payment', paymentId },
            };
      case 'checkout.session.async_payment_succeeded':
        return { subject: 'session', sessionId, outcome: { kind: 'succeeded', paymentId } };
      case 'checkout.session.async_payment_failed':
        return {
          subject: 'session',
          sessionId,
          outcome: { kind: 'failed', code: 'async_payment_failed', paymentId },
        };
      case 'checkout.session.expired':
        return { subject: 'session', sessionId, outcome: { kind: 'expired' } };
      default:
        return { subject: 'none', why: `unhandled ${type}` };
    }
  }
  if (type.startsWith('payment_intent.')) {
    const paymentOrderId = text(metadataOf(object).payment_order_id);
    if (paymentOrderId === undefined)
      return { subject: 'none', why: 'payment intent without payment_order_id metadata' };
    const lastError = object.last_payment_error as { code?: unknown; decline_code?: unknown } | undefined;
    switch (type) {
      case 'payment_intent.succeeded':
        return {
          subject: 'order',
          paymentOrderId,
          outcome: { kind: 'succeeded', paymentId, chargeId: text(object.latest_charge) },
        };
      case 'payment_intent.payment_failed':
        return {
          subject: 'order',
          paymentOrderId,
          outcome: {
            kind: 'failed',
            code: text(lastError?.decline_code) ?? text(lastError?.code) ?? 'payment_failed',
            paymentId,
          },
        };
      case 'payment_intent.processing':
        return {
          subject: 'order',
          paymentOrderId,
          outcome: { kind: 'pending', reason: 'psp_processing', paymentId },
        };
      default:
        return { subject: 'none', why: `unhandled ${type}` };
    }
  }
  return { subject: 'none', why: `unhandled ${type}` };
}

/**
 * Processes one stored event (the worker's job). The outcome and `processed_at` commit with the status changes;
 * a duplicate or out-of-order event changes nothing more, because the state machine never moves backwards.
 */
export async function processPspEvent(runtime: PayinsRuntime, eventRowId: bigint): Promise<string> {
  const deps = transitionDeps(runtime);
  const fee = await feeOfEvent(runtime, eventRowId);
  return await withTransaction(runtime.ctx.pool, async (client: PoolClient) => {
    const found = await client.query<{
      event_type: string;
      payload: { object?: Record<string, unknown> };
      processed_at: Date | null;
    }>('SELECT event_type, payload, processed_at FROM payins.psp_events WHERE id = $1 FOR UPDATE', [
      eventRowId,
    ]);
    const row = found.rows[0];
    if (!row) return 'not_found';
    if (row.processed_at !== null) return 'already_processed';
    const meaning = withFee(interpretEvent(row.event_type, row.payload.object ?? {}), fee);
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
      outcome = `ignored: ${meaning.why}`;
    }
    if (outcome.startsWith('ignored') || outcome.startsWith('no checkout')) {
      deps.log.warn(
        { eventRowId: eventRowId.toString(), eventType: row.event_type, outcome },
        'PSP event ignored',
      );
    }
    await client.query('UPDATE payins.psp_events SET processed_at = now(), outcome = $2 WHERE id = $1', [
      eventRowId,
      outcome.slice(0, 500),
    ]);
    return outcome;
  });
}

/**
 * The PSP's fee for a success event not processed yet, fetched outside any transaction (psp-fee.ts); undefined for
 * any other event, an event processed already, or when the PSP cannot say.
 */
async function feeOfEvent(runtime: PayinsRuntime, eventRowId: bigint): Promise<PspFeeFacts | undefined> {
  const found = await runtime.ctx.pool.query<{
    event_type: string;
    payload: { object?: Record<string, unknown> };
    processed_at: Date | null;
  }>('SELECT event_type, payload, processed_at FROM payins.psp_events WHERE id = $1', [eventRowId]);
  const row = found.rows[0];
  if (!row || row.processed_at !== null) return undefined;
  const meaning = interpretEvent(row.event_type, row.payload.object ?? {});
  if (meaning.subject === 'none' || meaning.outcome.kind !== 'succeeded') return undefined;
  if (meaning.outcome.fee !== undefined) return meaning.outcome.fee;
  return await fetchFeeForSuccess(
    runtime,
    meaning.subject === 'session'
      ? { subject: 'session', sessionId: meaning.sessionId, paymentId: meaning.outcome.paymentId }
      : { subject: 'order', paymentOrderId: meaning.paymentOrderId, paymentId: meaning.outcome.paymentId },
  );
}

function withFee(meaning: EventMeaning, fee: PspFeeFacts | undefined): EventMeaning {
  if (fee === undefined || meaning.subject === 'none' || meaning.outcome.kind !== 'succeeded') return meaning;
  return { ...meaning, outcome: { ...meaning.outcome, fee } };
}

/** Events stored but not processed (a lost job, a crash): picked up by the background loop. */
export async function processPendingEvents(
  runtime: PayinsRuntime,
  olderThanMs: number,
  limit = 100,
): Promise<number> {
  const due = await runtime.ctx.pool.query<{ id: bigint }>(
    `SELECT id FROM payins.psp_events WHERE processed_at IS NULL AND dead_lettered_at IS NULL
       AND received_at < now() - $1 * interval '1 millisecond' AND coalesce(next_attempt_at <= now(), true)
     ORDER BY id LIMIT $2`,
    [olderThanMs, limit],
  );
  // One event that cannot be processed is logged, counted and, after its attempts, dead-lettered; the rest go on.
  await forEachIsolated(
    loopGuard(runtime.ctx),
    'psp_events',
    due.rows,
    (row) => ({ eventRowId: row.id.toString() }),
    async (row) => {
      await processPspEventRecordingFailure(runtime, row.id);
    },
  );
  return due.rows.length;
}

/** `processPspEvent`, with a failure recorded on the event (and dead-lettered after its attempts), then rethrown. */
export async function processPspEventRecordingFailure(
  runtime: PayinsRuntime,
  eventRowId: bigint,
): Promise<string> {
  try {
    return await processPspEvent(runtime, eventRowId);
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
