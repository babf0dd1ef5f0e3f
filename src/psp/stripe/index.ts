export {
  createStripePsp,
  createStripeClient,
  STRIPE_API_VERSION,
  WEBHOOK_TOLERANCE_SECONDS,
  PAYMENT_ORDER_METADATA_KEY,
} from './adapter.ts';
export { loadStripeConfig, type StripePspConfig } from './config.ts';
export { mapStripeError } from './errors.ts';
export { interpretStripeEvent, STRIPE_EVENT_TYPES } from './events.ts';
export { REFUND_METADATA_KEY, toPspRefundFacts } from './refunds.ts';
