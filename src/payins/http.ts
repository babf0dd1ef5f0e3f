import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { App, RouteModule } from '../http/app.ts';
import { moneyPostIdentity } from '../http/money-post.ts';
import { errorResponses } from '../http/schemas.ts';
import { CheckoutWire, PaymentOrderWithHistory } from './http-schemas.ts';
import { requestFingerprint } from './idempotency.ts';
import type { PayinsRuntime } from './runtime.ts';
import { createCheckout } from './service.ts';
import { getCheckout, getHistory, getOrder, getOrders, getRiskDecisions } from './store.ts';
import { CLIENT_ID, CreatePaymentBody, toCheckoutRequest } from './validate.ts';
import type { PaymentOrder } from './types.ts';
import { orderFxOf } from './fx-store.ts';
import { checkoutToWire, historyToWire, orderToWire, settlementToWire, wireAmount } from './wire.ts';
import { registerWebhookRoute } from './webhook-http.ts';
import { payinListRoutes } from './list-http.ts';

const OrderParams = z.object({
  payment_order_id: z.string().regex(CLIENT_ID, 'must be 1–64 of A-Z a-z 0-9 _ -'),
});
const CheckoutParams = z.object({
  checkout_id: z.string().regex(CLIENT_ID, 'must be 1–64 of A-Z a-z 0-9 _ -'),
});

/** Pay-in routes: create a checkout, read an order with its history, read a checkout; and the PSP webhook. */
export function payinRoutes(payins: PayinsRuntime): RouteModule {
  return (app) => registerPayinRoutes(app, payins);
}

async function registerPayinRoutes(app: App, payins: PayinsRuntime): Promise<void> {
  createPaymentRoute(app, payins);
  payinReadRoutes(app, payins);
  payinListRoutes(app, payins);
  registerWebhookRoute(app, payins);
}

/** `POST /v1/payments`: a checkout. */
function createPaymentRoute(app: App, payins: PayinsRuntime): void {
  const runtime = () => payins;
  app.post(
    '/v1/payments',
    {
      config: { auth: { scope: 'payments:write', moneyMoving: true } },
      schema: {
        summary: 'Take a checkout',
        description:
          'Creates a checkout of one or more payment orders (one per seller) and charges it; Idempotency-Key required. Amounts are decimal strings in major units.',
        tags: ['payments'],
        body: CreatePaymentBody,
        response: { 200: CheckoutWire, 201: CheckoutWire, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { apiKey, idempotencyKey } = moneyPostIdentity(request);
      const checkoutRequest = toCheckoutRequest(request.body);
      const result = await createCheckout(runtime(), {
        apiKeyId: apiKey.id,
        idempotencyKey,
        fingerprint: requestFingerprint('POST', '/v1/payments', request.body),
        request: checkoutRequest,
      });
      if (result.replayed) reply.header('Idempotent-Replayed', 'true');
      // A stored (replayed) answer is the checkout's wire body; the response schema checks it on the way out.
      return reply.code(result.status as 201).send(result.body as CheckoutWire);
    },
  );
}

/** The order's refunded amount and marker, when the refunds module is wired (docs/refunds.md). */
async function refundedOf(
  payins: PayinsRuntime,
  order: PaymentOrder,
): Promise<{ amount_refunded?: string; refund_status?: 'none' | 'partially_refunded' | 'refunded' }> {
  if (payins.refundTotals === undefined) return {};
  const refunded =
    (await payins.refundTotals(payins.ctx.pool, [order.paymentOrderId])).get(order.paymentOrderId) ?? 0n;
  return {
    amount_refunded: wireAmount(refunded, order.currency),
    refund_status:
      refunded === 0n ? 'none' : refunded >= order.amountMinor ? 'refunded' : 'partially_refunded',
  };
}

/** `GET /v1/payments/{id}` (an order and its history) and `GET /v1/checkouts/{id}`. */
function payinReadRoutes(app: App, payins: PayinsRuntime): void {
  const { ctx } = payins;
  app.get(
    '/v1/payments/:payment_order_id',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: 'A payment order',
        description: 'One payment order with its status history.',
        tags: ['payments'],
        params: OrderParams,
        response: { 200: PaymentOrderWithHistory, ...errorResponses() },
      },
    },
    async (request) => {
      const order = await getOrder(ctx.pool, request.params.payment_order_id);
      if (!order) throw new AppError('not_found', `no payment order ${request.params.payment_order_id}`);
      const history = await getHistory(ctx.pool, order.paymentOrderId);
      const refunded = await refundedOf(payins, order);
      const settlement = (await orderFxOf(ctx.pool, [order.paymentOrderId])).get(order.paymentOrderId);
      return {
        ...orderToWire(order),
        status_history: historyToWire(history),
        ...refunded,
        ...(settlement ? { settlement: settlementToWire(settlement) } : {}),
      };
    },
  );

  app.get(
    '/v1/checkouts/:checkout_id',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: 'A checkout',
        description: 'The checkout with its orders and derived status.',
        tags: ['payments'],
        params: CheckoutParams,
        response: { 200: CheckoutWire, ...errorResponses() },
      },
    },
    async (request) => {
      const checkout = await getCheckout(ctx.pool, request.params.checkout_id);
      if (!checkout) throw new AppError('not_found', `no checkout ${request.params.checkout_id}`);
      const orders = await getOrders(ctx.pool, checkout.checkoutId);
      const decisions = await getRiskDecisions(ctx.pool, checkout.checkoutId);
      const latest = decisions.at(-1);
      return checkoutToWire(checkout, orders, latest);
    },
  );
}
