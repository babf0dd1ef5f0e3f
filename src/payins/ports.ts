import type { PoolClient, Queryable } from '../db/pool.ts';
import type { FeePolicy } from '../money/platform-fee.ts';

/**
 * What pay-ins need to know about sellers, defined here and implemented by the sellers module (wired in
 * src/compose.ts), so that pay-ins depend on neither the sellers' tables nor the payouts module.
 */
export interface SellerTerms {
  /** The sellers among `sellerAccounts` that are registered. */
  knownSellers(db: Queryable, sellerAccounts: string[]): Promise<Set<string>>;
  /** The platform fee policy of the seller (their own when agreed, else the platform's) and their hold period. */
  termsFor(db: Queryable, sellerAccount: string): Promise<{ fee: FeePolicy; holdDays: number }>;
}

/** A successful pay-in as other modules hear of it, inside the pay-in's own transaction. */
export interface PayinSucceeded {
  paymentOrderId: string;
  sellerAccount: string;
  currency: string;
  /** What the seller was credited: the gross less the platform fee. */
  netMinor: bigint;
  holdDays: number;
}

/** Effects of pay-ins owned by other modules (the payouts module's hold record), run in the caller's transaction. */
export interface PayinEffects {
  onPayinSucceeded(client: PoolClient, payin: PayinSucceeded): Promise<void>;
}
