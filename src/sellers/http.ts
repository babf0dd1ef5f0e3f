import { z } from 'zod';
import type { App } from '../http/app.ts';
import type { AppContext } from '../context.ts';
import { requireScope } from '../http/auth.ts';
import { getWallet, walletToWire } from './wallet.ts';
import { registerSeller, sellerToWire, getSellerOrThrow } from './service.ts';

const SellerAccount = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 of A-Z a-z 0-9 _ -');

const CreateSellerBody = z
  .object({
    seller_account: SellerAccount,
    name: z.string().trim().min(1).max(200),
    currency: z.string(),
    metadata: z.record(z.string(), z.string().max(500)).optional(),
  })
  .strict();

const SellerParams = z.object({ seller_account: SellerAccount });

export function registerSellerRoutes(app: App, ctx: AppContext): void {
  app.post(
    '/v1/sellers',
    { schema: { body: CreateSellerBody }, preHandler: requireScope(ctx.pool, 'payments:write') },
    async (request, reply) => {
      const body = request.body;
      const result = await registerSeller(ctx.pool, {
        sellerAccount: body.seller_account,
        name: body.name,
        currency: body.currency,
        metadata: body.metadata ?? {},
      });
      return reply.code(result.created ? 201 : 200).send(sellerToWire(result.seller));
    },
  );

  app.get(
    '/v1/sellers/:seller_account',
    { schema: { params: SellerParams }, preHandler: requireScope(ctx.pool, 'payments:read') },
    async (request) => sellerToWire(await getSellerOrThrow(ctx.pool, request.params.seller_account)),
  );

  app.get(
    '/v1/sellers/:seller_account/balance',
    { schema: { params: SellerParams }, preHandler: requireScope(ctx.pool, 'payments:read') },
    async (request) => {
      const seller = await getSellerOrThrow(ctx.pool, request.params.seller_account);
      return walletToWire(await getWallet(ctx.pool, seller), ctx.clock.now());
    },
  );
}
