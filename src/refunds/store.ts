import type { Queryable } from '../db/pool.ts';
import type { Refund, RefundBooking, RefundStatus, RefundStatusChange } from './types.ts';

/** The SQL of the `refunds` schema (migrations/0140_refunds.sql). Nothing outside this module reads it. */

interface Row {
  id: string;
  payment_order_id: string;
  checkout_id: string;
  seller_account: string;
  amount_minor: bigint;
  currency: string;
  status: RefundStatus;
  source: 'api' | 'psp';
  reason: string | null;
  metadata: Record<string, string>;
  failure_reason: string | null;
  psp_payment_id: string;
  psp_refund_id: string | null;
  attempts: number;
  next_attempt_at: Date | null;
  last_error: string | null;
  needs_attention: boolean;
  next_poll_at: Date | null;
  poll_count: number;
  ledger_entry_id: string | null;
  booking: { platformFeeBackMinor: string; split: Record<string, string> } | null;
  reversal_entry_id: string | null;
  platform_fee_policy: 'keep' | 'proportional';
  psp_fee_policy: 'platform' | 'seller';
  psp_fee_due: boolean;
  psp_fee_entry_id: string | null;
  fx_due: boolean;
  created_at: Date;
  updated_at: Date;
}

export const REFUND_COLUMNS = `id, payment_order_id, checkout_id, seller_account, amount_minor, currency, status, source, reason,
  metadata, failure_reason, psp_payment_id, psp_refund_id, attempts, next_attempt_at, last_error, needs_attention,
  next_poll_at, poll_count, ledger_entry_id, booking, reversal_entry_id, platform_fee_policy, psp_fee_policy,
  psp_fee_due, psp_fee_entry_id, fx_due, created_at, updated_at`;

function bookingOf(raw: Row['booking']): RefundBooking | null {
  if (raw === null) return null;
  const part = (name: string) => BigInt(raw.split[name] ?? '0');
  return {
    platformFeeBackMinor: BigInt(raw.platformFeeBackMinor),
    split: {
      pending: part('pending'),
      available: part('available'),
      reserved: part('reserved'),
      receivable: part('receivable'),
    },
  };
}

export function bookingToJson(booking: RefundBooking): string {
  return JSON.stringify({
    platformFeeBackMinor: booking.platformFeeBackMinor.toString(),
    split: {
      pending: booking.split.pending.toString(),
      available: booking.split.available.toString(),
      reserved: booking.split.reserved.toString(),
      receivable: booking.split.receivable.toString(),
    },
  });
}

export function toRefund(row: Row): Refund {
  return {
    id: row.id,
    paymentOrderId: row.payment_order_id,
    checkoutId: row.checkout_id,
    sellerAccount: row.seller_account,
    amountMinor: row.amount_minor,
    currency: row.currency,
    status: row.status,
    source: row.source,
    reason: row.reason,
    metadata: row.metadata,
    failureReason: row.failure_reason,
    pspPaymentId: row.psp_payment_id,
    pspRefundId: row.psp_refund_id,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    needsAttention: row.needs_attention,
    nextPollAt: row.next_poll_at,
    pollCount: row.poll_count,
    ledgerEntryId: row.ledger_entry_id,
    booking: bookingOf(row.booking),
    reversalEntryId: row.reversal_entry_id,
    platformFeePolicy: row.platform_fee_policy,
    pspFeePolicy: row.psp_fee_policy,
    pspFeeDue: row.psp_fee_due,
    pspFeeEntryId: row.psp_fee_entry_id,
    fxDue: row.fx_due,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function getRefund(
  db: Queryable,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<Refund | undefined> {
  const found = await db.query<Row>(
    `SELECT ${REFUND_COLUMNS} FROM refunds.refunds WHERE id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  const row = found.rows[0];
  return row ? toRefund(row) : undefined;
}

export async function getRefundByPspId(
  db: Queryable,
  pspRefundId: string,
  options: { forUpdate?: boolean } = {},
): Promise<Refund | undefined> {
  const found = await db.query<Row>(
    `SELECT ${REFUND_COLUMNS} FROM refunds.refunds WHERE psp_refund_id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`,
    [pspRefundId],
  );
  const row = found.rows[0];
  return row ? toRefund(row) : undefined;
}

export async function refundsWhere(db: Queryable, where: string, params: unknown[]): Promise<Refund[]> {
  const found = await db.query<Row>(`SELECT ${REFUND_COLUMNS} FROM refunds.refunds r WHERE ${where}`, params);
  return found.rows.map(toRefund);
}

export interface NewRefund {
  id: string;
  paymentOrderId: string;
  checkoutId: string;
  sellerAccount: string;
  amountMinor: bigint;
  currency: string;
  status: RefundStatus;
  source: 'api' | 'psp';
  reason: string | null;
  metadata: Record<string, string>;
  pspPaymentId: string;
  pspRefundId: string | null;
  platformFeePolicy: 'keep' | 'proportional';
  pspFeePolicy: 'platform' | 'seller';
  apiKeyId: string | null;
  /** Execution due now (API refunds); null for refunds the PSP made. */
  executeNow: boolean;
}

export async function insertRefund(db: Queryable, refund: NewRefund): Promise<void> {
  await db.query(
    `INSERT INTO refunds.refunds (id, payment_order_id, checkout_id, seller_account, amount_minor, currency, status,
       source, reason, metadata, psp_payment_id, psp_refund_id, platform_fee_policy, psp_fee_policy, api_key_id,
       next_attempt_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, CASE WHEN $16 THEN now() END)`,
    [
      refund.id,
      refund.paymentOrderId,
      refund.checkoutId,
      refund.sellerAccount,
      refund.amountMinor,
      refund.currency,
      refund.status,
      refund.source,
      refund.reason,
      JSON.stringify(refund.metadata),
      refund.pspPaymentId,
      refund.pspRefundId,
      refund.platformFeePolicy,
      refund.pspFeePolicy,
      refund.apiKeyId,
      refund.executeNow,
    ],
  );
  await insertHistory(
    db,
    refund.id,
    null,
    refund.status,
    refund.source === 'api' ? 'created' : 'made_at_psp',
    {},
  );
}

export async function insertHistory(
  db: Queryable,
  refundId: string,
  from: RefundStatus | null,
  to: RefundStatus,
  reason: string,
  details: Record<string, unknown>,
): Promise<void> {
  await db.query(
    `INSERT INTO refunds.status_history (refund_id, from_status, to_status, reason, details)
     VALUES ($1, $2, $3, $4, $5)`,
    [refundId, from, to, reason, JSON.stringify(details)],
  );
}

export async function getHistory(db: Queryable, refundId: string): Promise<RefundStatusChange[]> {
  const found = await db.query<{
    at: Date;
    from_status: RefundStatus | null;
    to_status: RefundStatus;
    reason: string;
    details: Record<string, unknown>;
  }>(
    `SELECT at, from_status, to_status, reason, details FROM refunds.status_history
      WHERE refund_id = $1 ORDER BY id`,
    [refundId],
  );
  return found.rows.map((row) => ({
    at: row.at,
    from: row.from_status,
    to: row.to_status,
    reason: row.reason,
    details: row.details,
  }));
}

/** Sets columns of one refund (names are this module's own constants, never input). */
export async function updateRefund(db: Queryable, id: string, set: Record<string, unknown>): Promise<void> {
  const names = Object.keys(set);
  if (names.length === 0) return;
  const assignments = names.map((name, index) => `${name} = $${index + 2}`).join(', ');
  await db.query(`UPDATE refunds.refunds SET ${assignments}, updated_at = now() WHERE id = $1`, [
    id,
    ...names.map((name) => set[name]),
  ]);
}

export interface RefundableRow {
  capturedMinor: bigint;
  refundedMinor: bigint;
  bookedMinor: bigint;
  feeBackMinor: bigint;
}

/** The order's refundable row, created at its captured amount when missing, and locked for this transaction. */
export async function lockRefundable(
  db: Queryable,
  order: { paymentOrderId: string; currency: string; amountMinor: bigint },
): Promise<RefundableRow> {
  await db.query(
    `INSERT INTO refunds.refundable (payment_order_id, currency, captured_minor) VALUES ($1, $2, $3)
     ON CONFLICT (payment_order_id) DO NOTHING`,
    [order.paymentOrderId, order.currency, order.amountMinor],
  );
  const found = await db.query<{
    captured_minor: bigint;
    refunded_minor: bigint;
    booked_minor: bigint;
    fee_back_minor: bigint;
  }>(
    `SELECT captured_minor, refunded_minor, booked_minor, fee_back_minor FROM refunds.refundable
      WHERE payment_order_id = $1 FOR UPDATE`,
    [order.paymentOrderId],
  );
  const row = found.rows[0];
  if (!row) throw new Error(`refundable row of ${order.paymentOrderId} vanished under its lock`);
  return {
    capturedMinor: row.captured_minor,
    refundedMinor: row.refunded_minor,
    bookedMinor: row.booked_minor,
    feeBackMinor: row.fee_back_minor,
  };
}

/** Adds to (or, negative, takes from) the order's refunded, booked and fee-back totals; the CHECKs have the last word. */
export async function adjustRefundable(
  db: Queryable,
  paymentOrderId: string,
  delta: { refunded?: bigint; booked?: bigint; feeBack?: bigint },
): Promise<void> {
  await db.query(
    `UPDATE refunds.refundable SET refunded_minor = refunded_minor + $2, booked_minor = booked_minor + $3,
       fee_back_minor = fee_back_minor + $4, updated_at = now() WHERE payment_order_id = $1`,
    [paymentOrderId, delta.refunded ?? 0n, delta.booked ?? 0n, delta.feeBack ?? 0n],
  );
}

/** Refunded amounts (succeeded refunds) per payment order: the pay-in wire's `amount_refunded`. */
export async function refundTotals(db: Queryable, orderIds: string[]): Promise<Map<string, bigint>> {
  const totals = new Map<string, bigint>();
  if (orderIds.length === 0) return totals;
  const found = await db.query<{ payment_order_id: string; total: bigint }>(
    `SELECT payment_order_id, sum(amount_minor)::int8 AS total FROM refunds.refunds
      WHERE payment_order_id = ANY($1::text[]) AND status = 'succeeded' GROUP BY payment_order_id`,
    [orderIds],
  );
  for (const row of found.rows) totals.set(row.payment_order_id, row.total);
  return totals;
}

/** Refunds still succeeded that succeeded in [from, before), oldest first (reconciliation's `RefundSide`). */
export async function succeededRefundsBetween(
  db: Queryable,
  from: Date,
  before: Date,
  limit: number,
): Promise<
  Array<{
    refundId: string;
    pspRefundId: string;
    paymentOrderId: string;
    amountMinor: bigint;
    currency: string;
    succeededAt: Date;
  }>
> {
  const found = await db.query<{
    id: string;
    psp_refund_id: string;
    payment_order_id: string;
    amount_minor: bigint;
    currency: string;
    at: Date;
  }>(
    `SELECT r.id, r.psp_refund_id, r.payment_order_id, r.amount_minor, r.currency, h.at
       FROM refunds.status_history h JOIN refunds.refunds r ON r.id = h.refund_id
      WHERE h.to_status = 'succeeded' AND h.at >= $1 AND h.at < $2 AND r.status = 'succeeded'
      ORDER BY h.at, h.id LIMIT $3`,
    [from, before, limit],
  );
  return found.rows.map((row) => ({
    refundId: row.id,
    pspRefundId: row.psp_refund_id,
    paymentOrderId: row.payment_order_id,
    amountMinor: row.amount_minor,
    currency: row.currency,
    succeededAt: row.at,
  }));
}
