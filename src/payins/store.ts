import { preparedQuery, type Queryable } from '../db/pool.ts';
import { sqlState } from '../db/tx.ts';
import { AppError } from '../errors.ts';
import { isOrderStatus, type OrderStatus } from './state-machine.ts';
import type { Checkout, CheckoutRequest, CreditCardInfo, Flow, PaymentOrder, StatusChange } from './types.ts';

export interface CheckoutRow {
  checkout_id: string;
  api_key_id: string;
  buyer_info: Record<string, unknown>;
  seller_info: Record<string, unknown>;
  credit_card_info: CreditCardInfo;
  flow: Flow;
  currency: string;
  total_minor: bigint;
  psp_session_id: string | null;
  psp_session_url: string | null;
  psp_session_expires_at: Date | null;
  next_poll_at: Date | null;
  poll_count: number;
  is_payment_done: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface OrderRow {
  payment_order_id: string;
  checkout_id: string;
  position: number;
  buyer_account: string;
  seller_account: string;
  amount_minor: bigint;
  currency: string;
  fee_minor: bigint | null;
  payment_order_status: string;
  status_reason: string | null;
  ledger_updated: boolean;
  wallet_updated: boolean;
  psp_payment_id: string | null;
  psp_charge_id: string | null;
  psp_session_id: string | null;
  attempts: number;
  last_error: string | null;
  decline_code: string | null;
  needs_attention: boolean;
  next_sweep_at: Date | null;
  sweep_count: number;
  version: bigint;
  created_at: Date;
  updated_at: Date;
}

export const ORDER_COLUMNS = `payment_order_id, checkout_id, position, buyer_account, seller_account, amount_minor, currency,
  fee_minor, payment_order_status, status_reason, ledger_updated, wallet_updated, psp_payment_id, psp_charge_id,
  psp_session_id, attempts, last_error, decline_code, needs_attention, next_sweep_at, sweep_count, version, created_at,
  updated_at`;

export const CHECKOUT_COLUMNS = `checkout_id, api_key_id, buyer_info, seller_info, credit_card_info, flow, currency, total_minor,
  psp_session_id, psp_session_url, psp_session_expires_at, next_poll_at, poll_count, is_payment_done, created_at, updated_at`;

/** The checkout's columns as `c_<column>` (beside an order's own in one row). */
const CHECKOUT_COLUMN_NAMES = CHECKOUT_COLUMNS.split(',').map((column) => column.trim());
export const PREFIXED_CHECKOUT_COLUMNS = CHECKOUT_COLUMN_NAMES.map(
  (column) => `c.${column} AS c_${column}`,
).join(', ');

function toStatus(value: string): OrderStatus {
  if (!isOrderStatus(value)) throw new Error(`unknown payment order status ${value} in the database`);
  return value;
}

export function toCheckout(row: CheckoutRow): Checkout {
  return {
    checkoutId: row.checkout_id,
    apiKeyId: row.api_key_id,
    buyerInfo: row.buyer_info,
    sellerInfo: row.seller_info,
    creditCardInfo: row.credit_card_info,
    flow: row.flow,
    currency: row.currency,
    totalMinor: row.total_minor,
    pspSessionId: row.psp_session_id,
    pspSessionUrl: row.psp_session_url,
    pspSessionExpiresAt: row.psp_session_expires_at,
    nextPollAt: row.next_poll_at,
    pollCount: row.poll_count,
    isPaymentDone: row.is_payment_done,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toOrder(row: OrderRow): PaymentOrder {
  return {
    paymentOrderId: row.payment_order_id,
    checkoutId: row.checkout_id,
    position: row.position,
    buyerAccount: row.buyer_account,
    sellerAccount: row.seller_account,
    amountMinor: row.amount_minor,
    currency: row.currency,
    feeMinor: row.fee_minor,
    status: toStatus(row.payment_order_status),
    statusReason: row.status_reason,
    ledgerUpdated: row.ledger_updated,
    walletUpdated: row.wallet_updated,
    pspPaymentId: row.psp_payment_id,
    pspChargeId: row.psp_charge_id,
    pspSessionId: row.psp_session_id,
    attempts: row.attempts,
    lastError: row.last_error,
    declineCode: row.decline_code,
    needsAttention: row.needs_attention,
    nextSweepAt: row.next_sweep_at,
    sweepCount: row.sweep_count,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The value of the key named in a unique violation's detail: `Key (col)=(value) already exists.` */
function conflictingValue(error: unknown): string | undefined {
  const detail = (error as { detail?: unknown }).detail;
  if (typeof detail !== 'string') return undefined;
  return /\)=\((.*)\) already exists/.exec(detail)?.[1];
}

function constraintOf(error: unknown): string | undefined {
  const constraint = (error as { constraint?: unknown }).constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}

/**
 * The rows of a new checkout in ONE statement: the checkout, its orders (NOT_STARTED), their first history rows,
 * and (when given) the risk decision. Returns the checkout and its orders as stored (the answer is built from
 * them, with no read back). The primary keys settle races between processes: a duplicate `checkout_id` or
 * `payment_order_id` becomes a 409 naming it.
 */
const INSERT_CHECKOUT_SQL = `
WITH checkout AS (
  INSERT INTO payins.payment_event (checkout_id, api_key_id, buyer_info, seller_info, credit_card_info, flow, currency,
    total_minor)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
  RETURNING ${CHECKOUT_COLUMNS}
), orders AS (
  INSERT INTO payins.payment_order (payment_order_id, checkout_id, position, buyer_account, seller_account, amount_minor,
    currency, execute_at)
  -- From the inserted checkout, so that its insert runs first: a used checkout id fails there (payment_event_pkey).
  -- Queued for the executor (execute_at) when $16.
  SELECT id, c.checkout_id, pos - 1, $9, seller, amount, $7, CASE WHEN $16::boolean THEN now() END
    FROM checkout c, unnest($10::text[], $11::text[], $12::int8[]) WITH ORDINALITY AS o(id, seller, amount, pos)
  RETURNING ${ORDER_COLUMNS}
), history AS (
  INSERT INTO payins.payment_order_status_history (payment_order_id, from_status, to_status, reason)
  SELECT id, NULL, 'NOT_STARTED', 'created' FROM unnest($10::text[]) WITH ORDINALITY AS h(id, pos) ORDER BY pos
), risk AS (
  INSERT INTO payins.risk_decisions (checkout_id, provider, decision, reasons)
  SELECT $1, $13, $14, $15 WHERE $13::text IS NOT NULL
)
SELECT ${ORDER_COLUMNS.split(',')
  .map((column) => `o.${column.trim()}`)
  .join(', ')}, ${PREFIXED_CHECKOUT_COLUMNS}
  FROM orders o CROSS JOIN checkout c ORDER BY o.position`;

/** A checkout read beside an order in one row (`PREFIXED_CHECKOUT_COLUMNS`). */
export function checkoutFromPrefixed(row: Record<string, unknown>): Checkout {
  return toCheckout(
    Object.fromEntries(
      CHECKOUT_COLUMN_NAMES.map((column) => [column, row[`c_${column}`]]),
    ) as unknown as CheckoutRow,
  );
}

export async function insertCheckout(
  db: Queryable,
  request: CheckoutRequest,
  context: {
    apiKeyId: string;
    buyerAccount: string;
    risk?: { provider: string; decision: string; reasons: string[] } | undefined;
    /** Queue the orders for the executor now (a saved-method checkout not rejected). */
    executeNow: boolean;
  },
): Promise<{ checkout: Checkout; orders: PaymentOrder[] }> {
  const sellerInfo = { sellers: [...new Set(request.orders.map((order) => order.sellerAccount))] };
  let rows: Array<OrderRow & Record<string, unknown>>;
  try {
    const result = await preparedQuery<OrderRow & Record<string, unknown>>(
      db,
      'payins_insert_checkout',
      INSERT_CHECKOUT_SQL,
      [
        request.checkoutId,
        context.apiKeyId,
        JSON.stringify(request.buyerInfo),
        JSON.stringify(sellerInfo),
        JSON.stringify(request.creditCardInfo),
        request.flow,
        request.currency,
        request.totalMinor,
        context.buyerAccount,
        request.orders.map((order) => order.paymentOrderId),
        request.orders.map((order) => order.sellerAccount),
        request.orders.map((order) => order.amountMinor.toString()),
        context.risk?.provider ?? null,
        context.risk?.decision ?? null,
        context.risk === undefined ? null : JSON.stringify(context.risk.reasons),
        context.executeNow,
      ],
    );
    rows = result.rows;
  } catch (error) {
    throw duplicateAsAppError(error, request);
  }
  const first = rows[0];
  if (first === undefined) throw new Error(`checkout ${request.checkoutId} was not inserted`);
  return { checkout: checkoutFromPrefixed(first), orders: rows.map(toOrder) };
}

/** A duplicate checkout or order id (unique violation) as the 409 that names it; any other error as it is. */
function duplicateAsAppError(error: unknown, request: CheckoutRequest): unknown {
  if (sqlState(error) !== '23505') return error;
  const constraint = constraintOf(error);
  const value = conflictingValue(error);
  if (constraint === 'payment_event_pkey') {
    return new AppError('checkout_exists', `checkout ${value ?? request.checkoutId} already exists`, {
      field: 'checkout_id',
    });
  }
  if (constraint === 'payment_order_pkey') {
    const index = request.orders.findIndex((order) => order.paymentOrderId === value);
    return new AppError('payment_order_exists', `payment order ${value ?? '?'} already exists`, {
      field: index >= 0 ? `payment_orders.${index}.payment_order_id` : 'payment_orders',
    });
  }
  return error;
}

export async function getCheckout(
  db: Queryable,
  checkoutId: string,
  options: { forUpdate?: boolean } = {},
): Promise<Checkout | undefined> {
  const result = await db.query<CheckoutRow>(
    `SELECT ${CHECKOUT_COLUMNS} FROM payins.payment_event WHERE checkout_id = $1 ${options.forUpdate ? 'FOR UPDATE' : ''}`,
    [checkoutId],
  );
  const row = result.rows[0];
  return row ? toCheckout(row) : undefined;
}

export async function getCheckoutBySession(db: Queryable, sessionId: string): Promise<Checkout | undefined> {
  const result = await db.query<CheckoutRow>(
    `SELECT ${CHECKOUT_COLUMNS} FROM payins.payment_event WHERE psp_session_id = $1`,
    [sessionId],
  );
  const row = result.rows[0];
  return row ? toCheckout(row) : undefined;
}

export async function getOrders(
  db: Queryable,
  checkoutId: string,
  options: { forUpdate?: boolean } = {},
): Promise<PaymentOrder[]> {
  const result = await db.query<OrderRow>(
    `SELECT ${ORDER_COLUMNS} FROM payins.payment_order WHERE checkout_id = $1 ORDER BY position ${options.forUpdate ? 'FOR UPDATE' : ''}`,
    [checkoutId],
  );
  return result.rows.map(toOrder);
}

export async function getOrder(
  db: Queryable,
  paymentOrderId: string,
  options: { forUpdate?: boolean } = {},
): Promise<PaymentOrder | undefined> {
  const result = await db.query<OrderRow>(
    `SELECT ${ORDER_COLUMNS} FROM payins.payment_order WHERE payment_order_id = $1 ${options.forUpdate ? 'FOR UPDATE' : ''}`,
    [paymentOrderId],
  );
  const row = result.rows[0];
  return row ? toOrder(row) : undefined;
}

export async function getHistory(db: Queryable, paymentOrderId: string): Promise<StatusChange[]> {
  const result = await db.query<{
    at: Date;
    from_status: string | null;
    to_status: string;
    reason: string;
    details: Record<string, unknown>;
  }>(
    `SELECT at, from_status, to_status, reason, details FROM payins.payment_order_status_history
     WHERE payment_order_id = $1 ORDER BY id`,
    [paymentOrderId],
  );
  return result.rows.map((row) => ({
    at: row.at,
    from: row.from_status === null ? null : toStatus(row.from_status),
    to: toStatus(row.to_status),
    reason: row.reason,
    details: row.details,
  }));
}

export async function getRiskDecisions(
  db: Queryable,
  checkoutId: string,
): Promise<Array<{ provider: string; decision: string; reasons: string[]; decidedAt: Date }>> {
  const result = await db.query<{ provider: string; decision: string; reasons: string[]; decided_at: Date }>(
    'SELECT provider, decision, reasons, decided_at FROM payins.risk_decisions WHERE checkout_id = $1 ORDER BY id',
    [checkoutId],
  );
  return result.rows.map((row) => ({
    provider: row.provider,
    decision: row.decision,
    reasons: row.reasons,
    decidedAt: row.decided_at,
  }));
}

/**
 * The checkouts a buyer started in the hour before `now`, and their totals in `currency` (the risk port's
 * velocity). `buyerKey` is `id:<buyer id>` or `email:<lower-case e-mail>`.
 */
export async function buyerActivity(
  db: Queryable,
  buyerKey: string,
  currency: string,
  now: Date,
): Promise<{ checkouts: number; amountMinor: bigint }> {
  const result = await db.query<{ n: bigint; total: bigint }>(
    `SELECT count(*)::int8 AS n, COALESCE(sum(total_minor) FILTER (WHERE currency = $2), 0)::int8 AS total
     FROM payins.payment_event
     WHERE created_at > $3::timestamptz - interval '1 hour' AND created_at <= $3::timestamptz
       AND CASE WHEN $1 LIKE 'id:%' THEN buyer_info ->> 'id' = substr($1, 4)
                ELSE lower(buyer_info ->> 'email') = substr($1, 7) END`,
    [buyerKey, currency, now],
  );
  const row = result.rows[0];
  return { checkouts: Number(row?.n ?? 0n), amountMinor: row?.total ?? 0n };
}

/** Many orders by id, locked in id order when `forUpdate` (a settle batch's); ids that are not orders are absent. */
export async function getOrdersById(
  db: Queryable,
  paymentOrderIds: readonly string[],
  options: { forUpdate?: boolean } = {},
): Promise<Map<string, PaymentOrder>> {
  const result = await db.query<OrderRow>(
    `SELECT ${ORDER_COLUMNS} FROM payins.payment_order WHERE payment_order_id = ANY($1::text[])
      ORDER BY payment_order_id ${options.forUpdate ? 'FOR UPDATE' : ''}`,
    [paymentOrderIds],
  );
  return new Map(result.rows.map((row) => [row.payment_order_id, toOrder(row)]));
}

/** The orders of many checkouts, each checkout's in position order. */
export async function getOrdersOfCheckouts(
  db: Queryable,
  checkoutIds: readonly string[],
): Promise<Map<string, PaymentOrder[]>> {
  const result = await db.query<OrderRow>(
    `SELECT ${ORDER_COLUMNS} FROM payins.payment_order WHERE checkout_id = ANY($1::text[])
      ORDER BY checkout_id, position`,
    [checkoutIds],
  );
  const byCheckout = new Map<string, PaymentOrder[]>();
  for (const order of result.rows.map(toOrder))
    byCheckout.set(order.checkoutId, [...(byCheckout.get(order.checkoutId) ?? []), order]);
  return byCheckout;
}

/** One order's status change (its lock held by the caller), with the facts that travel with it. */
export interface StatusChangeRow {
  paymentOrderId: string;
  to: OrderStatus;
  reason: string;
  feeMinor: bigint | null;
  /** The ledger entry was posted in this transaction: `ledger_updated` and `wallet_updated` become true. */
  booked: boolean;
  pspPaymentId: string | null;
  pspChargeId: string | null;
  declineCode: string | null;
  lastError: string | null;
  /** A final status: the order leaves the attention list and the sweeper's schedule. */
  final: boolean;
}

/** Status changes of many orders (their locks held by the caller) in one statement; the orders after, by id. */
export async function updateOrderStatuses(
  db: Queryable,
  changes: readonly StatusChangeRow[],
): Promise<Map<string, PaymentOrder>> {
  const column = <T>(pick: (change: StatusChangeRow) => T): T[] => changes.map(pick);
  const updated = await db.query<OrderRow>(
    `UPDATE payins.payment_order o SET
       payment_order_status = c.to_status, status_reason = c.reason, fee_minor = c.fee_minor,
       ledger_updated = o.ledger_updated OR c.booked, wallet_updated = o.wallet_updated OR c.booked,
       psp_payment_id = COALESCE(c.psp_payment_id, o.psp_payment_id),
       psp_charge_id = COALESCE(c.psp_charge_id, o.psp_charge_id),
       decline_code = COALESCE(c.decline_code, o.decline_code), last_error = COALESCE(c.last_error, o.last_error),
       needs_attention = CASE WHEN c.final THEN false ELSE o.needs_attention END,
       next_sweep_at = CASE WHEN c.final THEN NULL ELSE o.next_sweep_at END,
       version = o.version + 1, updated_at = now()
      FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bool[], $6::text[], $7::text[], $8::text[],
                  $9::text[], $10::bool[])
        AS c(id, to_status, reason, fee_minor, booked, psp_payment_id, psp_charge_id, decline_code, last_error, final)
     WHERE o.payment_order_id = c.id
     RETURNING ${ORDER_COLUMNS.split(',')
       .map((name) => `o.${name.trim()}`)
       .join(', ')}`,
    [
      column((change) => change.paymentOrderId),
      column((change) => change.to),
      column((change) => change.reason),
      column((change) => change.feeMinor),
      column((change) => change.booked),
      column((change) => change.pspPaymentId),
      column((change) => change.pspChargeId),
      column((change) => change.declineCode),
      column((change) => change.lastError),
      column((change) => change.final),
    ],
  );
  const after = new Map(updated.rows.map((row) => [row.payment_order_id, toOrder(row)]));
  for (const change of changes)
    if (!after.has(change.paymentOrderId))
      throw new Error(`payment order ${change.paymentOrderId} vanished under its lock`);
  return after;
}

/** Appends many status changes to the orders' histories in one statement, in the order given. */
export async function insertHistories(
  db: Queryable,
  changes: ReadonlyArray<{
    paymentOrderId: string;
    from: OrderStatus;
    to: OrderStatus;
    reason: string;
    details?: Record<string, unknown>;
  }>,
): Promise<void> {
  await db.query(
    `INSERT INTO payins.payment_order_status_history (payment_order_id, from_status, to_status, reason, details)
     SELECT c.id, c.from_status, c.to_status, c.reason, c.details
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[]) WITH ORDINALITY
         AS c(id, from_status, to_status, reason, details, n)
      ORDER BY c.n`,
    [
      changes.map((change) => change.paymentOrderId),
      changes.map((change) => change.from),
      changes.map((change) => change.to),
      changes.map((change) => change.reason),
      changes.map((change) => JSON.stringify(change.details ?? {})),
    ],
  );
}

/**
 * Sets `is_payment_done` on each of these checkouts (true once every one of its orders is final), in one
 * statement; returns the checkouts now done.
 */
export async function refreshPaymentsDone(
  db: Queryable,
  checkoutIds: readonly string[],
): Promise<Checkout[]> {
  const result = await db.query<CheckoutRow & { is_payment_done: boolean }>(
    `UPDATE payins.payment_event e
     SET is_payment_done = NOT EXISTS (
           SELECT 1 FROM payins.payment_order o
           WHERE o.checkout_id = e.checkout_id AND o.payment_order_status NOT IN ('SUCCESS', 'FAILED')),
         updated_at = now()
     WHERE checkout_id = ANY($1::text[])
     RETURNING ${CHECKOUT_COLUMNS.split(',')
       .map((name) => `e.${name.trim()}`)
       .join(', ')}`,
    [checkoutIds],
  );
  return result.rows.filter((row) => row.is_payment_done).map(toCheckout);
}

type OrderLookup = { paymentOrderIds: string[] } | { checkoutIds: string[] } | { pspPaymentIds: string[] };

function lookupWhere(by: OrderLookup): [string, string[]] {
  return 'paymentOrderIds' in by
    ? ['payment_order_id = ANY($1::text[])', by.paymentOrderIds]
    : 'checkoutIds' in by
      ? ['checkout_id = ANY($1::text[])', by.checkoutIds]
      : ['psp_payment_id = ANY($1::text[])', by.pspPaymentIds];
}

/** Orders by id, by checkout, or by the PSP's payment id. */
export async function findOrders(db: Queryable, by: OrderLookup): Promise<PaymentOrder[]> {
  const [where, ids] = lookupWhere(by);
  if (ids.length === 0) return [];
  const result = await db.query<OrderRow>(
    `SELECT ${ORDER_COLUMNS} FROM payins.payment_order WHERE ${where} ORDER BY checkout_id, position`,
    [ids],
  );
  return result.rows.map(toOrder);
}

/** What reconciliation compares with a report line: an order's identity, amount, status and PSP payment. */
export type OrderFacts = Pick<
  PaymentOrder,
  'paymentOrderId' | 'checkoutId' | 'position' | 'amountMinor' | 'currency' | 'status' | 'pspPaymentId'
>;

/**
 * `findOrders` narrowed to the facts reconciliation compares (its look-ups of a report's lines, 2,000 ids a
 * chunk): seven columns instead of twenty-four, none of them a timestamp to parse. Same rows, same order.
 */
export async function findOrderFacts(db: Queryable, by: OrderLookup): Promise<OrderFacts[]> {
  const [where, ids] = lookupWhere(by);
  if (ids.length === 0) return [];
  const result = await db.query<
    Pick<
      OrderRow,
      | 'payment_order_id'
      | 'checkout_id'
      | 'position'
      | 'amount_minor'
      | 'currency'
      | 'payment_order_status'
      | 'psp_payment_id'
    >
  >(
    `SELECT payment_order_id, checkout_id, position, amount_minor, currency, payment_order_status, psp_payment_id
       FROM payins.payment_order WHERE ${where} ORDER BY checkout_id, position`,
    [ids],
  );
  return result.rows.map((row) => ({
    paymentOrderId: row.payment_order_id,
    checkoutId: row.checkout_id,
    position: row.position,
    amountMinor: row.amount_minor,
    currency: row.currency,
    status: toStatus(row.payment_order_status),
    pspPaymentId: row.psp_payment_id,
  }));
}

/** Orders with their statuses, in id order after `after` (reconciliation's check of statuses against postings). */
export async function orderStatusesPage(
  db: Queryable,
  after: string,
  limit: number,
): Promise<Array<{ paymentOrderId: string; status: OrderStatus }>> {
  const result = await db.query<{ payment_order_id: string; status: OrderStatus }>(
    `SELECT payment_order_id, payment_order_status AS status FROM payins.payment_order
      WHERE payment_order_id > $1 ORDER BY payment_order_id LIMIT $2`,
    [after, limit],
  );
  return result.rows.map((row) => ({ paymentOrderId: row.payment_order_id, status: row.status }));
}

/** A successful order with the moment it succeeded and its checkout's flow. */
export interface SucceededOrder extends PaymentOrder {
  succeededAt: Date;
  flow: Flow;
}

/**
 * Orders that moved to SUCCESS in [from, before), in the order they did (then checkout, position), after the
 * keyset `after` (the last row of the previous page), at most `limit`.
 */
export async function succeededBetween(
  db: Queryable,
  from: Date,
  before: Date,
  after: { at: Date; checkoutId: string; position: number } | undefined,
  limit: number,
): Promise<SucceededOrder[]> {
  const result = await db.query<OrderRow & { succeeded_at: Date; flow: Flow }>(
    `SELECT ${ORDER_COLUMNS.split(',')
      .map((column) => `o.${column.trim()}`)
      .join(', ')}, h.at AS succeeded_at, ev.flow
       FROM payins.payment_order o
       JOIN payins.payment_event ev ON ev.checkout_id = o.checkout_id
       JOIN LATERAL (SELECT min(at) AS at FROM payins.payment_order_status_history
                      WHERE payment_order_id = o.payment_order_id AND to_status = 'SUCCESS') h ON true
      WHERE o.payment_order_status = 'SUCCESS' AND h.at >= $1 AND h.at < $2
        AND ($3::timestamptz IS NULL OR (h.at, o.checkout_id, o.position) > ($3::timestamptz, $4::text, $5::int))
      ORDER BY h.at, o.checkout_id, o.position LIMIT $6`,
    [from, before, after?.at ?? null, after?.checkoutId ?? '', after?.position ?? 0, limit],
  );
  return result.rows.map((row) => ({ ...toOrder(row), succeededAt: row.succeeded_at, flow: row.flow }));
}
