import type { FastifyInstance } from 'fastify';
import { readCard, readExpiry } from './cards.ts';
import type { SandboxCtx } from './context.ts';
import { StripeApiError, docUrl, invalidRequest, missingResource } from './errors.ts';
import { emitEvent } from './events.ts';
import { apiRoute, type SandboxRuntime } from './http.ts';
import { newId } from './ids.ts';
import { listEnvelope, paymentIntentObject, paymentMethodObject, unixSeconds } from './objects.ts';
import { PAGE_PARAMS, Params } from './params.ts';
import { confirmIntent, resolvePaymentMethod } from './payments.ts';
import { getObject, insertObject, listObjects, saveObject, type StoredObject } from './store.ts';

/** PaymentMethods, PaymentIntents and Charges: the saved-method (server-side) flow. */

const CURRENCY = /^[a-z]{3}$/;

export function currencyParam(params: Params, name = 'currency'): string {
  const currency = params.string(name, { required: true });
  if (!CURRENCY.test(currency))
    throw invalidRequest(
      `Invalid currency: ${currency}. Stripe currently supports these currencies: usd, eur, gbp, jpy, …`,
      name,
    );
  return currency;
}

function incorrectNumber(): StripeApiError {
  return new StripeApiError(402, {
    type: 'card_error',
    code: 'incorrect_number',
    doc_url: docUrl('incorrect_number'),
    message: 'Your card number is incorrect.',
    param: 'card[number]',
  });
}

/** Makes a card PaymentMethod from typed card details (the API and the hosted page share it). */
export async function createCardPaymentMethod(
  ctx: SandboxCtx,
  input: {
    number: string;
    expMonth: number;
    expYear: number;
    name: string | null;
    metadata: Record<string, string>;
  },
): Promise<StoredObject> {
  const card = readCard(input.number);
  if (card === undefined) throw incorrectNumber();
  const id = newId('pm');
  const created = unixSeconds(ctx.now);
  const pm: StoredObject = {
    id,
    object: 'payment_method',
    created,
    data: paymentMethodObject({
      id,
      created,
      card,
      expMonth: input.expMonth,
      expYear: input.expYear,
      name: input.name,
      metadata: input.metadata,
    }),
    // The card number stays inside the sandbox: it decides the test behaviour and is never shown.
    internal: { number: card.number },
  };
  await insertObject(ctx.db, pm);
  return pm;
}

async function intentOrThrow(ctx: SandboxCtx, id: string, forUpdate = false): Promise<StoredObject> {
  const intent = await getObject(ctx.db, id, { kind: 'payment_intent', forUpdate });
  if (intent === undefined) throw missingResource('payment_intent', id, 'intent');
  return intent;
}

/** Confirms and turns a decline into Stripe's 402 card error carrying the PaymentIntent, as Stripe does. */
async function confirmAndAnswer(
  ctx: SandboxCtx,
  intent: StoredObject,
  paymentMethodId: string,
  returnUrl: string | undefined,
) {
  const paymentMethod = await resolvePaymentMethod(ctx, paymentMethodId);
  const outcome = await confirmIntent(
    ctx,
    intent,
    paymentMethod,
    returnUrl === undefined ? {} : { returnUrl },
  );
  if (outcome.kind === 'declined') {
    throw new StripeApiError(402, {
      type: 'card_error',
      code: outcome.decline.code,
      decline_code: outcome.decline.declineCode,
      doc_url: docUrl(outcome.decline.code),
      message: outcome.decline.message,
      charge: outcome.charge,
      payment_intent: intent.data,
      payment_method: paymentMethod.data,
      request_log_url: `${ctx.baseUrl}/v1/sandbox/requests`,
    });
  }
  return { body: intent.data };
}

const INTENT_CREATE = [
  'amount',
  'currency',
  'payment_method',
  'confirm',
  'metadata',
  'description',
  'payment_method_types',
  'automatic_payment_methods',
  'off_session',
  'capture_method',
  'customer',
  'return_url',
  'receipt_email',
  'statement_descriptor',
  'statement_descriptor_suffix',
  'setup_future_usage',
  'confirmation_method',
  'error_on_requires_action',
  'use_stripe_sdk',
  'payment_method_options',
] as const;

/**
 * A tiny subset of Stripe's search query language: clauses `field:'value'` or `metadata['key']:'value'` joined by
 * AND (or spaces). Enough to find a payment by the metadata we put on it.
 */
export function parseSearchQuery(query: string): {
  metadata: Record<string, string>;
  equals: Record<string, string>;
} {
  const metadata: Record<string, string> = {};
  const equals: Record<string, string> = {};
  const clause = /\s*(metadata\[(?:'([^']*)'|"([^"]*)")\]|([a-z_]+)):(?:'([^']*)'|"([^"]*)")\s*(?:AND\s*|$)/y;
  let position = 0;
  while (position < query.length) {
    clause.lastIndex = position;
    const match = clause.exec(query);
    if (match === null)
      throw invalidRequest(`The search query is not supported by the sandbox: ${query}`, 'query');
    const value = match[5] ?? match[6] ?? '';
    const metadataKey = match[2] ?? match[3];
    if (metadataKey !== undefined) metadata[metadataKey] = value;
    else if (match[4] === 'status' || match[4] === 'currency' || match[4] === 'customer')
      equals[match[4]] = value;
    else throw invalidRequest(`Field ${String(match[4])} is not searchable in the sandbox.`, 'query');
    position = clause.lastIndex;
  }
  if (Object.keys(metadata).length === 0 && Object.keys(equals).length === 0)
    throw invalidRequest('Missing required param: query.', 'query');
  return { metadata, equals };
}

export function registerPaymentRoutes(app: FastifyInstance, runtime: SandboxRuntime): void {
  apiRoute(app, runtime, 'POST', '/v1/payment_methods', async ({ ctx, input }) => {
    const params = new Params(input, ['type', 'card', 'billing_details', 'metadata']);
    const type = params.string('type', { required: true });
    if (type !== 'card')
      throw invalidRequest('The sandbox only supports payment methods of type card.', 'type');
    const card = params.object('card', ['number', 'exp_month', 'exp_year', 'cvc', 'token']);
    if (card === undefined)
      throw invalidRequest('Missing required param: card.', 'card', 'parameter_missing');
    const number = card.string('number', { required: true });
    const expMonth = card.int('exp_month', { required: true, min: 1, max: 12 });
    let expYear = card.int('exp_year', { required: true, min: 0, max: 9999 });
    if (expYear < 100) expYear += 2000;
    const cvc = card.string('cvc');
    if (cvc !== undefined && !/^\d{3,4}$/.test(cvc)) {
      throw new StripeApiError(402, {
        type: 'card_error',
        code: 'invalid_cvc',
        doc_url: docUrl('invalid_cvc'),
        message: "Your card's security code is invalid.",
        param: 'card[cvc]',
      });
    }
    const billing = params.object('billing_details', ['name', 'email', 'phone', 'address']);
    const pm = await createCardPaymentMethod(ctx, {
      number,
      expMonth,
      expYear,
      name: billing?.string('name') ?? null,
      metadata: params.metadata(),
    });
    return { body: pm.data };
  });

  apiRoute(app, runtime, 'GET', '/v1/payment_methods/:id', async ({ ctx, params }) => {
    const pm = await resolvePaymentMethod(ctx, params.id ?? '', 'payment_method');
    return { body: pm.data };
  });

  apiRoute(app, runtime, 'POST', '/v1/payment_intents', async ({ ctx, input }) => {
    const params = new Params(input, INTENT_CREATE);
    const amountMinor = params.amount('amount', { required: true, min: 1n, max: 99_999_999n });
    const currency = currencyParam(params);
    const captureMethod = params.oneOf(
      'capture_method',
      ['automatic', 'automatic_async', 'manual'] as const,
      'automatic',
    );
    if (captureMethod === 'manual')
      throw invalidRequest('The sandbox does not support capture_method=manual.', 'capture_method');
    const types = params.stringArray('payment_method_types');
    if (types !== undefined && types.some((type) => type !== 'card'))
      throw invalidRequest('The sandbox only supports card payments.', 'payment_method_types');
    const paymentMethod = params.string('payment_method');
    const confirm = params.bool('confirm') ?? false;
    params.bool('off_session');
    params.bool('error_on_requires_action');
    params.bool('use_stripe_sdk');
    const returnUrl = params.string('return_url');
    const id = newId('pi');
    const created = unixSeconds(ctx.now);
    const data = paymentIntentObject({
      id,
      created,
      amountMinor,
      currency,
      description: params.string('description') ?? null,
      metadata: params.metadata(),
      paymentMethod: paymentMethod ?? null,
      receiptEmail: params.string('receipt_email') ?? null,
      statementDescriptor: params.string('statement_descriptor', { maxLength: 22 }) ?? null,
    });
    if (paymentMethod !== undefined) {
      await resolvePaymentMethod(ctx, paymentMethod);
      data.status = 'requires_confirmation';
    }
    const intent: StoredObject = { id, object: 'payment_intent', created, data, internal: {} };
    await insertObject(ctx.db, intent);
    await emitEvent(ctx, 'payment_intent.created', data);
    if (!confirm) return { body: intent.data };
    if (paymentMethod === undefined) {
      throw invalidRequest(
        "You cannot confirm this PaymentIntent because it's missing a payment method.",
        'payment_method',
        'payment_intent_unexpected_state',
      );
    }
    return confirmAndAnswer(ctx, intent, paymentMethod, returnUrl);
  });

  apiRoute(app, runtime, 'POST', '/v1/payment_intents/:id/confirm', async ({ ctx, params: path, input }) => {
    const params = new Params(input, [
      'payment_method',
      'return_url',
      'off_session',
      'error_on_requires_action',
      'use_stripe_sdk',
      'payment_method_options',
    ]);
    const intent = await intentOrThrow(ctx, path.id ?? '', true);
    const paymentMethod =
      params.string('payment_method') ?? (intent.data.payment_method as string | null) ?? undefined;
    if (paymentMethod === undefined) {
      throw invalidRequest(
        "You cannot confirm this PaymentIntent because it's missing a payment method.",
        'payment_method',
        'payment_intent_unexpected_state',
      );
    }
    return confirmAndAnswer(ctx, intent, paymentMethod, params.string('return_url'));
  });

  apiRoute(app, runtime, 'POST', '/v1/payment_intents/:id/cancel', async ({ ctx, params: path, input }) => {
    const params = new Params(input, ['cancellation_reason']);
    const intent = await intentOrThrow(ctx, path.id ?? '', true);
    const status = String(intent.data.status);
    if (status === 'succeeded' || status === 'canceled' || status === 'processing') {
      throw new StripeApiError(400, {
        type: 'invalid_request_error',
        code: 'payment_intent_unexpected_state',
        doc_url: docUrl('payment_intent_unexpected_state'),
        message: `You cannot cancel this PaymentIntent because it has a status of ${status}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action.`,
      });
    }
    Object.assign(intent.data, {
      status: 'canceled',
      canceled_at: unixSeconds(ctx.now),
      cancellation_reason: params.string('cancellation_reason') ?? null,
      next_action: null,
    });
    await saveObject(ctx.db, intent);
    await emitEvent(ctx, 'payment_intent.canceled', intent.data);
    return { body: intent.data };
  });

  apiRoute(app, runtime, 'GET', '/v1/payment_intents/search', async ({ ctx, input }) => {
    const params = new Params(input, ['query', 'limit', 'page']);
    const { metadata, equals } = parseSearchQuery(params.string('query', { required: true }));
    const limit = params.int('limit', { min: 1, max: 100 }) ?? 10;
    const page = params.string('page');
    const found = await listObjects(ctx.db, {
      kind: 'payment_intent',
      metadata,
      equals,
      limit,
      ...(page === undefined ? {} : { startingAfter: page }),
    });
    const last = found.rows[found.rows.length - 1];
    return {
      body: {
        object: 'search_result',
        data: found.rows.map((row) => row.data),
        has_more: found.hasMore,
        next_page: found.hasMore && last !== undefined ? last.id : null,
        url: '/v1/payment_intents/search',
      },
    };
  });

  apiRoute(app, runtime, 'GET', '/v1/payment_intents/:id', async ({ ctx, params }) => {
    const intent = await intentOrThrow(ctx, params.id ?? '');
    return { body: intent.data };
  });

  apiRoute(app, runtime, 'GET', '/v1/payment_intents', async ({ ctx, input }) => {
    const params = new Params(input, [...PAGE_PARAMS, 'created', 'customer']);
    const created = params.range('created');
    const customer = params.string('customer');
    const found = await listObjects(ctx.db, {
      kind: 'payment_intent',
      ...params.page(),
      ...(created === undefined ? {} : { created }),
      ...(customer === undefined ? {} : { equals: { customer } }),
    });
    return {
      body: listEnvelope(
        '/v1/payment_intents',
        found.rows.map((row) => row.data),
        found.hasMore,
      ),
    };
  });

  apiRoute(app, runtime, 'GET', '/v1/charges/:id', async ({ ctx, params }) => {
    const charge = await getObject(ctx.db, params.id ?? '', { kind: 'charge' });
    if (charge === undefined) throw missingResource('charge', params.id ?? '');
    return { body: charge.data };
  });

  apiRoute(app, runtime, 'GET', '/v1/charges', async ({ ctx, input }) => {
    const params = new Params(input, [...PAGE_PARAMS, 'created', 'payment_intent']);
    const created = params.range('created');
    const paymentIntent = params.string('payment_intent');
    const found = await listObjects(ctx.db, {
      kind: 'charge',
      ...params.page(),
      ...(created === undefined ? {} : { created }),
      ...(paymentIntent === undefined ? {} : { equals: { payment_intent: paymentIntent } }),
    });
    return {
      body: listEnvelope(
        '/v1/charges',
        found.rows.map((row) => row.data),
        found.hasMore,
      ),
    };
  });
}

/** Parses what a buyer typed on the hosted page into card details, or says which field is wrong. */
export function readTypedCard(
  fields: { number: string; expiry: string; cvc: string },
  now: Date,
):
  | { ok: true; number: string; expMonth: number; expYear: number }
  | { ok: false; field: 'number' | 'expiry' | 'cvc'; message: string } {
  const card = readCard(fields.number);
  if (card === undefined) return { ok: false, field: 'number', message: 'Your card number is invalid.' };
  const expiry = readExpiry(fields.expiry);
  if (expiry === undefined)
    return { ok: false, field: 'expiry', message: "Your card's expiration date is incomplete." };
  if (!/^\d{3,4}$/.test(fields.cvc.trim()))
    return { ok: false, field: 'cvc', message: "Your card's security code is incomplete." };
  // An expiry in the past is a decline from the issuer (expired_card), not a form error: it flows through confirm.
  void now;
  return { ok: true, number: card.number, expMonth: expiry.month, expYear: expiry.year };
}
