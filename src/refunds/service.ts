import type { PoolClient } from '../db/pool.ts';
import { sqlState } from '../db/tx.ts';
import { AppError } from '../errors.ts';
import { recordEvent } from '../events/index.ts';
import { idempotentOnce, requestFingerprint, type IdempotencyKeyRef } from '../idempotency/index.ts';
import { assertCurrency, parseAmount } from '../money/index.ts';
import { newRefundId } from './ids.ts';
import type { RefundsRuntime } from './runtime.ts';
import { adjustRefundable, getRefund, insertRefund, lockRefundable } from './store.ts';
import type { Refund, RefundableOrder } from './types.ts';
import { refundToWire } from './wire.ts';

/** The Idempotency-Keys of the refund POSTs, in the shared table (src/idempotency/). */
export const REFUNDS_IDEMPOTENCY_SCOPE = 'refunds';
const TTL_MS = 24 * 60 * 60 * 1000;
const LEASE_MS = 60_000;

export interface RefundBody {
  amount?: unknown;
  currency?: string | undefined;
  reason?: string | undefined;
  metadata?: Record<string, string> | undefined;
}

export interface CreateRequest {
  apiKeyId: string;
  idempotencyKey: string;
  path: string;
  body: unknown;
}

export interface CreateResponse {
  status: number;
  body: unknown;
  replayed: boolean;
}

/**
 * Runs a refund POST exactly once per Idempotency-Key (`idempotentOnce`): in one transaction, replay the stored
 * answer or claim the key, do the work (insert the refunds, pending, due for the executor) and store the answer. A
 * concurrent duplicate waits on the key's row and then replays. Refusals are not stored, so a corrected retry is
 * decided afresh.
 */
export async function idempotentCreate(
  rt: RefundsRuntime,
  request: CreateRequest,
  work: (client: PoolClient) => Promise<{ status: number; body: unknown }>,
): Promise<CreateResponse> {
  const ref: IdempotencyKeyRef = {
    apiKeyId: request.apiKeyId,
    scope: REFUNDS_IDEMPOTENCY_SCOPE,
    key: request.idempotencyKey,
  };
  try {
    return await idempotentOnce(
      rt.ctx.pool,
      ref,
      requestFingerprint('POST', request.path, request.body),
      { ttlMs: TTL_MS, leaseMs: LEASE_MS },
      work,
    );
  } catch (error) {
    // The refundable CHECK (refunded <= captured): the database's last word on "never above captured".
    if (sqlState(error) === '23514')
      throw new AppError('refund_exceeds_remaining', 'refunds would exceed the captured amount', {
        field: 'amount',
      });
    throw error;
  }
}

/** The amount asked for, in the order's currency: all that is left when none is given. */
function amountOf(body: RefundBody, order: RefundableOrder, remaining: bigint): bigint {
  if (body.currency !== undefined) {
    let currency: string;
    try {
      currency = assertCurrency(body.currency);
    } catch (error) {
      throw error instanceof AppError ? error.atField('currency') : error;
    }
    if (currency !== order.currency)
      throw new AppError(
        'currency_mismatch',
        `currency: payment order ${order.paymentOrderId} is in ${order.currency}`,
        {
          field: 'currency',
        },
      );
  }
  if (body.amount === undefined) return remaining;
  try {
    return parseAmount(body.amount, order.currency);
  } catch (error) {
    throw error instanceof AppError ? error.atField('amount') : error;
  }
}

/**
 * Records one refund of `order` (the intent), pending and due for the executor, with its amount added to the
 * order's refunded total under the order's refundable row lock: refused above what is left.
 */
export async function createRefundOf(
  client: PoolClient,
  rt: RefundsRuntime,
  order: RefundableOrder,
  body: RefundBody,
  apiKeyId: string,
): Promise<Refund> {
  if (order.status !== 'SUCCESS' || order.pspPaymentId === null)
    throw new AppError(
      'payment_not_refundable',
      `payment order ${order.paymentOrderId} is ${order.status}; only a SUCCESS order can be refunded`,
      { field: 'payment_order_id' },
    );
  const refundable = await lockRefundable(client, order);
  const remaining = refundable.capturedMinor - refundable.refundedMinor;
  const amountMinor = amountOf(body, order, remaining);
  if (remaining <= 0n || amountMinor > remaining)
    throw new AppError(
      'refund_exceeds_remaining',
      `amount: payment order ${order.paymentOrderId} has ${remaining.toString()} minor units left to refund`,
      { field: 'amount' },
    );
  const policy = await rt.terms.refundPolicyFor(client, order.sellerAccount);
  const id = newRefundId();
  await adjustRefundable(client, order.paymentOrderId, { refunded: amountMinor });
  await insertRefund(client, {
    id,
    paymentOrderId: order.paymentOrderId,
    checkoutId: order.checkoutId,
    sellerAccount: order.sellerAccount,
    amountMinor,
    currency: order.currency,
    status: 'pending',
    source: 'api',
    reason: body.reason ?? null,
    metadata: body.metadata ?? {},
    pspPaymentId: order.pspPaymentId,
    pspRefundId: null,
    platformFeePolicy: policy.platformFee,
    pspFeePolicy: policy.pspFee,
    apiKeyId,
    executeNow: true,
  });
  const refund = await getRefund(client, id);
  if (!refund) throw new Error(`refund ${id} vanished in its own transaction`);
  await recordEvent(client, 'refund.created', refundToWire(refund));
  return refund;
}

/** `POST /v1/refunds`: one refund of one payment order. */
export async function createRefund(
  rt: RefundsRuntime,
  request: CreateRequest & { paymentOrderId: string; refund: RefundBody },
): Promise<CreateResponse> {
  return await idempotentCreate(rt, request, async (client) => {
    const [order] = await rt.orders.byIds(client, [request.paymentOrderId]);
    if (!order) throw new AppError('not_found', `no payment order ${request.paymentOrderId}`);
    const refund = await createRefundOf(client, rt, order, request.refund, request.apiKeyId);
    return { status: 201, body: refundToWire(refund, []) };
  });
}

/** The orders of a checkout a checkout refund covers: the listed ones, or every order with something left. */
async function checkoutTargets(
  client: PoolClient,
  rt: RefundsRuntime,
  checkoutId: string,
  listed: string[] | undefined,
): Promise<RefundableOrder[]> {
  const orders = await rt.orders.byCheckout(client, checkoutId);
  if (orders.length === 0) throw new AppError('not_found', `no checkout ${checkoutId}`);
  if (listed !== undefined) {
    return listed.map((id) => {
      const order = orders.find((candidate) => candidate.paymentOrderId === id);
      if (!order)
        throw new AppError('not_found', `checkout ${checkoutId} has no payment order ${id}`, {
          field: 'payment_orders',
        });
      return order;
    });
  }
  const left: RefundableOrder[] = [];
  for (const order of orders.filter((candidate) => candidate.status === 'SUCCESS')) {
    const refundable = await lockRefundable(client, order);
    if (refundable.capturedMinor > refundable.refundedMinor) left.push(order);
  }
  if (left.length === 0)
    throw new AppError('payment_not_refundable', `checkout ${checkoutId} has nothing left to refund`);
  return left;
}

/**
 * `POST /v1/checkouts/{id}/refunds`: one refund per order (each its own PSP refund and key, against the order's
 * charge — one shared charge in the hosted flow), all under one Idempotency-Key and one transaction.
 */
export async function createCheckoutRefunds(
  rt: RefundsRuntime,
  request: CreateRequest & { checkoutId: string; paymentOrders: string[] | undefined; refund: RefundBody },
): Promise<CreateResponse> {
  if (request.refund.amount !== undefined && request.paymentOrders?.length !== 1)
    throw new AppError(
      'validation_failed',
      'amount: a checkout refund with an amount names exactly one order in payment_orders; without it, what is left of every order is refunded',
      { field: 'amount' },
    );
  return await idempotentCreate(rt, request, async (client) => {
    const orders = await checkoutTargets(client, rt, request.checkoutId, request.paymentOrders);
    const refunds: Refund[] = [];
    for (const order of orders)
      refunds.push(await createRefundOf(client, rt, order, request.refund, request.apiKeyId));
    return {
      status: 201,
      body: { object: 'list', data: refunds.map((refund) => refundToWire(refund, [])), has_more: false },
    };
  });
}
