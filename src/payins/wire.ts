import { assertCurrency, formatAmount } from '../money/index.ts';
import type { CheckoutWire, PaymentOrderWire, StatusChangeWire } from './http-schemas.ts';
import type { OrderConversion } from './ports.ts';
import type { Checkout, PaymentOrder, StatusChange } from './types.ts';

/** A stored amount on the wire; the currency was checked when it was stored. */
export function wireAmount(amountMinor: bigint, currency: string): string {
  return formatAmount(amountMinor, assertCurrency(currency));
}

export type CheckoutStatus =
  'processing' | 'requires_action' | 'succeeded' | 'failed' | 'partially_succeeded';

/** The checkout's status, derived from its orders' statuses (the orders are the truth). */
export function checkoutStatusOf(checkout: Checkout, orders: PaymentOrder[]): CheckoutStatus {
  const final = orders.every((order) => order.status === 'SUCCESS' || order.status === 'FAILED');
  if (!final) {
    const awaitingBuyer =
      checkout.flow === 'hosted_page' &&
      checkout.pspSessionUrl !== null &&
      orders.some((order) => order.status === 'EXECUTING');
    return awaitingBuyer ? 'requires_action' : 'processing';
  }
  if (orders.every((order) => order.status === 'SUCCESS')) return 'succeeded';
  if (orders.every((order) => order.status === 'FAILED')) return 'failed';
  return 'partially_succeeded';
}

export function orderToWire(order: PaymentOrder): PaymentOrderWire {
  return {
    payment_order_id: order.paymentOrderId,
    checkout_id: order.checkoutId,
    seller_account: order.sellerAccount,
    amount: wireAmount(order.amountMinor, order.currency),
    currency: order.currency,
    status: order.status,
    status_reason: order.statusReason,
    decline_code: order.declineCode,
    ledger_updated: order.ledgerUpdated,
    wallet_updated: order.walletUpdated,
    needs_attention: order.needsAttention,
    created_at: order.createdAt.toISOString(),
    updated_at: order.updatedAt.toISOString(),
  };
}

export function historyToWire(history: StatusChange[]): StatusChangeWire[] {
  return history.map((change) => ({
    at: change.at.toISOString(),
    from: change.from,
    to: change.to,
    why: change.reason,
  }));
}

export function checkoutToWire(
  checkout: Checkout,
  orders: PaymentOrder[],
  risk?: { decision: string; reasons: string[] },
): CheckoutWire {
  const status = checkoutStatusOf(checkout, orders);
  const body: CheckoutWire = {
    checkout_id: checkout.checkoutId,
    status,
    is_payment_done: checkout.isPaymentDone,
    flow: checkout.flow,
    amount: wireAmount(checkout.totalMinor, checkout.currency),
    currency: checkout.currency,
    payment_orders: orders.map((order) => ({
      payment_order_id: order.paymentOrderId,
      seller_account: order.sellerAccount,
      amount: wireAmount(order.amountMinor, order.currency),
      currency: order.currency,
      status: order.status,
      status_reason: order.statusReason,
    })),
    created_at: checkout.createdAt.toISOString(),
  };
  if (risk) body.risk = { decision: risk.decision, reasons: risk.reasons };
  if (checkout.flow === 'hosted_page' && checkout.pspSessionUrl !== null && !checkout.isPaymentDone) {
    body.next_action = { type: 'redirect_to_url', redirect_url: checkout.pspSessionUrl };
  }
  return body;
}

/** A converted order's settlement side on the wire (docs/currencies.md). */
export function settlementToWire(conversion: OrderConversion) {
  return {
    amount: wireAmount(conversion.settlementMinor, conversion.settlementCurrency),
    currency: conversion.settlementCurrency,
    rate: conversion.rate,
    mid_rate: conversion.midRate,
    fx_quote_id: conversion.quoteId,
    source: conversion.source,
    rate_date: conversion.rateDate,
  };
}
