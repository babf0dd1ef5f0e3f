import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { StripeApiError, invalidRequest, missingResource } from './errors.ts';
import { emitEvent } from './events.ts';
import { apiRoute, type SandboxRuntime } from './http.ts';
import { newId } from './ids.ts';
import { listEnvelope, payoutObject, balanceTransactionObject, unixSeconds } from './objects.ts';
import { PAGE_PARAMS, Params } from './params.ts';
import { createRefund } from './payments.ts';
import { balances } from './payouts.ts';
import { currencyParam } from './api-payments.ts';
import { getObject, insertObject, listObjects, saveObject } from './store.ts';
import { amountToWire } from './wire-amount.ts';

/** Refunds, Events, Balance, Balance Transactions, Payouts and Webhook Endpoints. */
export function registerBalanceRoutes(app: FastifyInstance, runtime: SandboxRuntime): void {
  apiRoute(app, runtime, 'POST', '/v1/refunds', async ({ ctx, input }) => {
    const params = new Params(input, ['payment_intent', 'charge', 'amount', 'metadata', 'reason']);
    const reason =
      params.oneOf('reason', ['duplicate', 'fraudulent', 'requested_by_customer'] as const) ?? null;
    let chargeId = params.string('charge');
    const intentId = params.string('payment_intent');
    if (chargeId === undefined && intentId === undefined) {
      throw invalidRequest(
        'One of the following params should be provided for this request: payment_intent or charge.',
        'payment_intent',
      );
    }
    if (chargeId === undefined && intentId !== undefined) {
      const intent = await getObject(ctx.db, intentId, { kind: 'payment_intent' });
      if (intent === undefined) throw missingResource('payment_intent', intentId, 'payment_intent');
      if (typeof intent.data.latest_charge !== 'string' || intent.data.status !== 'succeeded') {
        throw new StripeApiError(400, {
          type: 'invalid_request_error',
          code: 'charge_not_refundable',
          message: `This PaymentIntent (${intentId}) does not have a successful charge to refund.`,
          param: 'payment_intent',
        });
      }
      chargeId = intent.data.latest_charge;
    }
    const charge = await getObject(ctx.db, chargeId ?? '', { kind: 'charge', forUpdate: true });
    if (charge === undefined) throw missingResource('charge', chargeId ?? '', 'charge');
    const refund = await createRefund(ctx, charge, {
      amountMinor: params.amount('amount', { min: 1n }),
      metadata: params.metadata(),
      reason,
    });
    return { body: refund.data };
  });

  apiRoute(app, runtime, 'GET', '/v1/refunds/:id', async ({ ctx, params }) => {
    const refund = await getObject(ctx.db, params.id ?? '', { kind: 'refund' });
    if (refund === undefined) throw missingResource('refund', params.id ?? '');
    return { body: refund.data };
  });

  apiRoute(app, runtime, 'GET', '/v1/refunds', async ({ ctx, input }) => {
    const params = new Params(input, [...PAGE_PARAMS, 'created', 'charge', 'payment_intent']);
    const equals: Record<string, string> = {};
    for (const field of ['charge', 'payment_intent'] as const) {
      const value = params.string(field);
      if (value !== undefined) equals[field] = value;
    }
    const created = params.range('created');
    const found = await listObjects(ctx.db, {
      kind: 'refund',
      ...params.page(),
      equals,
      ...(created === undefined ? {} : { created }),
    });
    return {
      body: listEnvelope(
        '/v1/refunds',
        found.rows.map((row) => row.data),
        found.hasMore,
      ),
    };
  });

  apiRoute(app, runtime, 'GET', '/v1/events/:id', async ({ ctx, params }) => {
    const event = await getObject(ctx.db, params.id ?? '', { kind: 'event' });
    if (event === undefined) throw missingResource('event', params.id ?? '');
    return { body: event.data };
  });

  apiRoute(app, runtime, 'GET', '/v1/events', async ({ ctx, input }) => {
    const params = new Params(input, [...PAGE_PARAMS, 'created', 'type', 'types', 'delivery_success']);
    const type = params.string('type');
    const types = params.stringArray('types');
    if (type !== undefined && types !== undefined)
      throw invalidRequest('You may pass either type or types, not both.', 'types');
    const created = params.range('created');
    // `type` accepts a trailing wildcard, as Stripe's does (`charge.*`).
    const found = await listObjects(ctx.db, {
      kind: 'event',
      ...params.page(),
      ...(created === undefined ? {} : { created }),
      ...(type !== undefined && !type.includes('*') ? { equals: { type } } : {}),
      ...(types !== undefined ? { anyOf: { field: 'type', values: types } } : {}),
    });
    let rows = found.rows;
    if (type !== undefined && type.includes('*')) {
      const prefix = type.slice(0, type.indexOf('*'));
      rows = rows.filter((row) => String(row.data.type).startsWith(prefix));
    }
    return {
      body: listEnvelope(
        '/v1/events',
        rows.map((row) => row.data),
        found.hasMore,
      ),
    };
  });

  apiRoute(app, runtime, 'GET', '/v1/balance', async ({ ctx }) => {
    const amounts = await balances(ctx);
    const shown = amounts.length > 0 ? amounts : [{ currency: 'usd', availableMinor: 0n, pendingMinor: 0n }];
    return {
      body: {
        object: 'balance',
        available: shown.map((row) => ({
          amount: amountToWire(row.availableMinor),
          currency: row.currency,
          source_types: { card: amountToWire(row.availableMinor) },
        })),
        livemode: false,
        pending: shown.map((row) => ({
          amount: amountToWire(row.pendingMinor),
          currency: row.currency,
          source_types: { card: amountToWire(row.pendingMinor) },
        })),
      },
    };
  });

  apiRoute(app, runtime, 'GET', '/v1/balance_transactions/:id', async ({ ctx, params }) => {
    const txn = await getObject(ctx.db, params.id ?? '', { kind: 'balance_transaction' });
    if (txn === undefined) throw missingResource('balance_transaction', params.id ?? '');
    return { body: txn.data };
  });

  apiRoute(app, runtime, 'GET', '/v1/balance_transactions', async ({ ctx, input }) => {
    const params = new Params(input, [...PAGE_PARAMS, 'created', 'type', 'payout', 'source', 'currency']);
    const equals: Record<string, string> = {};
    for (const field of ['type', 'source', 'currency'] as const) {
      const value = params.string(field);
      if (value !== undefined) equals[field] = value;
    }
    const payout = params.string('payout');
    const created = params.range('created');
    const found = await listObjects(ctx.db, {
      kind: 'balance_transaction',
      ...params.page(),
      equals,
      ...(payout === undefined ? {} : { internalEquals: { payout } }),
      ...(created === undefined ? {} : { created }),
    });
    return {
      body: listEnvelope(
        '/v1/balance_transactions',
        found.rows.map((row) => row.data),
        found.hasMore,
      ),
    };
  });

  apiRoute(app, runtime, 'POST', '/v1/payouts', async ({ ctx, input }) => {
    const params = new Params(input, [
      'amount',
      'currency',
      'description',
      'metadata',
      'method',
      'statement_descriptor',
    ]);
    const amountMinor = params.amount('amount', { required: true, min: 1n });
    const currency = currencyParam(params);
    const available = (await balances(ctx)).find((row) => row.currency === currency)?.availableMinor ?? 0n;
    if (amountMinor > available) {
      throw new StripeApiError(400, {
        type: 'invalid_request_error',
        code: 'balance_insufficient',
        message: 'You have insufficient funds in your Stripe account for this transfer.',
        param: 'amount',
      });
    }
    const created = unixSeconds(ctx.now);
    const id = newId('po');
    const txnId = newId('txn');
    const txn = balanceTransactionObject({
      id: txnId,
      created,
      availableOn: created,
      amountMinor: -amountMinor,
      feeMinor: 0n,
      currency,
      description: params.string('description') ?? 'STRIPE PAYOUT',
      source: id,
      type: 'payout',
      reportingCategory: 'payout',
    });
    await insertObject(ctx.db, {
      id: txnId,
      object: 'balance_transaction',
      created,
      data: txn,
      internal: { payout: id },
    });
    const data = payoutObject({
      id,
      created,
      arrivalDate: created,
      amountMinor,
      currency,
      automatic: false,
      balanceTransaction: txnId,
      description: params.string('description') ?? null,
      metadata: params.metadata(),
    });
    await insertObject(ctx.db, { id, object: 'payout', created, data, internal: {} });
    await emitEvent(ctx, 'payout.created', data);
    await emitEvent(ctx, 'payout.paid', data);
    return { body: data };
  });

  apiRoute(app, runtime, 'GET', '/v1/payouts/:id', async ({ ctx, params }) => {
    const payout = await getObject(ctx.db, params.id ?? '', { kind: 'payout' });
    if (payout === undefined) throw missingResource('payout', params.id ?? '', 'payout');
    return { body: payout.data };
  });

  apiRoute(app, runtime, 'GET', '/v1/payouts', async ({ ctx, input }) => {
    const params = new Params(input, [...PAGE_PARAMS, 'created', 'arrival_date', 'status', 'destination']);
    const status = params.string('status');
    const created = params.range('created');
    const arrival = params.range('arrival_date');
    const found = await listObjects(ctx.db, {
      kind: 'payout',
      ...params.page(),
      ...(status === undefined ? {} : { equals: { status } }),
      ...(created === undefined ? {} : { created }),
      ...(arrival === undefined ? {} : { numericRanges: [{ field: 'arrival_date', ...arrival }] }),
    });
    return {
      body: listEnvelope(
        '/v1/payouts',
        found.rows.map((row) => row.data),
        found.hasMore,
      ),
    };
  });

  apiRoute(app, runtime, 'POST', '/v1/webhook_endpoints', async ({ ctx, input }) => {
    const params = new Params(input, [
      'url',
      'enabled_events',
      'description',
      'metadata',
      'api_version',
      'connect',
    ]);
    const url = params.string('url', { required: true });
    if (!/^https?:\/\/[^\s]+$/.test(url))
      throw invalidRequest('Invalid URL: must be an http(s) URL.', 'url', 'url_invalid');
    const enabled = params.stringArray('enabled_events');
    if (enabled === undefined || enabled.length === 0)
      throw invalidRequest('Missing required param: enabled_events.', 'enabled_events', 'parameter_missing');
    const created = unixSeconds(ctx.now);
    const id = newId('we');
    const secret = `whsec_${randomBytes(24).toString('base64url')}`;
    const data = {
      id,
      object: 'webhook_endpoint',
      api_version: params.string('api_version') ?? null,
      application: null,
      created,
      description: params.string('description') ?? null,
      enabled_events: enabled,
      livemode: false,
      metadata: params.metadata(),
      status: 'enabled',
      url,
    };
    await insertObject(ctx.db, { id, object: 'webhook_endpoint', created, data, internal: { secret } });
    // Stripe shows the signing secret only in the answer to the create call.
    return { body: { ...data, secret } };
  });

  apiRoute(app, runtime, 'GET', '/v1/webhook_endpoints/:id', async ({ ctx, params }) => {
    const endpoint = await getObject(ctx.db, params.id ?? '', { kind: 'webhook_endpoint' });
    if (endpoint === undefined || endpoint.internal.deleted === true)
      throw missingResource('webhook_endpoint', params.id ?? '', 'webhook_endpoint');
    return { body: endpoint.data };
  });

  apiRoute(app, runtime, 'GET', '/v1/webhook_endpoints', async ({ ctx, input }) => {
    const params = new Params(input, [...PAGE_PARAMS]);
    const found = await listObjects(ctx.db, {
      kind: 'webhook_endpoint',
      ...params.page(),
      equals: { status: 'enabled' },
    });
    return {
      body: listEnvelope(
        '/v1/webhook_endpoints',
        found.rows.map((row) => row.data),
        found.hasMore,
      ),
    };
  });

  apiRoute(app, runtime, 'DELETE', '/v1/webhook_endpoints/:id', async ({ ctx, params }) => {
    const endpoint = await getObject(ctx.db, params.id ?? '', { kind: 'webhook_endpoint', forUpdate: true });
    if (endpoint === undefined || endpoint.internal.deleted === true)
      throw missingResource('webhook_endpoint', params.id ?? '', 'webhook_endpoint');
    // Kept (disabled) rather than deleted, so past deliveries still name it.
    endpoint.data.status = 'disabled';
    endpoint.internal.deleted = true;
    await saveObject(ctx.db, endpoint);
    return { body: { id: endpoint.id, object: 'webhook_endpoint', deleted: true } };
  });
}
