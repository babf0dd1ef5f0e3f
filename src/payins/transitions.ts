import type { PoolClient } from '../db/pool.ts';
import { afterCommit } from '../db/tx.ts';
import type { Logger } from '../log.ts';
import { platformFeeMinor } from '../money/platform-fee.ts';
import { orderFxOf } from './fx-store.ts';
import type { PayinLedger } from './ledger.ts';
import type { PayinMetrics } from './metrics.ts';
import type { PayinEffects, SellerTerms } from './ports.ts';
import { isFinal, transition, type OrderEvent, type Transition } from './state-machine.ts';
import { recordEvent } from '../events/index.ts';
import {
  getCheckout,
  getOrder,
  getOrders,
  insertHistory,
  refreshPaymentDone,
  updateOrderStatus,
} from './store.ts';
import type { PaymentOrder } from './types.ts';
import { checkoutToWire, orderToWire } from './wire.ts';

export interface TransitionDeps {
  ledger: PayinLedger;
  sellerTerms: SellerTerms;
  effects: PayinEffects;
  metrics: PayinMetrics;
  log: Logger;
}

/** PSP references and error details that travel with a status change. */
export interface EventFacts {
  pspPaymentId?: string | undefined;
  pspChargeId?: string | undefined;
  declineCode?: string | undefined;
  lastError?: string | undefined;
  details?: Record<string, unknown>;
  /** Apply only if the order's version is still this one (a settler that read, then asked the PSP). */
  expectVersion?: bigint;
}

export type ApplyResult =
  | { applied: true; order: PaymentOrder; transition: Transition }
  | { applied: false; order: PaymentOrder | undefined; transition: Transition | undefined; why: string };

/** The order as its event carries it: the wire shape, its version and update time (receivers drop stale events). */
export function orderPayload(order: PaymentOrder): Record<string, unknown> {
  return {
    ...orderToWire(order),
    reason: order.statusReason,
    version: order.version.toString(),
    updated_at: order.updatedAt.toISOString(),
  };
}

/** `payment_order.succeeded` / `payment_order.failed` (issue 14's names); other moves by their status. */
export function orderEventType(to: string): string {
  if (to === 'SUCCESS') return 'payment_order.succeeded';
  if (to === 'FAILED') return 'payment_order.failed';
  return `payment_order.${to.toLowerCase()}`;
}

/** `checkout.completed`: the checkout's final status with its orders. */
async function checkoutCompleted(client: PoolClient, checkoutId: string): Promise<Record<string, unknown>> {
  const checkout = await getCheckout(client, checkoutId);
  const orders = await getOrders(client, checkoutId);
  return checkout ? { ...checkoutToWire(checkout, orders) } : { checkout_id: checkoutId };
}

type StoredOrder = NonNullable<Awaited<ReturnType<typeof getOrder>>>;

/**
 * The SUCCESS side effects, in the caller's transaction: the platform fee on the seller's terms, the ledger entry,
 * and the payouts module's hold of the seller's share.
 */
async function bookSuccess(
  client: PoolClient,
  deps: TransitionDeps,
  order: StoredOrder,
  facts: EventFacts,
): Promise<{ feeMinor: bigint | null; entryId: string | undefined }> {
  // The seller's own commission when one was agreed, and the seller's hold period (docs/payouts.md).
  const terms = await deps.sellerTerms.termsFor(client, order.sellerAccount);
  // A converted order credits the seller in their currency: the fee is taken there (docs/currencies.md).
  const conversion = (await orderFxOf(client, [order.paymentOrderId])).get(order.paymentOrderId);
  const credited = conversion
    ? { currency: conversion.settlementCurrency, grossMinor: conversion.settlementMinor }
    : { currency: order.currency, grossMinor: order.amountMinor };
  const feeMinor = platformFeeMinor(credited.grossMinor, terms.fee);
  const posted = await deps.ledger.postPayinSuccess(client, {
    paymentOrderId: order.paymentOrderId,
    checkoutId: order.checkoutId,
    sellerAccount: order.sellerAccount,
    currency: order.currency,
    grossMinor: order.amountMinor,
    feeMinor,
    pspPaymentId: facts.pspPaymentId ?? order.pspPaymentId,
    ...(conversion ? { conversion } : {}),
  });
  // The payouts module's hold of the seller's share, in this transaction (a credited pending balance always has it).
  await deps.effects.onPayinSucceeded(client, {
    paymentOrderId: order.paymentOrderId,
    sellerAccount: order.sellerAccount,
    currency: credited.currency,
    netMinor: credited.grossMinor - feeMinor,
    holdDays: terms.holdDays,
  });
  return { feeMinor, entryId: posted.entryId };
}

/**
 * Applies one event to one payment order inside the caller's transaction: the state machine decides; a move
 * updates the order, appends the history, records the event, and on SUCCESS posts the ledger entry and sets
 * `ledger_updated`/`wallet_updated` — all in this transaction, so none is seen without the others. An illegal
 * event is refused and logged, never applied.
 */
export async function applyOrderEvent(
  client: PoolClient,
  deps: TransitionDeps,
  paymentOrderId: string,
  event: OrderEvent,
  facts: EventFacts = {},
): Promise<ApplyResult> {
  const order = await getOrder(client, paymentOrderId, { forUpdate: true });
  if (!order) return { applied: false, order: undefined, transition: undefined, why: 'not_found' };
  if (facts.expectVersion !== undefined && facts.expectVersion !== order.version) {
    return { applied: false, order, transition: undefined, why: 'stale' };
  }
  const decided = transition(order.status, event);
  if (decided.kind === 'illegal') {
    afterCommit(client, () => deps.metrics.illegalTransitions.inc());
    deps.log.warn(
      { paymentOrderId, from: order.status, event: event.type, reason: decided.reason },
      'illegal payment order transition refused',
    );
    return { applied: false, order, transition: decided, why: 'illegal' };
  }
  if (decided.kind === 'noop') return { applied: false, order, transition: decided, why: 'noop' };

  const to = decided.to;
  const { feeMinor, entryId } =
    to === 'SUCCESS'
      ? await bookSuccess(client, deps, order, facts)
      : { feeMinor: order.feeMinor, entryId: undefined };
  const after = await updateOrderStatus(client, paymentOrderId, {
    to,
    reason: decided.reason,
    feeMinor,
    booked: to === 'SUCCESS',
    pspPaymentId: facts.pspPaymentId ?? null,
    pspChargeId: facts.pspChargeId ?? null,
    declineCode: facts.declineCode ?? null,
    lastError: facts.lastError ?? null,
    final: isFinal(to),
  });
  await insertHistory(client, {
    paymentOrderId,
    from: order.status,
    to,
    reason: decided.reason,
    details: { ...(facts.details ?? {}), ...(entryId === undefined ? {} : { ledger_entry_id: entryId }) },
  });
  await recordEvent(client, orderEventType(to), orderPayload(after));
  if (isFinal(to)) {
    const done = await refreshPaymentDone(client, order.checkoutId);
    if (done)
      await recordEvent(client, 'checkout.completed', await checkoutCompleted(client, order.checkoutId));
  }
  // Counted once the transaction commits: a rolled-back or retried transaction moved nothing.
  afterCommit(client, () => deps.metrics.transitions.inc({ to }));
  return { applied: true, order: after, transition: decided };
}
