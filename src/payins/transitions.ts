import type { PoolClient } from '../db/pool.ts';
import { afterCommit } from '../db/tx.ts';
import { recordEvents } from '../events/index.ts';
import type { Logger } from '../log.ts';
import { platformFeeMinor, type FeePolicy } from '../money/platform-fee.ts';
import { orderFxOf } from './fx-store.ts';
import type { PayinLedger, PayinSuccessPosting } from './ledger.ts';
import type { PayinMetrics } from './metrics.ts';
import type { OrderConversion, PayinEffects, PayinSucceeded, SellerTerms } from './ports.ts';
import { isFinal, transition, type OrderEvent, type OrderStatus, type Transition } from './state-machine.ts';
import {
  getOrdersById,
  getOrdersOfCheckouts,
  insertHistories,
  refreshPaymentsDone,
  updateOrderStatuses,
  type StatusChangeRow,
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
function orderPayload(order: PaymentOrder): Record<string, unknown> {
  return {
    ...orderToWire(order),
    reason: order.statusReason,
    version: order.version.toString(),
    updated_at: order.updatedAt.toISOString(),
  };
}

/** `payment_order.succeeded` / `payment_order.failed` (issue 14's names); other moves by their status. */
function orderEventType(to: string): string {
  if (to === 'SUCCESS') return 'payment_order.succeeded';
  if (to === 'FAILED') return 'payment_order.failed';
  return `payment_order.${to.toLowerCase()}`;
}

/**
 * Applies one event to one payment order inside the caller's transaction: the state machine decides; a move
 * updates the order, appends the history, records the event, and on SUCCESS posts the ledger entry and sets
 * `ledger_updated`/`wallet_updated` — all in this transaction, so none is seen without the others. An illegal
 * event is refused and logged, never applied. (`applyOrderEvents` with one order.)
 */
export async function applyOrderEvent(
  client: PoolClient,
  deps: TransitionDeps,
  paymentOrderId: string,
  event: OrderEvent,
  facts: EventFacts = {},
): Promise<ApplyResult> {
  const [result] = await applyOrderEvents(client, deps, [{ paymentOrderId, event, facts }]);
  if (result === undefined) throw new Error(`payment order ${paymentOrderId} has no result`);
  return result;
}

/** One order's event in a batch. */
export interface BatchEvent {
  paymentOrderId: string;
  event: OrderEvent;
  facts: EventFacts;
}

/** An order the batch moves: the order as locked, where it goes and why. */
interface Move {
  index: number;
  item: BatchEvent;
  order: PaymentOrder;
  to: OrderStatus;
  reason: string;
  transition: Transition;
}

/**
 * Applies an event to each of many distinct orders at once, in the caller's transaction, with the same outcome for
 * each as applying them one after the other — in a fixed number of statements however many orders: the orders
 * locked and read in one, the sellers' terms and the orders' conversions in one each, every success's ledger entry
 * in one, the holds, the status changes, their history and their events in one each, and the checkouts that are
 * done with their `checkout.completed` events in two more. All or nothing: should any statement fail, the caller
 * rolls the whole batch back (a savepoint) and applies the events one order at a time, so one bad order fails
 * alone.
 * The orders must be distinct.
 */
export async function applyOrderEvents(
  client: PoolClient,
  deps: TransitionDeps,
  items: readonly BatchEvent[],
): Promise<ApplyResult[]> {
  if (items.length === 0) return [];
  const orders = await getOrdersById(
    client,
    items.map((item) => item.paymentOrderId),
    { forUpdate: true },
  );
  const results: Array<ApplyResult | undefined> = [];
  const moves: Move[] = [];
  items.forEach((item, index) => {
    const decided = decide(client, deps, item, orders.get(item.paymentOrderId));
    if ('result' in decided) results[index] = decided.result;
    else moves.push({ index, item, ...decided });
  });
  if (moves.length === 0) return results.map(defined);
  const booked = await bookSuccesses(
    client,
    deps,
    moves.filter((move) => move.to === 'SUCCESS'),
  );
  const after = await updateOrderStatuses(
    client,
    moves.map((move) => statusChange(move, booked.get(move.item.paymentOrderId))),
  );
  await insertHistories(
    client,
    moves.map((move) => {
      const entryId = booked.get(move.item.paymentOrderId)?.entryId;
      return {
        paymentOrderId: move.item.paymentOrderId,
        from: move.order.status,
        to: move.to,
        reason: move.reason,
        details: {
          ...(move.item.facts.details ?? {}),
          ...(entryId === undefined ? {} : { ledger_entry_id: entryId }),
        },
      };
    }),
  );
  const moved = moves.map((move) => ({ move, order: orderAfter(after, move) }));
  await recordEvents(client, [
    ...moved.map(({ move, order }) => ({ type: orderEventType(move.to), object: orderPayload(order) })),
    ...(await completedCheckouts(client, moved)),
  ]);
  for (const { move, order } of moved) {
    results[move.index] = { applied: true, order, transition: move.transition };
    afterCommit(client, () => deps.metrics.transitions.inc({ to: move.to }));
  }
  return results.map(defined);
}

function defined(result: ApplyResult | undefined): ApplyResult {
  if (result === undefined) throw new Error('an order of the batch has no result');
  return result;
}

function orderAfter(after: Map<string, PaymentOrder>, move: Move): PaymentOrder {
  const order = after.get(move.item.paymentOrderId);
  if (order === undefined) throw new Error(`payment order ${move.item.paymentOrderId} was not updated`);
  return order;
}

/** What the state machine says of one item: a move, or the result of not moving (as `applyOrderEvent`'s). */
function decide(
  client: PoolClient,
  deps: TransitionDeps,
  item: BatchEvent,
  order: PaymentOrder | undefined,
): { result: ApplyResult } | Omit<Move, 'index' | 'item'> {
  if (order === undefined)
    return { result: { applied: false, order: undefined, transition: undefined, why: 'not_found' } };
  if (item.facts.expectVersion !== undefined && item.facts.expectVersion !== order.version)
    return { result: { applied: false, order, transition: undefined, why: 'stale' } };
  const decided = transition(order.status, item.event);
  if (decided.kind === 'illegal') {
    afterCommit(client, () => deps.metrics.illegalTransitions.inc());
    deps.log.warn(
      {
        paymentOrderId: order.paymentOrderId,
        from: order.status,
        event: item.event.type,
        reason: decided.reason,
      },
      'illegal payment order transition refused',
    );
    return { result: { applied: false, order, transition: decided, why: 'illegal' } };
  }
  if (decided.kind === 'noop') return { result: { applied: false, order, transition: decided, why: 'noop' } };
  return { order, to: decided.to, reason: decided.reason, transition: decided };
}

interface Booked {
  feeMinor: bigint;
  entryId: string;
}

/**
 * The SUCCESS side effects of many orders (as `applyOrderEvent`'s `bookSuccess`): each seller's terms and each
 * order's conversion read once for all, every ledger entry in one statement, every hold in one.
 */
async function bookSuccesses(
  client: PoolClient,
  deps: TransitionDeps,
  moves: Move[],
): Promise<Map<string, Booked>> {
  if (moves.length === 0) return new Map();
  const sellers = [...new Set(moves.map((move) => move.order.sellerAccount))];
  const terms = await termsOf(client, deps, sellers);
  const conversions = await orderFxOf(
    client,
    moves.map((move) => move.order.paymentOrderId),
  );
  const postings: PayinSuccessPosting[] = [];
  const holds: PayinSucceeded[] = [];
  for (const move of moves) {
    const { order } = move;
    const seller = terms.get(order.sellerAccount);
    if (seller === undefined) throw new Error(`no terms for seller ${order.sellerAccount}`);
    const conversion = conversions.get(order.paymentOrderId);
    const credited = creditedOf(order, conversion);
    const feeMinor = platformFeeMinor(credited.grossMinor, seller.fee);
    postings.push({
      paymentOrderId: order.paymentOrderId,
      checkoutId: order.checkoutId,
      sellerAccount: order.sellerAccount,
      currency: order.currency,
      grossMinor: order.amountMinor,
      feeMinor,
      pspPaymentId: move.item.facts.pspPaymentId ?? order.pspPaymentId,
      ...(conversion ? { conversion } : {}),
    });
    holds.push({
      paymentOrderId: order.paymentOrderId,
      sellerAccount: order.sellerAccount,
      currency: credited.currency,
      netMinor: credited.grossMinor - feeMinor,
      holdDays: seller.holdDays,
    });
  }
  const entries = await postAll(client, deps, postings);
  await holdAll(client, deps, holds);
  return new Map(
    postings.map((posting, index) => [
      posting.paymentOrderId,
      { feeMinor: posting.feeMinor, entryId: entries[index]?.entryId ?? '' },
    ]),
  );
}

/** What a success credits the seller: in their currency when the order is converted (docs/currencies.md). */
function creditedOf(
  order: PaymentOrder,
  conversion: OrderConversion | undefined,
): { currency: string; grossMinor: bigint } {
  return conversion
    ? { currency: conversion.settlementCurrency, grossMinor: conversion.settlementMinor }
    : { currency: order.currency, grossMinor: order.amountMinor };
}

async function termsOf(
  client: PoolClient,
  deps: TransitionDeps,
  sellers: string[],
): Promise<Map<string, { fee: FeePolicy; holdDays: number }>> {
  if (deps.sellerTerms.termsForMany) return await deps.sellerTerms.termsForMany(client, sellers);
  const terms = new Map<string, { fee: FeePolicy; holdDays: number }>();
  for (const seller of sellers) terms.set(seller, await deps.sellerTerms.termsFor(client, seller));
  return terms;
}

async function postAll(
  client: PoolClient,
  deps: TransitionDeps,
  postings: PayinSuccessPosting[],
): Promise<Array<{ entryId: string }>> {
  if (deps.ledger.postPayinSuccesses) return await deps.ledger.postPayinSuccesses(client, postings);
  const entries: Array<{ entryId: string }> = [];
  for (const posting of postings) entries.push(await deps.ledger.postPayinSuccess(client, posting));
  return entries;
}

async function holdAll(client: PoolClient, deps: TransitionDeps, holds: PayinSucceeded[]): Promise<void> {
  if (deps.effects.onPayinsSucceeded) {
    await deps.effects.onPayinsSucceeded(client, holds);
    return;
  }
  for (const hold of holds) await deps.effects.onPayinSucceeded(client, hold);
}

function statusChange(move: Move, booked: Booked | undefined): StatusChangeRow {
  const { facts } = move.item;
  return {
    paymentOrderId: move.item.paymentOrderId,
    to: move.to,
    reason: move.reason,
    feeMinor: booked === undefined ? move.order.feeMinor : booked.feeMinor,
    booked: move.to === 'SUCCESS',
    pspPaymentId: facts.pspPaymentId ?? null,
    pspChargeId: facts.pspChargeId ?? null,
    declineCode: facts.declineCode ?? null,
    lastError: facts.lastError ?? null,
    final: isFinal(move.to),
  };
}

/** `checkout.completed` for each checkout a final move completed (its status with its orders, as stored now). */
async function completedCheckouts(
  client: PoolClient,
  moved: ReadonlyArray<{ move: Move; order: PaymentOrder }>,
): Promise<Array<{ type: string; object: Record<string, unknown> }>> {
  const touched = [
    ...new Set(moved.filter(({ move }) => isFinal(move.to)).map(({ order }) => order.checkoutId)),
  ];
  if (touched.length === 0) return [];
  const done = await refreshPaymentsDone(client, touched);
  if (done.length === 0) return [];
  const orders = await getOrdersOfCheckouts(
    client,
    done.map((checkout) => checkout.checkoutId),
  );
  // In the order the checkouts were first completed by the batch, as one-by-one application would record them.
  const rank = new Map(touched.map((id, index) => [id, index]));
  return done
    .sort((a, b) => (rank.get(a.checkoutId) ?? 0) - (rank.get(b.checkoutId) ?? 0))
    .map((checkout) => ({
      type: 'checkout.completed',
      object: { ...checkoutToWire(checkout, orders.get(checkout.checkoutId) ?? []) },
    }));
}
