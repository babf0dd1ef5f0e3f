import { z } from 'zod';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/pool.ts';
import type { App } from '../http/app.ts';
import { errorResponses } from '../http/schemas.ts';
import { getSellerOrThrow } from './service.ts';

/**
 * The refund policy (docs/refunds.md): whether the platform gives its commission back on a refund (`keep`, the
 * default, or `proportional`), and who bears the PSP's processing fee the PSP does not return (`platform`, the
 * default, or `seller`). Platform-wide from BURSAR_REFUND_PLATFORM_FEE / BURSAR_REFUND_PSP_FEE; a seller's own
 * terms may override either (table `sellers.refund_policies`).
 */
export interface RefundPolicy {
  platformFee: 'keep' | 'proportional';
  pspFee: 'platform' | 'seller';
}

export const DEFAULT_REFUND_POLICY: RefundPolicy = { platformFee: 'keep', pspFee: 'platform' };

/** The platform's refund policy from the environment. */
export function loadRefundPolicy(env: NodeJS.ProcessEnv = process.env): RefundPolicy {
  const platformFee = env.BURSAR_REFUND_PLATFORM_FEE || DEFAULT_REFUND_POLICY.platformFee;
  const pspFee = env.BURSAR_REFUND_PSP_FEE || DEFAULT_REFUND_POLICY.pspFee;
  if (platformFee !== 'keep' && platformFee !== 'proportional')
    throw new Error(`BURSAR_REFUND_PLATFORM_FEE must be keep or proportional, got "${platformFee}"`);
  if (pspFee !== 'platform' && pspFee !== 'seller')
    throw new Error(`BURSAR_REFUND_PSP_FEE must be platform or seller, got "${pspFee}"`);
  return { platformFee, pspFee };
}

interface Row {
  platform_fee: RefundPolicy['platformFee'] | null;
  psp_fee: RefundPolicy['pspFee'] | null;
}

/** The seller's own overrides (null: the platform's). */
export async function findRefundPolicyOverride(
  db: Queryable,
  sellerAccount: string,
): Promise<{ platformFee: RefundPolicy['platformFee'] | null; pspFee: RefundPolicy['pspFee'] | null }> {
  const found = await db.query<Row>(
    'SELECT platform_fee, psp_fee FROM sellers.refund_policies WHERE seller_account = $1',
    [sellerAccount],
  );
  const row = found.rows[0];
  return { platformFee: row?.platform_fee ?? null, pspFee: row?.psp_fee ?? null };
}

/** The policy that applies to the seller: their overrides over the platform's. */
export async function refundPolicyFor(
  db: Queryable,
  platform: RefundPolicy,
  sellerAccount: string,
): Promise<RefundPolicy> {
  const own = await findRefundPolicyOverride(db, sellerAccount);
  return { platformFee: own.platformFee ?? platform.platformFee, pspFee: own.pspFee ?? platform.pspFee };
}

const PolicyBody = z
  .object({
    platform_fee: z.enum(['keep', 'proportional']).nullable().optional(),
    psp_fee: z.enum(['platform', 'seller']).nullable().optional(),
  })
  .strict();

const PolicyWire = z.object({
  object: z.literal('refund_policy'),
  seller_account: z.string(),
  platform_fee: z.enum(['keep', 'proportional']),
  psp_fee: z.enum(['platform', 'seller']),
  overrides: z.object({
    platform_fee: z.enum(['keep', 'proportional']).nullable(),
    psp_fee: z.enum(['platform', 'seller']).nullable(),
  }),
});

const Params = z.object({
  seller_account: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 of A-Z a-z 0-9 _ -'),
});

async function policyWire(db: Queryable, platform: RefundPolicy, sellerAccount: string) {
  const own = await findRefundPolicyOverride(db, sellerAccount);
  return {
    object: 'refund_policy' as const,
    seller_account: sellerAccount,
    platform_fee: own.platformFee ?? platform.platformFee,
    psp_fee: own.pspFee ?? platform.pspFee,
    overrides: { platform_fee: own.platformFee, psp_fee: own.pspFee },
  };
}

/** `GET` / `PUT /v1/sellers/{id}/refund-policy`: the seller's refund policy and its overrides. */
export function registerRefundPolicyRoutes(app: App, ctx: AppContext, platform: RefundPolicy): void {
  app.get(
    '/v1/sellers/:seller_account/refund-policy',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: "A seller's refund policy",
        description: 'The policy that applies to the seller (their overrides over the platform-wide one).',
        tags: ['sellers', 'refunds'],
        params: Params,
        response: { 200: PolicyWire, ...errorResponses() },
      },
    },
    async (request) => {
      const seller = await getSellerOrThrow(ctx.pool, request.params.seller_account);
      return policyWire(ctx.pool, platform, seller.sellerAccount);
    },
  );
  app.put(
    '/v1/sellers/:seller_account/refund-policy',
    {
      config: { auth: { scope: 'payments:write' } },
      schema: {
        summary: "Set a seller's refund policy overrides",
        description:
          'platform_fee keep|proportional, psp_fee platform|seller; null (or absent) falls back to the platform-wide policy.',
        tags: ['sellers', 'refunds'],
        params: Params,
        body: PolicyBody,
        response: { 200: PolicyWire, ...errorResponses() },
      },
    },
    async (request) => {
      const seller = await getSellerOrThrow(ctx.pool, request.params.seller_account);
      await ctx.pool.query(
        `INSERT INTO sellers.refund_policies (seller_account, platform_fee, psp_fee) VALUES ($1, $2, $3)
         ON CONFLICT (seller_account) DO UPDATE SET platform_fee = $2, psp_fee = $3, updated_at = now()`,
        [seller.sellerAccount, request.body.platform_fee ?? null, request.body.psp_fee ?? null],
      );
      return policyWire(ctx.pool, platform, seller.sellerAccount);
    },
  );
}
