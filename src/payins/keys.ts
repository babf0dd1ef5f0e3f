/**
 * Idempotency keys we send to the PSP. Derived from our ids only, so they are identical on every retry, after a
 * crash, in every process: the PSP acts at most once per key.
 */
export function chargeIdempotencyKey(paymentOrderId: string): string {
  return `bursar:po:${paymentOrderId}`;
}

export function sessionIdempotencyKey(checkoutId: string): string {
  return `bursar:checkout:${checkoutId}`;
}

export function chargeMetadata(order: {
  paymentOrderId: string;
  checkoutId: string;
  sellerAccount: string;
}): Record<string, string> {
  return {
    payment_order_id: order.paymentOrderId,
    checkout_id: order.checkoutId,
    seller_account: order.sellerAccount,
    bursar_key: chargeIdempotencyKey(order.paymentOrderId),
  };
}
