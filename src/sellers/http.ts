import { z } from 'zod';
import { registerBankCorrectionRoutes } from './bank-corrections-http.ts';
import type { App } from '../http/app.ts';
import type { AppContext } from '../context.ts';
import { errorResponses } from '../http/schemas.ts';
import { BalanceWire, SellerWire } from './http-schemas.ts';
import { getWallet, walletToWire } from './wallet.ts';
import { debtWriteOffRoute } from './debt-http.ts';
import { sellerToWire, getSellerOrThrow } from './service.ts';
import { PayoutBody, PlatformFeeBody } from './payout-wire.ts';
import { loadRefundPolicy, registerRefundPolicyRoutes, type RefundPolicy } from './refund-policy.ts';
import { registerSellerWithSettings, settingsWireOf, updateSellerSettings } from './settings-service.ts';
import { DisputePolicyBody, disputePolicyToWire, saveDisputePolicy } from './dispute-policy.ts';
import {
  METADATA_KEY_MAX,
  METADATA_MAX_KEYS,
  METADATA_VALUE_MAX,
  updateSellerProfile,
} from './maintenance.ts';
import { registerSellerMaintenanceRoutes } from './maintenance-http.ts';

/** A metadata change: merged into the seller's; a key given "" is removed. Bounded in keys and sizes. */
const MetadataChange = z
  .record(z.string().min(1).max(METADATA_KEY_MAX), z.string().max(METADATA_VALUE_MAX))
  .refine((value) => Object.keys(value).length <= METADATA_MAX_KEYS, {
    message: `at most ${METADATA_MAX_KEYS} keys`,
  });

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
  .strict()
  .meta({
    examples: [
      {
        seller_account: 'seller_bakery',
        name: 'The Corner Bakery',
        currency: 'EUR',
        metadata: { crm_id: 'c-1029' },
      },
    ],
  });

const UpdateSellerBody = z
  .object({
    payout: PayoutBody.optional(),
    platform_fee: PlatformFeeBody.optional(),
    dispute_policy: DisputePolicyBody.optional(),
    name: z.string().trim().min(1).max(200).optional(),
    metadata: MetadataChange.optional(),
  })
  .strict();

const SellerParams = z.object({ seller_account: SellerAccount });

export function registerSellerRoutes(app: App, ctx: AppContext, refundPolicy?: RefundPolicy): void {
  createSellerRoute(app, ctx);
  sellerRoutes(app, ctx);
  balanceRoute(app, ctx);
  debtWriteOffRoute(app, ctx);
  registerSellerMaintenanceRoutes(app, ctx);
  registerBankCorrectionRoutes(app, ctx);
  registerRefundPolicyRoutes(app, ctx, refundPolicy ?? loadRefundPolicy());
}

/** `POST /v1/sellers`. */
function createSellerRoute(app: App, ctx: AppContext): void {
  app.post(
    '/v1/sellers',
    {
      config: { auth: { scope: 'payments:write' } },
      schema: {
        summary: 'Register a seller',
        description:
          'Creates the seller account (wallet accounts in the ledger); answers 200 with the same seller when it exists with the same details.',
        tags: ['sellers'],
        body: CreateSellerBody,
        response: { 200: SellerWire, 201: SellerWire, ...errorResponses() },
      },
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
        ...(await settingsWireOf(ctx.pool, result.seller, result.settings)),
        ...(await disputePolicyToWire(ctx.pool, result.seller.sellerAccount)),
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
      schema: {
        summary: 'A seller',
        description: 'The seller with its status, terms and payout settings.',
        tags: ['sellers'],
        params: SellerParams,
        response: { 200: SellerWire, ...errorResponses() },
      },
    },
    async (request) => {
      const seller = await getSellerOrThrow(ctx.pool, request.params.seller_account);
      return {
        ...sellerToWire(seller),
        ...(await settingsWireOf(ctx.pool, seller)),
        ...(await disputePolicyToWire(ctx.pool, seller.sellerAccount)),
      };
    },
  );

  app.patch(
    '/v1/sellers/:seller_account',
    {
      config: { auth: { scope: 'payments:write' } },
      schema: {
        summary: 'Change a seller',
        description: 'Changes the name, metadata, commission and other terms of a seller; audited.',
        tags: ['sellers'],
        params: SellerParams,
        body: UpdateSellerBody,
        response: { 200: SellerWire, ...errorResponses() },
      },
    },
    async (request) => {
      let seller = await getSellerOrThrow(ctx.pool, request.params.seller_account);
      const { name, metadata } = request.body;
      if (name !== undefined || metadata !== undefined) {
        const apiKeyId = request.apiKey?.id ?? null;
        seller = await updateSellerProfile(ctx.pool, seller.sellerAccount, { name, metadata }, apiKeyId);
      }
      const settings = await updateSellerSettings(
        ctx.pool,
        seller,
        request.body.payout,
        request.body.platform_fee,
        request.apiKey?.id ?? null,
      );
      await saveDisputePolicy(ctx.pool, seller.sellerAccount, request.body.dispute_policy);
      return {
        ...sellerToWire(seller),
        ...(await settingsWireOf(ctx.pool, seller, settings)),
        ...(await disputePolicyToWire(ctx.pool, seller.sellerAccount)),
      };
    },
  );
}

/** `GET /v1/sellers/{id}/balance`. */
function balanceRoute(app: App, ctx: AppContext): void {
  app.get(
    '/v1/sellers/:seller_account/balance',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: "A seller's balance",
        description:
          'The seller balance by bucket (pending, available, reserved, in transit, due) from the ledger, amounts as decimal strings.',
        tags: ['sellers'],
        params: SellerParams,
        response: { 200: BalanceWire, ...errorResponses() },
      },
    },
    async (request) => {
      const seller = await getSellerOrThrow(ctx.pool, request.params.seller_account);
      return walletToWire(await getWallet(ctx.pool, seller), ctx.clock.now());
    },
  );
}
