import type { FastifyInstance } from 'fastify';
import type { SandboxCtx } from './context.ts';
import { StripeApiError, invalidRequest, missingResource } from './errors.ts';
import { emitEvent } from './events.ts';
import type { FormObject } from './form.ts';
import { apiRoute, type SandboxRuntime } from './http.ts';
import { newId } from './ids.ts';
import { listEnvelope, unixSeconds, type Json } from './objects.ts';
import { PAGE_PARAMS, Params } from './params.ts';
import { currencyParam } from './api-payments.ts';
import { getObject, insertObject, listObjects, saveObject, type StoredObject } from './store.ts';
import { amountFromWire, amountToWire } from './wire-amount.ts';

/** Checkout Sessions in `payment` mode: the hosted payment page's server side. */

export interface LineItem {
  id: string;
  name: string;
  description: string | null;
  unitAmountMinor: bigint;
  quantity: number;
  currency: string;
}

/** How a line item is kept in the session's stored JSON: the unit amount as the wire's integer. */
function storedLineItem(item: LineItem): Json {
  return {
    id: item.id,
    name: item.name,
    description: item.description,
    unitAmount: amountToWire(item.unitAmountMinor),
    quantity: item.quantity,
    currency: item.currency,
  };
}

function lineItemFromStored(raw: unknown): LineItem {
  const stored = (raw ?? {}) as Json;
  return {
    id: String(stored.id),
    name: String(stored.name),
    description: typeof stored.description === 'string' ? stored.description : null,
    unitAmountMinor: amountFromWire(stored.unitAmount, 'unit_amount'),
    quantity: Number(stored.quantity),
    currency: String(stored.currency),
  };
}

function lineTotalMinor(item: LineItem): bigint {
  return item.unitAmountMinor * BigInt(item.quantity);
}

export function sessionUrl(baseUrl: string, id: string): string {
  return `${baseUrl}/c/pay/${id}`;
}

/** Expires an open session (API, scheduler): `checkout.session.expired` goes out. */
export async function expireSession(ctx: SandboxCtx, session: StoredObject): Promise<void> {
  Object.assign(session.data, { status: 'expired', url: null });
  await saveObject(ctx.db, session);
  await emitEvent(ctx, 'checkout.session.expired', session.data);
}

function lineItemObject(item: LineItem): Json {
  const amount = amountToWire(lineTotalMinor(item));
  return {
    id: item.id,
    object: 'item',
    amount_discount: 0,
    amount_subtotal: amount,
    amount_tax: 0,
    amount_total: amount,
    currency: item.currency,
    description: item.name,
    price: {
      id: `price_${item.id.slice(3)}`,
      object: 'price',
      active: false,
      billing_scheme: 'per_unit',
      created: 0,
      currency: item.currency,
      livemode: false,
      lookup_key: null,
      metadata: {},
      nickname: null,
      product: `prod_${item.id.slice(3)}`,
      recurring: null,
      tax_behavior: 'unspecified',
      tiers_mode: null,
      transform_quantity: null,
      type: 'one_time',
      unit_amount: amountToWire(item.unitAmountMinor),
      unit_amount_decimal: item.unitAmountMinor.toString(),
    },
    quantity: item.quantity,
  };
}

export function registerCheckoutRoutes(app: FastifyInstance, runtime: SandboxRuntime): void {
  apiRoute(app, runtime, 'POST', '/v1/checkout/sessions', async ({ ctx, input }) => {
    const params = new Params(input, [
      'mode',
      'line_items',
      'success_url',
      'cancel_url',
      'client_reference_id',
      'metadata',
      'payment_intent_data',
      'expires_at',
      'customer_email',
      'payment_method_types',
      'locale',
      'submit_type',
    ]);
    const mode = params.string('mode', { required: true });
    if (mode !== 'payment')
      throw invalidRequest('The sandbox supports Checkout Sessions in payment mode only.', 'mode');
    const successUrl = params.string('success_url', { required: true });
    const cancelUrl = params.string('cancel_url');
    for (const [name, url] of [
      ['success_url', successUrl],
      ['cancel_url', cancelUrl],
    ] as const) {
      if (url !== undefined && !/^https?:\/\/[^\s]+$/.test(url))
        throw invalidRequest(`Not a valid URL`, name, 'url_invalid');
    }
    const types = params.stringArray('payment_method_types');
    if (types !== undefined && types.some((type) => type !== 'card'))
      throw invalidRequest('The sandbox only supports card payments.', 'payment_method_types');
    const rawItems = params.array('line_items');
    if (rawItems === undefined || rawItems.length === 0)
      throw invalidRequest('Missing required param: line_items.', 'line_items', 'parameter_missing');
    if (rawItems.length > 100)
      throw invalidRequest('A session can have at most 100 line items.', 'line_items');
    const items: LineItem[] = rawItems.map((raw, index) => {
      if (typeof raw !== 'object' || Array.isArray(raw))
        throw invalidRequest(`Invalid hash: line_items[${index}]`, `line_items[${index}]`);
      const item = new Params(raw as FormObject, ['price_data', 'quantity', 'price'], `line_items[${index}]`);
      if (item.has('price'))
        throw invalidRequest(
          'The sandbox supports line items with price_data only.',
          `line_items[${index}][price]`,
        );
      const priceData = item.object('price_data', [
        'currency',
        'unit_amount',
        'product_data',
        'unit_amount_decimal',
        'tax_behavior',
      ]);
      if (priceData === undefined)
        throw invalidRequest(
          `Missing required param: line_items[${index}][price_data].`,
          `line_items[${index}][price_data]`,
          'parameter_missing',
        );
      const product = priceData.object('product_data', ['name', 'description', 'metadata', 'images']);
      if (product === undefined)
        throw invalidRequest(
          `Missing required param: line_items[${index}][price_data][product_data].`,
          `line_items[${index}][price_data][product_data]`,
          'parameter_missing',
        );
      return {
        id: newId('li'),
        name: product.string('name', { required: true }),
        description: product.string('description') ?? null,
        unitAmountMinor: priceData.amount('unit_amount', { required: true, min: 0n, max: 99_999_999n }),
        quantity: item.int('quantity', { required: true, min: 1, max: 999_999 }),
        currency: currencyParam(priceData),
      };
    });
    const currency = items[0]?.currency ?? 'usd';
    if (items.some((item) => item.currency !== currency))
      throw invalidRequest('All line items must use the same currency.', 'line_items');
    const totalMinor = items.reduce((sum, item) => sum + lineTotalMinor(item), 0n);
    if (totalMinor < 1n || totalMinor > 99_999_999n)
      throw invalidRequest('The total amount must be between 1 and 99999999.', 'line_items');
    const created = unixSeconds(ctx.now);
    const expiresAt = params.int('expires_at') ?? created + Math.floor(ctx.config.sessionTtlMs / 1000);
    if (expiresAt < created + 30 * 60 && params.has('expires_at')) {
      throw invalidRequest(
        'The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.',
        'expires_at',
      );
    }
    const intentData = params.object('payment_intent_data', [
      'metadata',
      'description',
      'statement_descriptor',
      'receipt_email',
      'capture_method',
    ]);
    const id = newId('cs_test');
    const data: Json = {
      id,
      object: 'checkout.session',
      after_expiration: null,
      allow_promotion_codes: null,
      amount_subtotal: amountToWire(totalMinor),
      amount_total: amountToWire(totalMinor),
      automatic_tax: { enabled: false, status: null },
      billing_address_collection: null,
      cancel_url: cancelUrl ?? null,
      client_reference_id: params.string('client_reference_id', { maxLength: 200 }) ?? null,
      consent: null,
      consent_collection: null,
      created,
      currency,
      customer: null,
      customer_creation: 'if_required',
      customer_details: null,
      customer_email: params.string('customer_email') ?? null,
      expires_at: expiresAt,
      livemode: false,
      locale: params.string('locale') ?? null,
      metadata: params.metadata(),
      mode: 'payment',
      payment_intent: null,
      payment_link: null,
      payment_method_options: {},
      payment_method_types: ['card'],
      payment_status: 'unpaid',
      phone_number_collection: { enabled: false },
      recovered_from: null,
      setup_intent: null,
      shipping_address_collection: null,
      shipping_options: [],
      status: 'open',
      submit_type: params.string('submit_type') ?? null,
      subscription: null,
      success_url: successUrl,
      total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
      url: sessionUrl(ctx.baseUrl, id),
    };
    const internal: Json = {
      lineItems: items.map(storedLineItem),
      paymentIntentData: {
        metadata: intentData?.metadata() ?? {},
        description: intentData?.string('description') ?? items.map((item) => item.name).join(', '),
        statementDescriptor: intentData?.string('statement_descriptor') ?? null,
        receiptEmail: intentData?.string('receipt_email') ?? null,
      },
    };
    await insertObject(ctx.db, { id, object: 'checkout.session', created, data, internal });
    return { body: data };
  });

  apiRoute(app, runtime, 'GET', '/v1/checkout/sessions/:id', async ({ ctx, params }) => {
    const session = await getObject(ctx.db, params.id ?? '', { kind: 'checkout.session' });
    if (session === undefined) throw missingResource('checkout.session', params.id ?? '', 'session');
    return { body: session.data };
  });

  apiRoute(app, runtime, 'GET', '/v1/checkout/sessions/:id/line_items', async ({ ctx, params, input }) => {
    new Params(input, [...PAGE_PARAMS]);
    const session = await getObject(ctx.db, params.id ?? '', { kind: 'checkout.session' });
    if (session === undefined) throw missingResource('checkout.session', params.id ?? '', 'session');
    const stored = session.internal.lineItems;
    const items = (Array.isArray(stored) ? stored : []).map(lineItemFromStored);
    return {
      body: listEnvelope(`/v1/checkout/sessions/${session.id}/line_items`, items.map(lineItemObject), false),
    };
  });

  apiRoute(app, runtime, 'GET', '/v1/checkout/sessions', async ({ ctx, input }) => {
    const params = new Params(input, [
      ...PAGE_PARAMS,
      'created',
      'payment_intent',
      'status',
      'client_reference_id',
    ]);
    const equals: Record<string, string> = {};
    for (const field of ['payment_intent', 'status', 'client_reference_id'] as const) {
      const value = params.string(field);
      if (value !== undefined) equals[field] = value;
    }
    const created = params.range('created');
    const found = await listObjects(ctx.db, {
      kind: 'checkout.session',
      ...params.page(),
      equals,
      ...(created === undefined ? {} : { created }),
    });
    return {
      body: listEnvelope(
        '/v1/checkout/sessions',
        found.rows.map((row) => row.data),
        found.hasMore,
      ),
    };
  });

  apiRoute(app, runtime, 'POST', '/v1/checkout/sessions/:id/expire', async ({ ctx, params, input }) => {
    new Params(input, []);
    const session = await getObject(ctx.db, params.id ?? '', { kind: 'checkout.session', forUpdate: true });
    if (session === undefined) throw missingResource('checkout.session', params.id ?? '', 'session');
    if (session.data.status !== 'open') {
      throw new StripeApiError(400, {
        type: 'invalid_request_error',
        message: `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${String(session.data.status)}".`,
      });
    }
    await expireSession(ctx, session);
    return { body: session.data };
  });
}
