import { z } from 'zod';
import type { App } from '../http/app.ts';
import { CreatedFilter, createdRangeOf, listQuery } from '../http/list-query.ts';
import { pageOf, pageRequestOf } from '../http/pagination.ts';
import { errorResponses, listOf } from '../http/schemas.ts';
import { CheckoutStatus, CheckoutWire, PaymentOrderWire } from './http-schemas.ts';
import { listCheckouts, listOrders } from './list-store.ts';
import type { PayinsRuntime } from './runtime.ts';
import { ORDER_STATUSES } from './state-machine.ts';
import { CLIENT_ID } from './validate.ts';
import { checkoutToWire, orderToWire } from './wire.ts';

const Id = z.string().regex(CLIENT_ID, 'must be 1–64 of A-Z a-z 0-9 _ -');
const BuyerId = z.string().min(1).max(200);

const PaymentsQuery = listQuery({
  buyer_id: BuyerId.optional().describe("the buyer's id (buyer_info.id, else the email)"),
  seller_account: Id.optional(),
  checkout_id: Id.optional(),
  status: z.enum(ORDER_STATUSES).optional(),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code in upper case')
    .optional(),
  ...CreatedFilter,
});

const CheckoutsQuery = listQuery({
  buyer_id: BuyerId.optional().describe("the buyer's id (buyer_info.id)"),
  status: CheckoutStatus.optional(),
  ...CreatedFilter,
});

/** `GET /v1/payments` and `GET /v1/checkouts`: cursor-paginated lists, newest first (docs/api.md "Lists"). */
export function payinListRoutes(app: App, payins: PayinsRuntime): void {
  const { ctx } = payins;
  app.get(
    '/v1/payments',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: 'List payment orders',
        description:
          'Payment orders newest first, filtered by buyer, seller, checkout, status, currency and creation time.',
        tags: ['payments'],
        querystring: PaymentsQuery,
        response: { 200: listOf(PaymentOrderWire), ...errorResponses() },
      },
    },
    async (request) => {
      const q = request.query;
      const page = pageRequestOf(q);
      const filter = {
        buyerId: q.buyer_id,
        sellerAccount: q.seller_account,
        checkoutId: q.checkout_id,
        status: q.status,
        currency: q.currency,
        created: createdRangeOf(q),
      };
      const { rows, backwards } = await listOrders(ctx.pool, filter, page);
      return pageOf(rows, page, backwards, orderToWire);
    },
  );

  app.get(
    '/v1/checkouts',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: 'List checkouts',
        description:
          'Checkouts with their payment orders, newest first, filtered by buyer, status and creation time.',
        tags: ['payments'],
        querystring: CheckoutsQuery,
        response: { 200: listOf(CheckoutWire), ...errorResponses() },
      },
    },
    async (request) => {
      const q = request.query;
      const page = pageRequestOf(q);
      const filter = { buyerId: q.buyer_id, status: q.status, created: createdRangeOf(q) };
      const { rows, backwards } = await listCheckouts(ctx.pool, filter, page);
      return pageOf(rows, page, backwards, (row) => checkoutToWire(row.checkout, row.orders));
    },
  );
}
