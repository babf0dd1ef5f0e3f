/**
 * Stripe's webhook signature: `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.payload">`, keyed with
 * the endpoint's `whsec_…` secret used as-is. Bursar signs its own outgoing webhooks the same way.
 */
export { signPayload } from '../src/webhooks/signature.ts';
