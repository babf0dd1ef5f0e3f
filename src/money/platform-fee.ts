import { basisPointsOf } from './fees.ts';

/** The platform's commission on a pay-in: basis points of the order plus a fixed amount, per order. */
export interface FeePolicy {
  /** 1 bp = 0.01 %. */
  basisPoints: bigint;
  /** Minor units of the order's currency, added to the percentage part. */
  fixedMinor: bigint;
}

export const NO_FEE: FeePolicy = { basisPoints: 0n, fixedMinor: 0n };

/**
 * The platform fee on one payment order, in the order's minor units: never negative and never more than the
 * order itself, so the seller's share is never negative. Rounded half-even (no bias over many orders).
 * The one place the fee is computed; the sellers module chooses the policy passed in (a seller's own or the default).
 */
export function platformFeeMinor(amountMinor: bigint, policy: FeePolicy): bigint {
  if (amountMinor <= 0n) throw new RangeError('platformFeeMinor needs a positive amount');
  if (policy.basisPoints < 0n || policy.fixedMinor < 0n)
    throw new RangeError('fee policy must not be negative');
  const fee = basisPointsOf(amountMinor, policy.basisPoints, 'half-even') + policy.fixedMinor;
  return fee > amountMinor ? amountMinor : fee;
}

/**
 * The policy for one seller: the seller's own commission when the marketplace agreed one (docs/payouts.md,
 * `platform_fee` on the seller), else the platform's default.
 */
export function resolveFeePolicy(platformDefault: FeePolicy, sellerOverride: FeePolicy | null): FeePolicy {
  return sellerOverride ?? platformDefault;
}
