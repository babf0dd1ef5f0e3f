import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/pool.ts';
import type { RouteModule } from '../http/app.ts';
import { resolveFeePolicy, type FeePolicy } from '../money/platform-fee.ts';
import { loadPlatformFee } from './config.ts';
import { registerSellerRoutes } from './http.ts';
import { findPayoutSettings, findPayoutSettingsMany } from './payout-settings-store.ts';
import { findDisputePolicy, type DisputePolicy } from './dispute-policy.ts';
import { checkoutSellers, type CheckoutSeller } from './store.ts';
import { loadRefundPolicy, refundPolicyFor, type RefundPolicy } from './refund-policy.ts';

export interface SellersDeps {
  ctx: AppContext;
  /** The platform's default commission; from the environment when not given. */
  platformFee?: FeePolicy;
  /** The platform's refund policy; from the environment when not given. */
  refundPolicy?: RefundPolicy;
}

/** A seller's terms as a successful pay-in needs them: the fee policy that applies and the hold period. */
export interface PayinTerms {
  fee: FeePolicy;
  holdDays: number;
}

export interface SellersModule {
  routes: RouteModule;
  platformFee: FeePolicy;
  /** The registered sellers among `ids` with their status and currency (share-locked until the transaction ends). */
  checkoutSellers(db: Queryable, ids: string[]): Promise<Map<string, CheckoutSeller>>;
  /** The seller's own commission when agreed, else the platform's; and the seller's hold period. */
  termsFor(db: Queryable, sellerAccount: string): Promise<PayinTerms>;
  /** `termsFor` of many sellers in one read, by seller. */
  termsForMany(db: Queryable, sellerAccounts: string[]): Promise<Map<string, PayinTerms>>;
  /** The seller's own dispute policy (who bears the PSP's dispute fee); undefined: the platform's default. */
  disputePolicyFor(db: Queryable, sellerAccount: string): Promise<DisputePolicy | undefined>;
  /** The refund policy that applies to the seller (their overrides over the platform's). */
  refundPolicyFor(db: Queryable, sellerAccount: string): Promise<RefundPolicy>;
}

/** Builds the sellers module: sellers, their wallets, and their terms (fee, hold, reserve, schedule, bank details). */
export function createSellers(deps: SellersDeps): SellersModule {
  const platformFee = deps.platformFee ?? loadPlatformFee();
  const refundPolicy = deps.refundPolicy ?? loadRefundPolicy();
  return {
    routes: (app) => registerSellerRoutes(app, deps.ctx, refundPolicy),
    refundPolicyFor: (db, sellerAccount) => refundPolicyFor(db, refundPolicy, sellerAccount),
    platformFee,
    checkoutSellers,
    termsFor: async (db, sellerAccount) => {
      const settings = await findPayoutSettings(db, sellerAccount);
      return { fee: resolveFeePolicy(platformFee, settings.fee), holdDays: settings.holdDays };
    },
    termsForMany: async (db, sellerAccounts) => {
      const settings = await findPayoutSettingsMany(db, sellerAccounts);
      return new Map(
        [...settings].map(([seller, found]) => [
          seller,
          { fee: resolveFeePolicy(platformFee, found.fee), holdDays: found.holdDays },
        ]),
      );
    },
    disputePolicyFor: (db, sellerAccount) => findDisputePolicy(db, sellerAccount),
  };
}
