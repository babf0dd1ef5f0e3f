import { z } from 'zod';
import type { App } from '../http/app.ts';
import type { AppContext } from '../context.ts';
import { errorResponses } from '../http/schemas.ts';
import { BalanceWire, SellerWire } from './http-schemas.ts';
import { getWallet, walletToWire } from './wallet.ts';
import { sellerToWire, getSellerOrThrow } from './service.ts';
import { assertCurrency } from '../money/index.ts';
import { PayoutBody, PlatformFeeBody, settingsToWire } from './payout-wire.ts';
import { loadRefundPolicy, registerRefundPolicyRoutes, type RefundPolicy } from './refund-policy.ts';
import { getSellerSettings, registerSellerWithSettings, updateSellerSettings } from './settings-service.ts';

const SellerAccount = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 of A-Z a-z 0-9 _ -');

const CreateSellerBody = z
  .object({
    seller_account: SellerAccount,
    name: z.string().trim().min(1).max(200),
    currency: z.string(),
    metadata: z.record(z.string(), z.string().max(500)).optional(),
    payout: PayoutBody.optional(),
    platform_fee: PlatformFeeBody.optional(),
  })
  .strict();

const UpdateSellerBody = z
  .object({ payout: PayoutBody.optional(), platform_fee: PlatformFeeBody.optional() })
  .strict();

const SellerParams = z.object({ seller_account: SellerAccount });

export function registerSellerRoutes(app: App, ctx: AppContext, refundPolicy?: RefundPolicy): void {
  createSellerRoute(app, ctx);
  sellerRoutes(app, ctx);
  balanceRoute(app, ctx);
  registerRefundPolicyRoutes(app, ctx, refundPolicy ?? loadRefundPolicy());
}

/** `POST /v1/sellers`. */
function createSellerRoute(app: App, ctx: AppContext): void {
  app.post(
    '/v1/sellers',
    {
      config: { auth: { scope: 'payments:write' } },
      schema: { body: CreateSellerBody, response: { 200: SellerWire, 201: SellerWire, ...errorResponses() } },
    },
    async (request, reply) => {
      const body = request.body;
      const result = await registerSellerWithSettings(
        ctx.pool,
        {
          sellerAccount: body.seller_account,
          name: body.name,
          currency: body.currency,
          metadata: body.metadata ?? {},
        },
        body.payout,
        body.platform_fee,
        request.apiKey?.id ?? null,
      );
      return reply.code(result.created ? 201 : 200).send({
        ...sellerToWire(result.seller),
        ...settingsToWire(result.settings, assertCurrency(result.seller.currency)),
      });
    },
  );
}

/** `GET` and `PATCH /v1/sellers/{id}`. */
function sellerRoutes(app: App, ctx: AppContext): void {
  app.get(
    '/v1/sellers/:seller_account',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: { params: SellerParams, response: { 200: SellerWire, ...errorResponses() } },
    },
    async (request) => {
      const seller = await getSellerOrThrow(ctx.pool, request.params.seller_account);
      const settings = await getSellerSettings(ctx.pool, seller.sellerAccount);
      return { ...sellerToWire(seller), ...settingsToWire(settings, assertCurrency(seller.currency)) };
    },
  );

  app.patch(
    '/v1/sellers/:seller_account',
    {
      config: { auth: { scope: 'payments:write' } },
      schema: {
        params: SellerParams,
        body: UpdateSellerBody,
        response: { 200: SellerWire, ...errorResponses() },
      },
    },
    async (request) => {
      const seller = await getSellerOrThrow(ctx.pool, request.params.seller_account);
      const settings = await updateSellerSettings(
        ctx.pool,
        seller,
        request.body.payout,
        request.body.platform_fee,
        request.apiKey?.id ?? null,
      );
      return { ...sellerToWire(seller), ...settingsToWire(settings, assertCurrency(seller.currency)) };
    },
  );
}

/** `GET /v1/sellers/{id}/balance`. */
function balanceRoute(app: App, ctx: AppContext): void {
  app.get(
    '/v1/sellers/:seller_account/balance',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: { params: SellerParams, response: { 200: BalanceWire, ...errorResponses() } },
    },
    async (request) => {
      const seller = await getSellerOrThrow(ctx.pool, request.params.seller_account);
      return walletToWire(await getWallet(ctx.pool, seller), ctx.clock.now());
    },
  );
}
