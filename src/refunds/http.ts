import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { App, RouteModule } from '../http/app.ts';
import { moneyPostIdentity } from '../http/money-post.ts';
import { keysetPage, pageOf, pageRequestOf, PageQuery } from '../http/pagination.ts';
import { errorResponses, listOf } from '../http/schemas.ts';
import type { RefundsRuntime } from './runtime.ts';
import { createCheckoutRefunds, createRefund, type RefundBody } from './service.ts';
import { getHistory, getRefund, refundsWhere } from './store.ts';
import { REFUND_STATUSES } from './types.ts';
import { RefundWire, refundToWire } from './wire.ts';

const ClientId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 of A-Z a-z 0-9 _ -');
const RefundId = z.string().regex(/^rf_[a-z0-9]{1,40}$/, 'must be a refund id (rf_…)');

const BodyFields = {
  amount: z.string().optional().describe('major units; without it, all that is left is refunded'),
  currency: z.string().optional().describe("the order's currency, when given"),
  reason: z.string().max(500).optional(),
  metadata: z.record(z.string().max(40), z.string().max(500)).optional(),
};
const CreateRefundBody = z
  .object({ payment_order_id: ClientId, ...BodyFields })
  .strict()
  .meta({
    examples: [{ payment_order_id: 'po_1842_a', amount: '10.00', reason: 'requested_by_customer' }],
  });
const CheckoutRefundBody = z
  .object({ ...BodyFields, payment_orders: z.array(ClientId).min(1).max(100).optional() })
  .strict()
  .meta({ examples: [{ reason: 'order canceled' }, { payment_orders: ['po_1842_b'] }] });

const ListQuery = PageQuery.extend({
  payment_order_id: ClientId.optional(),
  seller_account: ClientId.optional(),
  status: z.enum(['pending', 'succeeded', 'failed', 'canceled']).optional(),
  'created[gte]': z.iso.datetime({ offset: true }).optional(),
  'created[lt]': z.iso.datetime({ offset: true }).optional(),
});

const RefundList = listOf(RefundWire);

function refundBodyOf(body: z.infer<typeof CheckoutRefundBody>): RefundBody {
  return { amount: body.amount, currency: body.currency, reason: body.reason, metadata: body.metadata };
}

/** Refund routes (docs/refunds.md). */
export function refundRoutes(rt: RefundsRuntime): RouteModule {
  return (app) => {
    createRoutes(app, rt);
    readRoutes(app, rt);
  };
}

function createRoutes(app: App, rt: RefundsRuntime): void {
  app.post(
    '/v1/refunds',
    {
      config: { auth: { scope: 'payments:write', moneyMoving: true } },
      schema: {
        summary: 'Refund a payment order',
        description:
          'Refunds part or all (without amount) of a SUCCESS payment order. The refund is pending until the PSP settles it. Idempotency-Key required.',
        tags: ['refunds'],
        body: CreateRefundBody,
        response: { 200: RefundWire, 201: RefundWire, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { apiKey, idempotencyKey } = moneyPostIdentity(request);
      const result = await createRefund(rt, {
        apiKeyId: apiKey.id,
        idempotencyKey,
        path: '/v1/refunds',
        body: request.body,
        paymentOrderId: request.body.payment_order_id,
        refund: refundBodyOf(request.body),
      });
      if (result.replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(result.status as 201).send(result.body as RefundWire);
    },
  );
  app.post(
    '/v1/checkouts/:checkout_id/refunds',
    {
      config: { auth: { scope: 'payments:write', moneyMoving: true } },
      schema: {
        summary: 'Refund a whole checkout',
        description:
          'One refund per order (every order with something left, or the listed payment_orders), under one Idempotency-Key.',
        tags: ['refunds'],
        params: z.object({ checkout_id: ClientId }),
        body: CheckoutRefundBody,
        response: { 200: RefundList, 201: RefundList, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { apiKey, idempotencyKey } = moneyPostIdentity(request);
      const result = await createCheckoutRefunds(rt, {
        apiKeyId: apiKey.id,
        idempotencyKey,
        path: `/v1/checkouts/${request.params.checkout_id}/refunds`,
        body: request.body,
        checkoutId: request.params.checkout_id,
        paymentOrders: request.body.payment_orders,
        refund: refundBodyOf(request.body),
      });
      if (result.replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(result.status as 201).send(result.body as z.infer<typeof RefundList>);
    },
  );
}

function readRoutes(app: App, rt: RefundsRuntime): void {
  const { pool } = rt.ctx;
  app.get(
    '/v1/refunds/:id',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: 'A refund',
        description: 'One refund with its status history.',
        tags: ['refunds'],
        params: z.object({ id: RefundId }),
        response: { 200: RefundWire, ...errorResponses() },
      },
    },
    async (request) => {
      const refund = await getRefund(pool, request.params.id);
      if (!refund) throw new AppError('refund_not_found', `no refund ${request.params.id}`);
      return refundToWire(refund, await getHistory(pool, refund.id));
    },
  );
  app.get(
    '/v1/refunds',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: 'List refunds',
        description:
          'Newest first, filtered by payment_order_id, seller_account, status and created[gte|lt]; cursor pagination.',
        tags: ['refunds'],
        querystring: ListQuery,
        response: { 200: RefundList, ...errorResponses() },
      },
    },
    async (request) => listRefunds(rt, request.query),
  );
  app.get(
    '/v1/payments/:payment_order_id/refunds',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: "A payment order's refunds",
        description: 'The refunds of one payment order, newest first; cursor pagination.',
        tags: ['refunds'],
        params: z.object({ payment_order_id: ClientId }),
        querystring: PageQuery,
        response: { 200: RefundList, ...errorResponses() },
      },
    },
    async (request) => {
      const [order] = await rt.orders.byIds(pool, [request.params.payment_order_id]);
      if (!order) throw new AppError('not_found', `no payment order ${request.params.payment_order_id}`);
      return listRefunds(rt, { ...request.query, payment_order_id: order.paymentOrderId });
    },
  );
}

async function listRefunds(rt: RefundsRuntime, query: z.infer<typeof ListQuery>) {
  const params: unknown[] = [];
  const filters: string[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    filters.push(sql.replace('?', `$${params.length}`));
  };
  if (query.payment_order_id !== undefined) add('r.payment_order_id = ?', query.payment_order_id);
  if (query.seller_account !== undefined) add('r.seller_account = ?', query.seller_account);
  if (query.status !== undefined && REFUND_STATUSES.includes(query.status)) add('r.status = ?', query.status);
  if (query['created[gte]'] !== undefined) add('r.created_at >= ?::timestamptz', query['created[gte]']);
  if (query['created[lt]'] !== undefined) add('r.created_at < ?::timestamptz', query['created[lt]']);
  const request = pageRequestOf(query);
  const page = keysetPage(request, { name: 'refunds.refunds', alias: 'r' }, params);
  const rows = await refundsWhere(
    rt.ctx.pool,
    `${[...filters, page.where].join(' AND ')} ORDER BY ${page.orderBy} LIMIT ${page.limit}`,
    params,
  );
  return pageOf(rows, request, page.backwards, (refund) => refundToWire(refund));
}
