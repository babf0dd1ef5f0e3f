import type { HostedSessionRequest } from '../psp/index.ts';
import { sessionIdempotencyKey } from './keys.ts';

/**
 * The PSP session request of a hosted checkout. Every caller (the POST, a retry that takes it over, the poller
 * registering a session nobody stored) must send exactly these parameters: the PSP replays a request only when the
 * idempotency key comes with the same parameters, and refuses the key otherwise. So they are derived from stored
 * data only — the checkout and its orders — never from the moment or the caller.
 */
export function hostedSessionRequest(
  checkout: { checkoutId: string; totalMinor: bigint; currency: string; returnUrl: string },
  paymentOrderIds: string[],
): HostedSessionRequest {
  const { checkoutId } = checkout;
  const count = paymentOrderIds.length;
  return {
    idempotencyKey: sessionIdempotencyKey(checkoutId),
    amountMinor: checkout.totalMinor,
    currency: checkout.currency,
    successUrl: withCheckoutParam(checkout.returnUrl, checkoutId, 'succeeded'),
    cancelUrl: withCheckoutParam(checkout.returnUrl, checkoutId, 'cancelled'),
    clientReferenceId: checkoutId,
    description: `checkout ${checkoutId} (${count} order${count === 1 ? '' : 's'})`,
    metadata: {
      checkout_id: checkoutId,
      payment_order_ids: paymentOrderIds.join(',').slice(0, 500),
    },
  };
}

/** The marketplace's return URL with the checkout id and the outcome, so its page knows what came back. */
function withCheckoutParam(returnUrl: string, checkoutId: string, outcome: string): string {
  const url = new URL(returnUrl);
  url.searchParams.set('checkout_id', checkoutId);
  url.searchParams.set('outcome', outcome);
  return url.toString();
}
