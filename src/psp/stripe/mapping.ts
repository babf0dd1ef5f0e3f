import type Stripe from 'stripe';
import { PspError, type HostedSession, type PspCharge, type PspPaymentState } from '../port.ts';

/** Stripe's shapes → the port's. Stripe's amounts are integer minor units (JSON numbers); ours are bigint. */

/** Stripe's largest amount for one payment: 99,999,999 minor units (e.g. $999,999.99). */
export const STRIPE_MAX_AMOUNT_MINOR = 99_999_999n;

/**
 * Our amount as Stripe's JSON integer. An amount Stripe would refuse is refused here the way Stripe refuses it
 * (`amount_too_large`, a hard failure: retrying cannot help), so the order fails instead of retrying.
 */
export function toStripeAmount(amountMinor: bigint): number {
  if (amountMinor <= 0n || amountMinor > STRIPE_MAX_AMOUNT_MINOR) {
    throw new PspError(
      'hard_decline',
      `amount ${amountMinor.toString()} is outside what Stripe accepts (1..${STRIPE_MAX_AMOUNT_MINOR.toString()} minor units)`,
      { pspCode: amountMinor <= 0n ? 'amount_too_small' : 'amount_too_large' },
    );
  }
  return Number(amountMinor);
}

export function intentState(
  intent: Pick<Stripe.PaymentIntent, 'status' | 'last_payment_error'>,
): PspPaymentState {
  switch (intent.status) {
    case 'succeeded':
      return 'succeeded';
    case 'canceled':
      return 'failed';
    case 'requires_payment_method':
      // A new intent waits for a method; one that already failed carries the error.
      return intent.last_payment_error ? 'failed' : 'pending';
    default:
      return 'pending';
  }
}

function chargeOf(intent: Stripe.PaymentIntent): Stripe.Charge | undefined {
  const latest = intent.latest_charge;
  return typeof latest === 'object' && latest !== null ? latest : undefined;
}

export function toPspCharge(intent: Stripe.PaymentIntent): PspCharge {
  const charge = chargeOf(intent);
  const chargeId = typeof intent.latest_charge === 'string' ? intent.latest_charge : charge?.id;
  const txn = charge?.balance_transaction;
  const result: PspCharge = {
    paymentId: intent.id,
    state: intentState(intent),
    amountMinor: BigInt(intent.amount),
    currency: intent.currency.toUpperCase(),
    metadata: { ...(intent.metadata ?? {}) },
  };
  if (chargeId !== undefined) result.chargeId = chargeId;
  if (typeof txn === 'object' && txn !== null) {
    result.feeMinor = BigInt(txn.fee);
    result.balanceTransactionId = txn.id;
    result.feeCurrency = txn.currency.toUpperCase();
    result.settledMinor = BigInt(txn.amount);
    // Stripe sends the rate as a JSON number; its shortest decimal text is the rate it published.
    if (typeof txn.exchange_rate === 'number') result.exchangeRate = String(txn.exchange_rate);
  } else if (typeof txn === 'string') {
    result.balanceTransactionId = txn;
  }
  const error = intent.last_payment_error;
  if (error && result.state === 'failed') {
    const code = error.decline_code ?? error.code;
    if (code !== undefined) result.failureCode = code;
    if (error.message !== undefined) result.failureMessage = error.message;
  }
  if (intent.status === 'canceled' && result.failureCode === undefined) result.failureCode = 'canceled';
  return result;
}

export function toHostedSession(session: Stripe.Checkout.Session): HostedSession {
  const intent =
    typeof session.payment_intent === 'object' && session.payment_intent !== null
      ? session.payment_intent
      : undefined;
  const paymentId = typeof session.payment_intent === 'string' ? session.payment_intent : intent?.id;
  let state: PspPaymentState;
  if (session.status === 'expired') state = 'expired';
  else if (session.payment_status === 'paid' || session.payment_status === 'no_payment_required')
    state = 'succeeded';
  else if (session.status === 'complete' && intent !== undefined)
    state = intentState(intent) === 'failed' ? 'failed' : 'pending';
  else state = 'pending';
  const result: HostedSession = { sessionId: session.id, url: session.url ?? '', state };
  if (paymentId !== undefined) result.paymentId = paymentId;
  if (typeof session.expires_at === 'number') result.expiresAt = new Date(session.expires_at * 1000);
  if (intent !== undefined) result.charge = toPspCharge(intent);
  return result;
}
