import type { PspEvent, PspEventMeaning, PspPaymentOutcome, PspRefundFacts } from '../port.ts';
import { FINAL_DISPUTE_STATUSES, toPspDispute } from './disputes.ts';
import { chargeRefundsOf, refundFactsOf } from './refunds.ts';

/**
 * Stripe's events in Bursar's words (the PSP port's `interpretEvent`): Checkout Session events are about a hosted
 * checkout, PaymentIntent events about one saved-method payment order (named in the `payment_order_id` metadata
 * pay-ins set on the charge), refund, dispute and payout events about those. Pure.
 */

/** The metadata key that names the payment order a PaymentIntent paid for. */
const PAYMENT_ORDER_KEY = 'payment_order_id';

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function metadataOf(object: Record<string, unknown>): Record<string, unknown> {
  const metadata = object.metadata;
  return typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>) : {};
}

function sessionMeaning(
  type: string,
  object: Record<string, unknown>,
  paymentId: string | undefined,
): PspEventMeaning {
  const sessionId = text(object.id);
  if (sessionId === undefined) return { subject: 'none', why: 'session event without an id' };
  let outcome: PspPaymentOutcome;
  switch (type) {
    case 'checkout.session.completed':
      outcome =
        object.payment_status === 'paid' || object.payment_status === 'no_payment_required'
          ? { kind: 'succeeded', paymentId }
          : { kind: 'pending', reason: 'awaiting_async_payment', paymentId };
      break;
    case 'checkout.session.async_payment_succeeded':
      outcome = { kind: 'succeeded', paymentId };
      break;
    case 'checkout.session.async_payment_failed':
      outcome = { kind: 'failed', code: 'async_payment_failed', paymentId };
      break;
    case 'checkout.session.expired':
      outcome = { kind: 'expired' };
      break;
    default:
      return { subject: 'none', why: `unhandled ${type}` };
  }
  return { subject: 'session', sessionId, outcome };
}

function paymentIntentMeaning(
  type: string,
  object: Record<string, unknown>,
  paymentId: string | undefined,
): PspEventMeaning {
  const paymentOrderId = text(metadataOf(object)[PAYMENT_ORDER_KEY]);
  if (paymentOrderId === undefined)
    return { subject: 'none', why: 'payment intent without payment_order_id metadata' };
  const lastError = object.last_payment_error as { code?: unknown; decline_code?: unknown } | undefined;
  let outcome: PspPaymentOutcome;
  switch (type) {
    case 'payment_intent.succeeded':
      outcome = { kind: 'succeeded', paymentId, chargeId: text(object.latest_charge) };
      break;
    case 'payment_intent.payment_failed':
      outcome = {
        kind: 'failed',
        code: text(lastError?.decline_code) ?? text(lastError?.code) ?? 'payment_failed',
        paymentId,
      };
      break;
    case 'payment_intent.processing':
      outcome = { kind: 'pending', reason: 'psp_processing', paymentId };
      break;
    case 'payment_intent.requires_action':
      outcome = { kind: 'pending', reason: 'requires_action', paymentId };
      break;
    default:
      return { subject: 'none', why: `unhandled ${type}` };
  }
  return { subject: 'order', paymentOrderId, outcome };
}

function otherMeaning(
  type: string,
  object: Record<string, unknown>,
  paymentId: string | undefined,
): PspEventMeaning {
  const id = text(object.id);
  if (id === undefined) return { subject: 'none', why: `unhandled ${type}` };
  switch (type) {
    case 'refund.updated':
    case 'refund.created':
    case 'refund.failed':
    case 'charge.refund.updated':
      return refundMeaning(
        type,
        [refundFactsOf(object)].flatMap((facts) => (facts ? [facts] : [])),
      );
    case 'charge.refunded':
      return refundMeaning(type, chargeRefundsOf(object));
    case 'charge.dispute.created':
    case 'charge.dispute.updated':
    case 'charge.dispute.closed':
    case 'charge.dispute.funds_withdrawn':
    case 'charge.dispute.funds_reinstated':
      return disputeMeaning(type, id, object, paymentId);
    case 'payout.paid':
      return { subject: 'payout', payoutId: id, state: 'paid' };
    case 'payout.failed':
      return { subject: 'payout', payoutId: id, state: 'failed' };
    default:
      return { subject: 'none', why: `unhandled ${type}` };
  }
}

/**
 * A `charge.dispute.*` event: the dispute it carries, whichever the event type (a late or repeated event carries
 * the dispute as it was then; the disputes module never moves a dispute backwards).
 */
function disputeMeaning(
  type: string,
  id: string,
  object: Record<string, unknown>,
  paymentId: string | undefined,
): PspEventMeaning {
  const dispute = toPspDispute(object);
  const status = text(object.status);
  const final = status !== undefined && (FINAL_DISPUTE_STATUSES as readonly string[]).includes(status);
  return {
    subject: 'dispute',
    disputeId: id,
    paymentId: paymentId ?? dispute?.paymentId,
    state: type === 'charge.dispute.closed' || final ? 'closed' : 'opened',
    status,
    dispute,
  };
}

/**
 * Refund events: a final refund (succeeded, failed, canceled) is a refund meaning carrying the refunds' facts; one
 * still pending is not acted on (its final event, or polling, settles it).
 */
function refundMeaning(type: string, refunds: PspRefundFacts[]): PspEventMeaning {
  const final = refunds.filter((refund) => refund.state !== 'pending');
  const first = final[0];
  if (first === undefined) return { subject: 'none', why: `${type}: no final refund` };
  return {
    subject: 'refund',
    refundId: first.refundId,
    paymentId: first.paymentId,
    state: first.state === 'succeeded' ? 'settled' : 'failed',
    refunds: final,
  };
}

/**
 * The Stripe event types Bursar acts on: the ones to enable on Bursar's webhook endpoint (`enabled_events`; the
 * sandbox PSP's own target for Bursar takes only these). Any other type is `unhandled` (held by a unit test).
 */
export const STRIPE_EVENT_TYPES: readonly string[] = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed',
  'checkout.session.expired',
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'payment_intent.processing',
  'payment_intent.requires_action',
  'charge.refunded',
  'charge.refund.updated',
  'refund.created',
  'refund.updated',
  'refund.failed',
  'charge.dispute.created',
  'charge.dispute.updated',
  'charge.dispute.closed',
  'charge.dispute.funds_withdrawn',
  'charge.dispute.funds_reinstated',
  'payout.paid',
  'payout.failed',
];

/** Maps a Stripe event to what it means for Bursar. */
export function interpretStripeEvent(event: Pick<PspEvent, 'type' | 'object'>): PspEventMeaning {
  const { type, object } = event;
  const paymentId =
    text(object.payment_intent) ?? (type.startsWith('payment_intent.') ? text(object.id) : undefined);
  if (type.startsWith('checkout.session.')) return sessionMeaning(type, object, paymentId);
  if (type.startsWith('payment_intent.')) return paymentIntentMeaning(type, object, paymentId);
  return otherMeaning(type, object, paymentId);
}
