import { z } from 'zod';
import { disputePolicyToWire } from './dispute-policy.ts';
import type { AppContext } from '../context.ts';
import type { App } from '../http/app.ts';
import { listQuery } from '../http/list-query.ts';
import { pageOf, pageRequestOf } from '../http/pagination.ts';
import { errorResponses, listOf } from '../http/schemas.ts';
import { SellerCore, SellerWire } from './http-schemas.ts';
import { listSellers } from './list-store.ts';
import { setSellerStatus } from './maintenance.ts';
import { sellerToWire } from './service.ts';
import { settingsWireOf } from './settings-service.ts';
import type { Seller } from './store.ts';

const SellerParams = z.object({
  seller_account: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 of A-Z a-z 0-9 _ -'),
});

const SellersQuery = listQuery({
  status: z.enum(['active', 'inactive']).optional(),
  flagged: z
    .enum(['true', 'false'])
    .optional()
    .describe('true: sellers whose payout came back and who must give new bank details'),
});

const ListedSellerWire = SellerCore.extend({
  flagged: z.boolean().describe('a payout came back: the seller must give new bank details'),
});

const StatusBody = z
  .object({ reason: z.string().trim().min(1).max(500).optional() })
  .strict()
  .nullish();

/** The full seller (with its payout settings), as the seller routes answer. */
export async function fullSellerWire(ctx: AppContext, seller: Seller): Promise<SellerWire> {
  return {
    ...sellerToWire(seller),
    ...(await settingsWireOf(ctx.pool, seller)),
    ...(await disputePolicyToWire(ctx.pool, seller.sellerAccount)),
  };
}
type SellerWire = z.infer<typeof SellerWire>;

/** `GET /v1/sellers` and `POST /v1/sellers/{id}/deactivate|reactivate` (docs/api.md). */
export function registerSellerMaintenanceRoutes(app: App, ctx: AppContext): void {
  app.get(
    '/v1/sellers',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: 'List sellers',
        description:
          'Sellers newest first, filtered by status and by whether they must give new bank details.',
        tags: ['sellers'],
        querystring: SellersQuery,
        response: { 200: listOf(ListedSellerWire), ...errorResponses() },
      },
    },
    async (request) => {
      const q = request.query;
      const page = pageRequestOf(q);
      const flagged = q.flagged === undefined ? undefined : q.flagged === 'true';
      const { rows, backwards } = await listSellers(ctx.pool, { status: q.status, flagged }, page);
      return pageOf(rows, page, backwards, (row) => ({ ...sellerToWire(row.seller), flagged: row.flagged }));
    },
  );
  for (const [action, status] of [
    ['deactivate', 'inactive'],
    ['reactivate', 'active'],
  ] as const) {
    app.post(
      `/v1/sellers/:seller_account/${action}`,
      {
        config: { auth: { scope: 'payments:write' } },
        schema: {
          summary: action === 'deactivate' ? 'Deactivate a seller' : 'Reactivate a seller',
          description:
            action === 'deactivate'
              ? 'Stops new checkouts for the seller (seller_inactive); refunds, disputes and payouts of what is owed go on. Audited; event seller.deactivated.'
              : 'Lets a deactivated seller take checkouts again. Audited; event seller.reactivated.',
          tags: ['sellers'],
          params: SellerParams,
          body: StatusBody,
          response: { 200: SellerWire, ...errorResponses() },
        },
      },
      async (request) => {
        const seller = await setSellerStatus(ctx.pool, request.params.seller_account, status, {
          apiKeyId: request.apiKey?.id ?? null,
          reason: request.body?.reason,
        });
        return fullSellerWire(ctx, seller);
      },
    );
  }
}
