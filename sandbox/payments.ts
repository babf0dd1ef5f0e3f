import { TEST_PAYMENT_METHODS, isExpired, readCard, type CardBehaviour, type Decline } from './cards.ts';
import type { SandboxCtx } from './context.ts';
import { StripeApiError, docUrl, missingResource } from './errors.ts';
import { emitEvent } from './events.ts';
import { DISPUTE_FEE_MINOR, processingFeeMinor } from './fees.ts';
import { newId } from './ids.ts';
import {
  balanceTransactionObject,
  chargeObject,
  disputeObject,
  outcomeFor,
  paymentMethodObject,
  refundObject,
  unixSeconds,
  type Json,
} from './objects.ts';
import { sandboxSettlement } from './fx.ts';
import { ensureObject, getObject, insertObject, saveObject, type StoredObject } from './store.ts';
import { amountFromWire, amountToWire } from './wire-amount.ts';
import { refundBehaviourOf, refundStart } from './refunds.ts';

/**
 * The payment engine: what confirming a PaymentIntent with a card does, how a payment in review settles, and how
 * refunds and disputes move the balance. Used by the API, the hosted page, the admin endpoints and the scheduler,
 * always inside the caller's transaction, and always recording events for the webhooks.
 */

export function behaviourOf(paymentMethod: StoredObject): CardBehaviour {
  const card = readCard(String(paymentMethod.internal.number ?? ''));
  return (
    card?.behaviour ?? {
      kind: 'decline',
      decline: { code: 'card_declined', declineCode: 'generic_decline', message: 'Your card was declined.' },
    }
  );
}

/** Finds a PaymentMethod; Stripe's well-known test ids (`pm_card_visa`…) are created on first use. */
export async function resolvePaymentMethod(
  ctx: SandboxCtx,
  id: string,
  param = 'payment_method',
): Promise<StoredObject> {
  const testNumber = TEST_PAYMENT_METHODS[id];
  const card = testNumber === undefined ? undefined : readCard(testNumber);
  let found: StoredObject | undefined;
  if (card !== undefined) {
    // A fixed test method never changes once stored: this server reads it from the database once.
    const known = ctx.testMethods?.get(id);
    if (known !== undefined) return structuredClone(known);
    const created = unixSeconds(ctx.now);
    found = await ensureObject(ctx.db, {
      id,
      object: 'payment_method',
      created,
      data: paymentMethodObject({
        id,
        created,
        card,
        expMonth: 12,
        expYear: ctx.now.getUTCFullYear() + 5,
        name: null,
        metadata: {},
      }),
      internal: { number: card.number },
    });
    if (found !== undefined) ctx.testMethods?.set(id, structuredClone(found));
  } else {
    found = await getObject(ctx.db, id, { kind: 'payment_method' });
  }
  if (found === undefined) throw missingResource('PaymentMethod', id, param);
  return found;
}

export type ConfirmOutcome =
  | { kind: 'succeeded' }
  | { kind: 'requires_action' }
  | { kind: 'processing' }
  | { kind: 'declined'; decline: Decline; charge: string };

function cardExpiryOf(paymentMethod: StoredObject): { month: number; year: number } {
  const card = (paymentMethod.data.card ?? {}) as Json;
  return { month: Number(card.exp_month ?? 12), year: Number(card.exp_year ?? 2099) };
}

/**
 * Confirms `intent` with `paymentMethod` (both locked by the caller). `authenticated` says a 3-D Secure challenge
 * was passed. The intent is saved; the caller answers from its new state.
 */
export async function confirmIntent(
  ctx: SandboxCtx,
  intent: StoredObject,
  paymentMethod: StoredObject,
  options: { authenticated?: boolean; returnUrl?: string } = {},
): Promise<ConfirmOutcome> {
  const status = intent.data.status;
  if (
    status !== 'requires_payment_method' &&
    status !== 'requires_confirmation' &&
    !(status === 'requires_action' && options.authenticated !== undefined)
  ) {
    throw new StripeApiError(400, {
      type: 'invalid_request_error',
      code: 'payment_intent_unexpected_state',
      doc_url: docUrl('payment_intent_unexpected_state'),
      message: `You cannot confirm this PaymentIntent because it has a status of ${String(status)}.`,
      payment_intent: intent.data,
    });
  }
  intent.data.payment_method = paymentMethod.id;
  intent.data.last_payment_error = null;
  intent.data.next_action = null;
  let behaviour = behaviourOf(paymentMethod);
  if (behaviour.kind !== 'decline' && isExpired(cardExpiryOf(paymentMethod), ctx.now)) {
    behaviour = {
      kind: 'decline',
      decline: { code: 'expired_card', declineCode: 'expired_card', message: 'Your card has expired.' },
    };
  }
  if (behaviour.kind === 'three_ds' && options.authenticated !== true) {
    if (options.authenticated === false) {
      return declineIntent(ctx, intent, paymentMethod, {
        code: 'payment_intent_authentication_failure',
        declineCode: 'authentication_required',
        message:
          'We are unable to authenticate your payment method. Please choose a different payment method and try again.',
      });
    }
    intent.data.status = 'requires_action';
    intent.data.next_action = {
      type: 'redirect_to_url',
      redirect_to_url: { url: `${ctx.baseUrl}/3ds/${intent.id}`, return_url: options.returnUrl ?? null },
    };
    intent.internal.returnUrl = options.returnUrl ?? null;
    await saveObject(ctx.db, intent);
    await emitEvent(ctx, 'payment_intent.requires_action', intent.data);
    return { kind: 'requires_action' };
  }
  if (behaviour.kind === 'decline') return declineIntent(ctx, intent, paymentMethod, behaviour.decline);
  if (behaviour.kind === 'review') {
    const charge = await createCharge(
      ctx,
      intent,
      paymentMethod,
      'pending',
      null,
      outcomeFor('manual_review'),
    );
    intent.data.status = 'processing';
    intent.data.latest_charge = charge.id;
    if (ctx.config.reviewDelayMs > 0)
      intent.internal.reviewDueAt = ctx.now.getTime() + ctx.config.reviewDelayMs;
    await saveObject(ctx.db, intent);
    await emitEvent(ctx, 'charge.pending', charge.data);
    await emitEvent(ctx, 'payment_intent.processing', intent.data);
    await onIntentChanged(ctx, intent);
    return { kind: 'processing' };
  }
  await succeedIntent(
    ctx,
    intent,
    paymentMethod,
    undefined,
    behaviour.kind === 'succeed' && behaviour.bypassPending,
  );
  if (behaviour.kind === 'dispute') {
    const chargeId = String(intent.data.latest_charge);
    const charge = await getObject(ctx.db, chargeId, { kind: 'charge', forUpdate: true });
    if (charge !== undefined) await createDispute(ctx, charge);
  }
  return { kind: 'succeeded' };
}

async function createCharge(
  ctx: SandboxCtx,
  intent: StoredObject,
  paymentMethod: StoredObject,
  status: 'succeeded' | 'failed' | 'pending',
  decline: Decline | null,
  outcome: Json,
): Promise<StoredObject> {
  const id = newId('ch');
  const created = unixSeconds(ctx.now);
  const data = chargeObject({
    id,
    created,
    paymentIntent: intent.data,
    paymentMethod: paymentMethod.data,
    status,
    balanceTransaction: null,
    ...(decline === null ? {} : { decline }),
    outcome,
  });
  const charge: StoredObject = { id, object: 'charge', created, data, internal: {} };
  await insertObject(ctx.db, charge);
  return charge;
}

/**
 * Leaves `intent` as Stripe leaves a declined one: back in `requires_payment_method`, its failed charge as the
 * latest, the decline in `last_payment_error`; then the `charge.failed` and `payment_intent.payment_failed` events.
 */
async function markIntentDeclined(
  ctx: SandboxCtx,
  intent: StoredObject,
  charge: StoredObject,
  paymentMethod: StoredObject,
  decline: Decline,
): Promise<void> {
  intent.data.status = 'requires_payment_method';
  intent.data.latest_charge = charge.id;
  intent.data.next_action = null;
  intent.data.last_payment_error = {
    type: 'card_error',
    code: decline.code,
    decline_code: decline.declineCode,
    doc_url: docUrl(decline.code),
    message: decline.message,
    charge: charge.id,
    payment_method: paymentMethod.data,
  };
  await saveObject(ctx.db, intent);
  await emitEvent(ctx, 'charge.failed', charge.data);
  await emitEvent(ctx, 'payment_intent.payment_failed', intent.data);
  await onIntentChanged(ctx, intent);
}

async function declineIntent(
  ctx: SandboxCtx,
  intent: StoredObject,
  paymentMethod: StoredObject,
  decline: Decline,
): Promise<ConfirmOutcome> {
  const charge = await createCharge(
    ctx,
    intent,
    paymentMethod,
    'failed',
    decline,
    outcomeFor('issuer_declined', decline),
  );
  await markIntentDeclined(ctx, intent, charge, paymentMethod, decline);
  return { kind: 'declined', decline, charge: charge.id };
}

/** Moves `intent` to succeeded: a charge (or the pending one from review) with its balance transaction and fee. */
async function succeedIntent(
  ctx: SandboxCtx,
  intent: StoredObject,
  paymentMethod: StoredObject,
  pendingCharge: StoredObject | undefined,
  bypassPending: boolean,
): Promise<void> {
  const charge =
    pendingCharge ??
    (await createCharge(ctx, intent, paymentMethod, 'succeeded', null, outcomeFor('authorized')));
  const amountMinor = amountFromWire(intent.data.amount, 'amount');
  const created = unixSeconds(ctx.now);
  const txnId = newId('txn');
  const settled = settledAmount(ctx, amountMinor, String(intent.data.currency));
  const txn = balanceTransactionObject({
    id: txnId,
    created,
    availableOn: bypassPending
      ? created
      : unixSeconds(new Date(ctx.now.getTime() + ctx.config.availableDelayMs)),
    amountMinor: settled.amountMinor,
    feeMinor: processingFeeMinor(settled.amountMinor),
    currency: settled.currency,
    description: (intent.data.description as string | null) ?? null,
    source: charge.id,
    type: 'charge',
    reportingCategory: 'charge',
  });
  txn.exchange_rate = settled.exchangeRate === null ? null : Number(settled.exchangeRate);
  await insertObject(ctx.db, { id: txnId, object: 'balance_transaction', created, data: txn, internal: {} });
  Object.assign(charge.data, {
    status: 'succeeded',
    paid: true,
    captured: true,
    amount_captured: amountToWire(amountMinor),
    balance_transaction: txnId,
    outcome: outcomeFor('authorized'),
    failure_code: null,
    failure_message: null,
  });
  await saveObject(ctx.db, charge);
  Object.assign(intent.data, {
    status: 'succeeded',
    amount_received: amountToWire(amountMinor),
    latest_charge: charge.id,
    next_action: null,
    last_payment_error: null,
  });
  delete intent.internal.reviewDueAt;
  await saveObject(ctx.db, intent);
  await emitEvent(ctx, 'charge.succeeded', charge.data);
  await emitEvent(ctx, 'payment_intent.succeeded', intent.data);
  await onIntentChanged(ctx, intent);
}

/** Settles a payment in review (status `processing`): it succeeds or fails, with the matching events. */
export async function settleReview(
  ctx: SandboxCtx,
  intentId: string,
  outcome: 'succeed' | 'fail',
): Promise<StoredObject> {
  const intent = await getObject(ctx.db, intentId, { kind: 'payment_intent', forUpdate: true });
  if (intent === undefined) throw missingResource('payment_intent', intentId);
  if (intent.data.status !== 'processing') {
    throw new StripeApiError(400, {
      type: 'invalid_request_error',
      code: 'payment_intent_unexpected_state',
      message: `PaymentIntent ${intentId} is ${String(intent.data.status)}, not processing.`,
    });
  }
  const paymentMethod = await getObject(ctx.db, String(intent.data.payment_method), {
    kind: 'payment_method',
  });
  const charge = await getObject(ctx.db, String(intent.data.latest_charge), {
    kind: 'charge',
    forUpdate: true,
  });
  if (paymentMethod === undefined || charge === undefined)
    throw new Error(`intent ${intentId} in review lacks its method or charge`);
  delete intent.internal.reviewDueAt;
  if (outcome === 'succeed') {
    await succeedIntent(ctx, intent, paymentMethod, charge, false);
    return intent;
  }
  const decline: Decline = {
    code: 'card_declined',
    declineCode: 'generic_decline',
    message: 'Your card was declined.',
  };
  Object.assign(charge.data, {
    status: 'failed',
    failure_code: decline.code,
    failure_message: decline.message,
    outcome: outcomeFor('issuer_declined', decline),
  });
  await saveObject(ctx.db, charge);
  await markIntentDeclined(ctx, intent, charge, paymentMethod, decline);
  return intent;
}

/**
 * Keeps a Checkout Session in step with its PaymentIntent and sends the checkout events: completed when paid (or
 * when an asynchronous payment starts), async_payment_succeeded / async_payment_failed when it settles later.
 * A decline on the page leaves the session open, as Stripe does, so the buyer can try another card.
 */
async function onIntentChanged(ctx: SandboxCtx, intent: StoredObject): Promise<void> {
  const sessionId = intent.internal.checkoutSession;
  if (typeof sessionId !== 'string') return;
  const session = await getObject(ctx.db, sessionId, { kind: 'checkout.session', forUpdate: true });
  if (session === undefined) return;
  const status = intent.data.status;
  const wasOpen = session.data.status === 'open';
  if (status === 'succeeded') {
    Object.assign(session.data, {
      status: 'complete',
      payment_status: 'paid',
      payment_intent: intent.id,
      url: null,
    });
    await saveObject(ctx.db, session);
    await emitEvent(
      ctx,
      wasOpen ? 'checkout.session.completed' : 'checkout.session.async_payment_succeeded',
      session.data,
    );
  } else if (status === 'processing' && wasOpen) {
    Object.assign(session.data, {
      status: 'complete',
      payment_status: 'unpaid',
      payment_intent: intent.id,
      url: null,
    });
    await saveObject(ctx.db, session);
    await emitEvent(ctx, 'checkout.session.completed', session.data);
  } else if (status === 'requires_payment_method' && !wasOpen && session.data.status === 'complete') {
    await emitEvent(ctx, 'checkout.session.async_payment_failed', session.data);
  }
}

/** A dispute on `charge` (locked by the caller): the amount and the dispute fee leave the balance at once. */
export async function createDispute(ctx: SandboxCtx, charge: StoredObject): Promise<StoredObject> {
  if (charge.data.status !== 'succeeded' || charge.data.disputed === true) {
    throw new StripeApiError(400, {
      type: 'invalid_request_error',
      message: `Charge ${charge.id} cannot be disputed.`,
    });
  }
  const created = unixSeconds(ctx.now);
  const id = newId('dp');
  const txnId = newId('txn');
  const amountMinor = amountFromWire(charge.data.amount, 'amount');
  // Withdrawn from the balance in the settlement currency, bought back at the sandbox's rate plus its spread.
  const settled = settledAmount(ctx, amountMinor, String(charge.data.currency), 'out');
  const txn = balanceTransactionObject({
    id: txnId,
    created,
    availableOn: created,
    amountMinor: -settled.amountMinor,
    feeMinor: DISPUTE_FEE_MINOR,
    currency: settled.currency,
    description: `Chargeback withdrawal for ${charge.id}`,
    source: id,
    type: 'adjustment',
    reportingCategory: 'dispute',
    feeDescription: 'Dispute fee',
  });
  txn.exchange_rate = settled.exchangeRate === null ? null : Number(settled.exchangeRate);
  await insertObject(ctx.db, { id: txnId, object: 'balance_transaction', created, data: txn, internal: {} });
  const data = disputeObject({
    id,
    created,
    charge: charge.data,
    amountMinor,
    balanceTransaction: txn,
    dueBy: created + 7 * 86400,
  });
  const dispute: StoredObject = { id, object: 'dispute', created, data, internal: {} };
  await insertObject(ctx.db, dispute);
  charge.data.disputed = true;
  await saveObject(ctx.db, charge);
  await emitEvent(ctx, 'charge.dispute.created', data);
  return dispute;
}

/** Refunds part or all of `charge` (locked by the caller). */
export async function createRefund(
  ctx: SandboxCtx,
  charge: StoredObject,
  request: { amountMinor: bigint | undefined; metadata: Record<string, string>; reason: string | null },
): Promise<StoredObject> {
  if (charge.data.status !== 'succeeded') {
    throw new StripeApiError(400, {
      type: 'invalid_request_error',
      code: 'charge_not_refundable',
      message: `Charge ${charge.id} has not succeeded and cannot be refunded.`,
    });
  }
  if (charge.data.disputed === true) {
    // Stripe's answer: a charge that was charged back cannot be refunded as well.
    throw new StripeApiError(400, {
      type: 'invalid_request_error',
      code: 'charge_disputed',
      doc_url: docUrl('charge_disputed'),
      message: `Charge ${charge.id} has been charged back; cannot issue a refund.`,
    });
  }
  const chargedMinor = amountFromWire(charge.data.amount, 'amount');
  const remaining = chargedMinor - amountFromWire(charge.data.amount_refunded, 'amount_refunded');
  if (remaining <= 0n) {
    throw new StripeApiError(400, {
      type: 'invalid_request_error',
      code: 'charge_already_refunded',
      doc_url: docUrl('charge_already_refunded'),
      message: `Charge ${charge.id} has already been refunded.`,
    });
  }
  const amountMinor = request.amountMinor ?? remaining;
  if (amountMinor > remaining) {
    throw new StripeApiError(400, {
      type: 'invalid_request_error',
      code: 'amount_too_large',
      param: 'amount',
      message: `Refund amount (${amountMinor}) is greater than unrefunded amount on charge (${remaining})`,
    });
  }
  const created = unixSeconds(ctx.now);
  const id = newId('re');
  const txnId = newId('txn');
  const currency = String(charge.data.currency);
  // Paid out of the balance in the settlement currency, bought back at the sandbox's rate plus its spread.
  const settled = settledAmount(ctx, amountMinor, currency, 'out');
  const txn = balanceTransactionObject({
    id: txnId,
    created,
    availableOn: created,
    amountMinor: -settled.amountMinor,
    feeMinor: 0n,
    currency: settled.currency,
    description: 'REFUND FOR CHARGE',
    source: id,
    type: 'refund',
    reportingCategory: 'refund',
  });
  txn.exchange_rate = settled.exchangeRate === null ? null : Number(settled.exchangeRate);
  await insertObject(ctx.db, { id: txnId, object: 'balance_transaction', created, data: txn, internal: {} });
  const behaviour = await refundBehaviourOf(ctx, charge);
  const start = refundStart(behaviour, ctx.now.getTime(), ctx.config.refundDelayMs);
  const data = refundObject({
    status: start.status,
    id,
    created,
    amountMinor,
    currency,
    charge: charge.id,
    paymentIntent: String(charge.data.payment_intent),
    balanceTransaction: txnId,
    metadata: request.metadata,
    reason: request.reason,
  });
  const refund: StoredObject = {
    id,
    object: 'refund',
    created,
    data,
    internal: { behaviour, settleAt: start.settleAt },
  };
  await insertObject(ctx.db, refund);
  const refunded = amountFromWire(charge.data.amount_refunded, 'amount_refunded') + amountMinor;
  const refunds = (charge.data.refunds ?? { object: 'list', data: [], has_more: false }) as Json;
  const list = Array.isArray(refunds.data) ? refunds.data : [];
  charge.data.amount_refunded = amountToWire(refunded);
  charge.data.refunded = refunded === chargedMinor;
  charge.data.refunds = { ...refunds, data: [data, ...list], total_count: list.length + 1 };
  await saveObject(ctx.db, charge);
  await emitEvent(ctx, 'charge.refunded', charge.data);
  await emitEvent(ctx, 'refund.created', data);
  return refund;
}

/**
 * The charge as the platform's balance receives it (`in`), or a refund or dispute as it leaves it (`out`): in the
 * settlement currency (SANDBOX_SETTLEMENT_CURRENCY) at the sandbox's rate (less its spread in, plus it out) when
 * the charge is in another currency the sandbox quotes, else as charged.
 */
function settledAmount(
  ctx: SandboxCtx,
  amountMinor: bigint,
  currency: string,
  direction: 'in' | 'out' = 'in',
): { amountMinor: bigint; currency: string; exchangeRate: string | null } {
  const target = ctx.config.settlementCurrency;
  if (target === undefined || target === currency.toUpperCase())
    return { amountMinor, currency, exchangeRate: null };
  const converted = sandboxSettlement(
    amountMinor,
    currency.toUpperCase(),
    target,
    ctx.config.fxSpreadBps,
    direction,
  );
  if (converted === undefined) return { amountMinor, currency, exchangeRate: null };
  return {
    amountMinor: converted.amountMinor,
    currency: target.toLowerCase(),
    exchangeRate: converted.exchangeRate,
  };
}
