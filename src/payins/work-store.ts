import { preparedQuery, type Queryable } from '../db/pool.ts';
import { checkoutFromPrefixed, ORDER_COLUMNS, PREFIXED_CHECKOUT_COLUMNS, toOrder } from './store.ts';
import type { OrderStatus } from './state-machine.ts';
import type { Checkout, PaymentOrder } from './types.ts';

/**
 * The pay-in module's SQL for its background work — the executor's claims and retries, the sweeper, the poller,
 * PSP events and hosted sessions — beside store.ts (checkouts, orders, history, outbox). Every statement on the
 * `payins` schema lives in these two files.
 */

type OrderRow = Parameters<typeof toOrder>[0];

// ---- Executor ---------------------------------------------------------------------------------------------

/**
 * Locks the orders of a claim batch (in id order, so two batches never deadlock) and reads each with its
 * checkout, in one statement. Ids that are not orders are absent.
 */
export async function lockOrdersWithCheckouts(
  db: Queryable,
  paymentOrderIds: readonly string[],
): Promise<Array<{ order: PaymentOrder; checkout: Checkout }>> {
  const locked = await preparedQuery<OrderRow & Record<string, unknown>>(
    db,
    'payins_lock_claim_batch',
    `SELECT ${ORDER_COLUMNS.split(',')
      .map((column) => `o.${column.trim()}`)
      .join(', ')}, ${PREFIXED_CHECKOUT_COLUMNS}
       FROM payins.payment_order o JOIN payins.payment_event c ON c.checkout_id = o.checkout_id
      WHERE o.payment_order_id = ANY($1::text[])
      ORDER BY o.payment_order_id
        FOR UPDATE OF o`,
    [paymentOrderIds],
  );
  return locked.rows.map((row) => ({ order: toOrder(row), checkout: checkoutFromPrefixed(row) }));
}

/**
 * Takes up to `limit` orders of the executor's queue whose time has come (`execute_at`, oldest first), skipping
 * those another transaction holds (`FOR UPDATE SKIP LOCKED`: two workers never take the same order), and reads each
 * with its checkout, in one statement. They stay locked until the caller's transaction ends; the claim takes them
 * out of the queue (`claimAttempts`, `clearExecution`).
 */
export async function lockDueOrdersWithCheckouts(
  db: Queryable,
  limit: number,
): Promise<Array<{ order: PaymentOrder; checkout: Checkout }>> {
  const locked = await preparedQuery<OrderRow & Record<string, unknown>>(
    db,
    'payins_lock_due_orders',
    `WITH due AS MATERIALIZED (
       SELECT payment_order_id FROM payins.payment_order
        WHERE execute_at <= now() ORDER BY execute_at LIMIT $1 FOR UPDATE SKIP LOCKED)
     SELECT ${ORDER_COLUMNS.split(',')
       .map((column) => `o.${column.trim()}`)
       .join(', ')}, ${PREFIXED_CHECKOUT_COLUMNS}
       FROM due JOIN payins.payment_order o USING (payment_order_id)
       JOIN payins.payment_event c ON c.checkout_id = o.checkout_id
      ORDER BY o.payment_order_id`,
    [limit],
  );
  return locked.rows.map((row) => ({ order: toOrder(row), checkout: checkoutFromPrefixed(row) }));
}

/** Takes orders out of the executor's queue without an attempt (skipped, or their claim failed). */
export async function clearExecution(db: Queryable, paymentOrderIds: readonly string[]): Promise<void> {
  await db.query(
    `UPDATE payins.payment_order SET execute_at = NULL
      WHERE payment_order_id = ANY($1::text[]) AND execute_at IS NOT NULL`,
    [paymentOrderIds],
  );
}

/**
 * Locks a settle batch's orders in id order, before the batch touches any of them or the ledger: the batch then
 * never waits for an order while holding ledger accounts another transaction settling that order needs.
 */
export async function lockOrderRows(db: Queryable, paymentOrderIds: readonly string[]): Promise<void> {
  await preparedQuery(
    db,
    'payins_lock_settle_batch',
    `SELECT 1 FROM payins.payment_order WHERE payment_order_id = ANY($1::text[])
      ORDER BY payment_order_id FOR UPDATE`,
    [paymentOrderIds],
  );
}

/**
 * One more attempt, the order out of the executor's queue, and the sweeper pushed back while the attempt may be in
 * flight; returns the attempt number.
 */
export async function claimAttempt(
  db: Queryable,
  paymentOrderId: string,
  sweepAfterMs: number,
): Promise<number | undefined> {
  const claimed = await preparedQuery<{ attempts: number }>(
    db,
    'payins_claim_attempt',
    `UPDATE payins.payment_order SET attempts = attempts + 1, version = version + 1, updated_at = now(),
       next_sweep_at = now() + $2 * interval '1 millisecond', execute_at = NULL
     WHERE payment_order_id = $1 RETURNING attempts`,
    [paymentOrderId, sweepAfterMs],
  );
  return claimed.rows[0]?.attempts;
}

/** `claimAttempt` of many orders in one statement; the attempt number of each, by order id. */
export async function claimAttempts(
  db: Queryable,
  paymentOrderIds: readonly string[],
  sweepAfterMs: number,
): Promise<Map<string, number>> {
  const claimed = await preparedQuery<{ payment_order_id: string; attempts: number }>(
    db,
    'payins_claim_attempts',
    `UPDATE payins.payment_order SET attempts = attempts + 1, version = version + 1, updated_at = now(),
       next_sweep_at = now() + $2 * interval '1 millisecond', execute_at = NULL
     WHERE payment_order_id = ANY($1::text[]) RETURNING payment_order_id, attempts`,
    [paymentOrderIds, sweepAfterMs],
  );
  return new Map(claimed.rows.map((row) => [row.payment_order_id, row.attempts]));
}

/** Attempts exhausted: the order leaves the sweeper's sight and waits for a person (and the dead-letter queue). */
export async function flagExhausted(db: Queryable, paymentOrderId: string, lastError: string): Promise<void> {
  await db.query(
    `UPDATE payins.payment_order SET needs_attention = true, last_error = $2, next_sweep_at = NULL, updated_at = now()
     WHERE payment_order_id = $1 AND payment_order_status IN ('NOT_STARTED', 'EXECUTING')`,
    [paymentOrderId, lastError],
  );
}

/**
 * A retry is scheduled: the order queued again for `retryInMs` from now (the database's clock), the error kept, the
 * sweeper told to wait until after it.
 */
export async function noteRetry(
  db: Queryable,
  paymentOrderId: string,
  lastError: string,
  timing: { retryInMs: number; sweepInMs: number },
): Promise<void> {
  await db.query(
    `UPDATE payins.payment_order SET last_error = $2, next_sweep_at = now() + $3 * interval '1 millisecond',
       execute_at = now() + $4 * interval '1 millisecond', updated_at = now()
     WHERE payment_order_id = $1`,
    [paymentOrderId, lastError, timing.sweepInMs, timing.retryInMs],
  );
}

/**
 * The dead-letter replay hook: the order gets a fresh set of attempts and leaves the attention list; one not yet
 * past the PSP call (NOT_STARTED, EXECUTING) is queued for the executor at once, a PENDING one is the sweeper's.
 */
export async function resetForReplay(db: Queryable, paymentOrderId: string): Promise<void> {
  await db.query(
    `UPDATE payins.payment_order SET attempts = 0, needs_attention = false, sweep_count = 0, next_sweep_at = NULL,
       execute_at = CASE WHEN payment_order_status = 'PENDING' THEN NULL ELSE now() END, updated_at = now()
     WHERE payment_order_id = $1 AND payment_order_status IN ('NOT_STARTED', 'EXECUTING', 'PENDING')`,
    [paymentOrderId],
  );
}

// ---- Sweeper ----------------------------------------------------------------------------------------------

/** Saved-method orders left unfinished past their sweep deadline, oldest first. */
export async function ordersDueForSweep(
  db: Queryable,
  sweepAfterMs: number,
  limit: number,
): Promise<PaymentOrder[]> {
  const due = await db.query<OrderRow>(
    `SELECT ${ORDER_COLUMNS} FROM payins.payment_order
     WHERE payment_order_status IN ('NOT_STARTED', 'EXECUTING', 'PENDING') AND NOT needs_attention AND psp_session_id IS NULL
       AND COALESCE(next_sweep_at, updated_at + $1 * interval '1 millisecond') <= now()
     ORDER BY COALESCE(next_sweep_at, updated_at) LIMIT $2`,
    [sweepAfterMs, limit],
  );
  return due.rows.map(toOrder);
}

/** Hands an order back to the executor (queued now, one more sweep counted) if it is still at `version`. */
export async function requeueSwept(
  db: Queryable,
  paymentOrderId: string,
  version: bigint,
  sweepAfterMs: number,
): Promise<boolean> {
  const touched = await db.query(
    `UPDATE payins.payment_order SET sweep_count = sweep_count + 1, execute_at = now(),
       next_sweep_at = now() + $3 * interval '1 millisecond', updated_at = now()
     WHERE payment_order_id = $1 AND version = $2`,
    [paymentOrderId, version, sweepAfterMs],
  );
  return touched.rowCount === 1;
}

/** Sweeps exhausted: flags the unfinished order at `version` for a person; false when it moved meanwhile. */
export async function flagSweepsExhausted(
  db: Queryable,
  paymentOrderId: string,
  version: bigint,
  count: number,
  reason: string,
): Promise<boolean> {
  const touched = await db.query(
    `UPDATE payins.payment_order SET needs_attention = true, sweep_count = $3, last_error = $4, next_sweep_at = NULL
     WHERE payment_order_id = $1 AND version = $2 AND payment_order_status IN ('NOT_STARTED', 'EXECUTING', 'PENDING')`,
    [paymentOrderId, version, count, reason],
  );
  return touched.rowCount === 1;
}

/** The next sweep of the order at `version`, `delayMs` from now. */
export async function deferSweep(
  db: Queryable,
  paymentOrderId: string,
  version: bigint,
  count: number,
  reason: string,
  delayMs: number,
): Promise<void> {
  await db.query(
    `UPDATE payins.payment_order SET sweep_count = $3, last_error = $4, next_sweep_at = now() + $5 * interval '1 millisecond'
     WHERE payment_order_id = $1 AND version = $2`,
    [paymentOrderId, version, count, reason, delayMs],
  );
}

// ---- Hosted sessions and the poller -------------------------------------------------------------------------

/** Stores the PSP session of a hosted checkout on the checkout and its orders, and schedules its first poll. */
export async function storeSession(
  db: Queryable,
  checkoutId: string,
  session: { sessionId: string; url: string; expiresAt?: Date | undefined; paymentId?: string | undefined },
  pollAfterMs: number,
): Promise<void> {
  await db.query(
    `UPDATE payins.payment_event SET psp_session_id = $2, psp_session_url = $3, psp_session_expires_at = $4,
       next_poll_at = now() + $5 * interval '1 millisecond', updated_at = now()
     WHERE checkout_id = $1`,
    [checkoutId, session.sessionId, session.url, session.expiresAt ?? null, pollAfterMs],
  );
  await db.query(
    `UPDATE payins.payment_order SET psp_session_id = $2, psp_payment_id = COALESCE($3, psp_payment_id), updated_at = now(),
       version = version + 1
     WHERE checkout_id = $1`,
    [checkoutId, session.sessionId, session.paymentId ?? null],
  );
}

/** The latest risk decision of a checkout. */
export async function latestRiskDecision(
  db: Queryable,
  checkoutId: string,
): Promise<{ decision: string; reasons: string[] } | undefined> {
  const decisions = await db.query<{ decision: string; reasons: string[] }>(
    'SELECT decision, reasons FROM payins.risk_decisions WHERE checkout_id = $1 ORDER BY id DESC LIMIT 1',
    [checkoutId],
  );
  return decisions.rows[0];
}

export interface DueCheckout {
  checkout_id: string;
  psp_session_id: string | null;
  poll_count: number;
  currency: string;
  total_minor: bigint;
  credit_card_info: { return_url?: string };
}

/** Hosted checkouts without a final answer past their poll time, oldest first. */
export async function checkoutsDueForPoll(
  db: Queryable,
  pollAfterMs: number,
  limit: number,
): Promise<DueCheckout[]> {
  const due = await db.query<DueCheckout>(
    `SELECT e.checkout_id, e.psp_session_id, e.poll_count, e.currency, e.total_minor, e.credit_card_info
     FROM payins.payment_event e
     WHERE e.flow = 'hosted_page' AND NOT e.is_payment_done
       AND COALESCE(e.next_poll_at, e.created_at + $1 * interval '1 millisecond') <= now()
       AND EXISTS (SELECT 1 FROM payins.payment_order o WHERE o.checkout_id = e.checkout_id
                   AND o.payment_order_status IN ('EXECUTING', 'PENDING') AND NOT o.needs_attention)
     ORDER BY COALESCE(e.next_poll_at, e.created_at) LIMIT $2`,
    [pollAfterMs, limit],
  );
  return due.rows;
}

/** Stores a session the poller registered, where none was stored (the POST died mid-call). */
export async function storeMissingSession(
  db: Queryable,
  checkoutId: string,
  session: { sessionId: string; url: string; expiresAt?: Date | undefined },
): Promise<void> {
  await db.query(
    `UPDATE payins.payment_event SET psp_session_id = $2, psp_session_url = $3, psp_session_expires_at = $4, updated_at = now()
     WHERE checkout_id = $1 AND psp_session_id IS NULL`,
    [checkoutId, session.sessionId, session.url, session.expiresAt ?? null],
  );
  await db.query(
    'UPDATE payins.payment_order SET psp_session_id = $2 WHERE checkout_id = $1 AND psp_session_id IS NULL',
    [checkoutId, session.sessionId],
  );
}

/** Polls ran out: the checkout is no longer polled and its unfinished orders wait for a person. */
export async function flagPollsExhausted(
  db: Queryable,
  checkoutId: string,
  count: number,
  reason: string,
): Promise<void> {
  await db.query(
    'UPDATE payins.payment_event SET poll_count = $2, next_poll_at = NULL WHERE checkout_id = $1',
    [checkoutId, count],
  );
  await db.query(
    `UPDATE payins.payment_order SET needs_attention = true, last_error = $2
     WHERE checkout_id = $1 AND payment_order_status IN ('EXECUTING', 'PENDING')`,
    [checkoutId, reason],
  );
}

/** The next poll of a checkout, `delayMs` from now. */
export async function deferPoll(
  db: Queryable,
  checkoutId: string,
  count: number,
  delayMs: number,
): Promise<void> {
  await db.query(
    `UPDATE payins.payment_event SET poll_count = $2, next_poll_at = now() + $3 * interval '1 millisecond' WHERE checkout_id = $1`,
    [checkoutId, count, delayMs],
  );
}

/** Locks the checkout row: concurrent settlers of one checkout queue here, then lock its orders in order. */
export async function lockCheckout(db: Queryable, checkoutId: string): Promise<void> {
  await db.query('SELECT 1 FROM payins.payment_event WHERE checkout_id = $1 FOR UPDATE', [checkoutId]);
}

// ---- PSP events ---------------------------------------------------------------------------------------------

/** Stores a verified PSP event once (unique on the PSP's event id); undefined for a duplicate. */
export async function insertPspEvent(
  db: Queryable,
  psp: string,
  event: IncomingPspEvent['event'],
): Promise<bigint | undefined> {
  const inserted = await preparedQuery<{ id: bigint }>(
    db,
    'payins_insert_psp_event',
    `INSERT INTO payins.psp_events (psp, event_id, event_type, payload) VALUES ($1, $2, $3, $4)
     ON CONFLICT (psp, event_id) DO NOTHING RETURNING id`,
    [psp, event.id, event.type, JSON.stringify(storedPayload(event))],
  );
  return inserted.rows[0]?.id;
}

/** A verified PSP event as the webhook route stores it. */
export interface IncomingPspEvent {
  psp: string;
  event: { id: string; type: string; createdAt: Date; object: Record<string, unknown> };
}

function storedPayload(event: IncomingPspEvent['event']): Record<string, unknown> {
  return { id: event.id, type: event.type, created_at: event.createdAt.toISOString(), object: event.object };
}

/**
 * Stores many verified PSP events in one statement (and, outside a transaction, one commit), in the order given;
 * each is stored once (unique on the PSP's event id). The events travel as one JSON array, parsed once by the
 * server. Returns the `[psp, event id]` of those stored now, not of duplicates. One event PostgreSQL refuses
 * fails the whole statement: the caller stores each on its own then (`insertPspEvent`).
 */
export async function insertPspEvents(
  db: Queryable,
  events: IncomingPspEvent[],
): Promise<Array<{ psp: string; eventId: string }>> {
  const inserted = await preparedQuery<{ psp: string; event_id: string }>(
    db,
    'payins_insert_psp_events',
    `INSERT INTO payins.psp_events (psp, event_id, event_type, payload)
     SELECT e ->> 0, e ->> 1, e ->> 2, e -> 3
       FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(e, n)
      ORDER BY n
     ON CONFLICT (psp, event_id) DO NOTHING
     RETURNING psp, event_id`,
    [JSON.stringify(events.map(({ psp, event }) => [psp, event.id, event.type, storedPayload(event)]))],
  );
  return inserted.rows.map((row) => ({ psp: row.psp, eventId: row.event_id }));
}

export interface PspEventRow {
  event_id: string;
  event_type: string;
  payload: { object?: Record<string, unknown> };
  processed_at: Date | null;
}

export async function getPspEvent(
  db: Queryable,
  id: bigint,
  options: { forUpdate?: boolean } = {},
): Promise<PspEventRow | undefined> {
  const found = await db.query<PspEventRow>(
    `SELECT event_id, event_type, payload, processed_at FROM payins.psp_events WHERE id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return found.rows[0];
}

export async function markPspEventProcessed(db: Queryable, id: bigint, outcome: string): Promise<void> {
  await db.query('UPDATE payins.psp_events SET processed_at = now(), outcome = $2 WHERE id = $1', [
    id,
    outcome,
  ]);
}

/** A stored event taken for processing: what its classification needs, read with its row lock. */
export interface ClaimedPspEvent {
  id: bigint;
  event_id: string;
  event_type: string;
  object: Record<string, unknown> | null;
  attempts: number;
  /** Arrived less than the caller's `deferMs` ago: it may still be put off (`deferPspEvents`). */
  deferrable: boolean;
}

/**
 * Locks up to `limit` events due for processing, oldest first, for the caller's transaction, skipping those another
 * transaction holds (`FOR UPDATE SKIP LOCKED`: two workers never take the same event). Due: not processed, not
 * dead-lettered, not waiting for a retry or held by another worker's lease (`next_attempt_at` in the future), and
 * stored at least `olderThanMs` ago (0: any).
 *
 * Two index ranges that hold only candidates (migration 0370): the events never put off, in id order, and those
 * whose `next_attempt_at` has come, by due time; the oldest `limit` of the two are returned. The events of a branch
 * beyond that stay locked until the caller's transaction ends, and are left for the next batch.
 */
export async function lockDuePspEvents(
  db: Queryable,
  limit: number,
  olderThanMs = 0,
  deferMs = 0,
): Promise<ClaimedPspEvent[]> {
  const due = await preparedQuery<ClaimedPspEvent>(
    db,
    'payins_lock_due_psp_events',
    `WITH fresh AS (
       SELECT id FROM payins.psp_events
        WHERE processed_at IS NULL AND dead_lettered_at IS NULL AND next_attempt_at IS NULL
          AND ($2::float8 = 0 OR received_at < now() - $2::float8 * interval '1 millisecond')
        ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
     ), came_due AS (
       SELECT id FROM payins.psp_events
        WHERE processed_at IS NULL AND dead_lettered_at IS NULL AND next_attempt_at <= now()
          AND ($2::float8 = 0 OR received_at < now() - $2::float8 * interval '1 millisecond')
        ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED
     ), picked AS (
       SELECT id FROM fresh UNION ALL SELECT id FROM came_due ORDER BY id LIMIT $1
     )
     SELECT e.id, e.event_id, e.event_type, e.payload -> 'object' AS object, e.attempts,
            e.received_at > now() - $3::float8 * interval '1 millisecond' AS deferrable
       FROM picked JOIN payins.psp_events e ON e.id = picked.id
      ORDER BY e.id`,
    [limit, olderThanMs, deferMs],
  );
  return due.rows;
}

/**
 * Puts events off until `deferMs` after each arrived (their `next_attempt_at`; no attempt counted): their order's
 * charge is in flight at the executor, whose settlement usually makes them no-ops. Returns the earliest new due time.
 */
export async function deferPspEvents(
  db: Queryable,
  ids: readonly bigint[],
  deferMs: number,
): Promise<Date | undefined> {
  if (ids.length === 0) return undefined;
  const deferred = await db.query<{ due: Date | null }>(
    `WITH d AS (
       UPDATE payins.psp_events SET next_attempt_at = received_at + $2::float8 * interval '1 millisecond'
        WHERE id = ANY($1::bigint[]) AND processed_at IS NULL AND dead_lettered_at IS NULL
       RETURNING next_attempt_at)
     SELECT min(next_attempt_at) AS due FROM d`,
    [ids, deferMs],
  );
  return deferred.rows[0]?.due ?? undefined;
}

/** Whether any event stored at least `olderThanMs` ago is due (one read, no transaction: the sweep's look first). */
export async function anyDuePspEvent(db: Queryable, olderThanMs: number): Promise<boolean> {
  // The same two index ranges as `lockDuePspEvents`: never put off, or fallen due.
  const due = await db.query<{ due: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM payins.psp_events
                     WHERE processed_at IS NULL AND dead_lettered_at IS NULL AND next_attempt_at IS NULL
                       AND received_at < now() - $1::float8 * interval '1 millisecond')
         OR EXISTS (SELECT 1 FROM payins.psp_events
                     WHERE processed_at IS NULL AND dead_lettered_at IS NULL AND next_attempt_at <= now()
                       AND received_at < now() - $1::float8 * interval '1 millisecond') AS due`,
    [olderThanMs],
  );
  return due.rows[0]?.due === true;
}

/** Marks many events processed, each with its outcome, in one statement (in the caller's transaction). */
export async function markPspEventsProcessed(
  db: Queryable,
  done: ReadonlyArray<{ id: bigint; outcome: string }>,
): Promise<number> {
  const updated = await db.query(
    `UPDATE payins.psp_events e SET processed_at = now(), outcome = d.outcome
       FROM unnest($1::bigint[], $2::text[]) AS d(id, outcome)
      WHERE e.id = d.id AND e.processed_at IS NULL`,
    [done.map((item) => item.id), done.map((item) => item.outcome)],
  );
  return updated.rowCount ?? 0;
}

/**
 * Holds events for this worker for `leaseMs` (their `next_attempt_at`), so that no other worker takes them while
 * they wait for their own transactions; one whose worker died is due again when its lease ends.
 */
export async function leasePspEvents(db: Queryable, ids: readonly bigint[], leaseMs: number): Promise<void> {
  await db.query(
    `UPDATE payins.psp_events SET next_attempt_at = now() + $2::float8 * interval '1 millisecond'
      WHERE id = ANY($1::bigint[]) AND processed_at IS NULL AND dead_lettered_at IS NULL`,
    [ids, leaseMs],
  );
}

/** Gives leased events back (a stopping worker): due again at once. */
export async function releasePspEventLeases(db: Queryable, ids: readonly bigint[]): Promise<void> {
  await db.query(
    `UPDATE payins.psp_events SET next_attempt_at = NULL
      WHERE id = ANY($1::bigint[]) AND processed_at IS NULL AND dead_lettered_at IS NULL`,
    [ids],
  );
}

/** An order as a PSP event batch sees it: its status, and whether the executor's charge of it is in flight. */
export interface OrderState {
  status: OrderStatus;
  /** EXECUTING, not flagged for attention, and claimed recently (its sweep deadline not reached). */
  attemptInFlight: boolean;
}

/** The state of each of these orders, by id (absent: no such order). */
export async function orderStatusesOf(
  db: Queryable,
  paymentOrderIds: readonly string[],
): Promise<Map<string, OrderState>> {
  if (paymentOrderIds.length === 0) return new Map();
  const found = await db.query<{
    payment_order_id: string;
    payment_order_status: OrderStatus;
    attempt_in_flight: boolean;
  }>(
    `SELECT payment_order_id, payment_order_status,
            (payment_order_status = 'EXECUTING' AND NOT needs_attention AND next_sweep_at > now())
              AS attempt_in_flight
       FROM payins.payment_order WHERE payment_order_id = ANY($1::text[])`,
    [paymentOrderIds],
  );
  return new Map(
    found.rows.map((row) => [
      row.payment_order_id,
      { status: row.payment_order_status, attemptInFlight: row.attempt_in_flight },
    ]),
  );
}

/** The statuses of the orders of the checkout of each of these PSP sessions, by session id (absent: none). */
export async function sessionOrderStatusesOf(
  db: Queryable,
  sessionIds: readonly string[],
): Promise<Map<string, OrderStatus[]>> {
  if (sessionIds.length === 0) return new Map();
  const found = await db.query<{ psp_session_id: string; payment_order_status: OrderStatus }>(
    `SELECT e.psp_session_id, o.payment_order_status
       FROM payins.payment_event e JOIN payins.payment_order o ON o.checkout_id = e.checkout_id
      WHERE e.psp_session_id = ANY($1::text[])`,
    [sessionIds],
  );
  const bySession = new Map<string, OrderStatus[]>();
  for (const row of found.rows)
    bySession.set(row.psp_session_id, [
      ...(bySession.get(row.psp_session_id) ?? []),
      row.payment_order_status,
    ]);
  return bySession;
}

/**
 * Queues an order that is still to be executed (NOT_STARTED or EXECUTING) for the executor now and clears its sweep
 * deadline, so it is taken again at once; true when it was such an order (a stopping worker hands it back).
 */
export async function markForImmediateExecution(db: Queryable, paymentOrderId: string): Promise<boolean> {
  const updated = await db.query(
    `UPDATE payins.payment_order SET next_sweep_at = now(), execute_at = now()
      WHERE payment_order_id = $1 AND payment_order_status IN ('NOT_STARTED', 'EXECUTING')`,
    [paymentOrderId],
  );
  return (updated.rowCount ?? 0) > 0;
}
