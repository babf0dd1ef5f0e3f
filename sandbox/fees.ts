/**
 * The sandbox's processing fee: 2.9 % of the amount, rounded half up to the minor unit, plus 30 minor units —
 * Stripe's standard card pricing, applied to every currency alike (so JPY pays 30 yen, not 30 cents). Integer
 * arithmetic only: fee = floor((amount * 29 + 500) / 1000) + 30.
 */
export const FEE_PERCENT_PER_MILLE = 29n;
export const FEE_FIXED_MINOR = 30n;
/** What a dispute costs the platform, in the charge's minor units (Stripe charges 15.00 USD). */
export const DISPUTE_FEE_MINOR = 1500n;

export function processingFeeMinor(amountMinor: bigint): bigint {
  if (amountMinor <= 0n) return 0n;
  return (amountMinor * FEE_PERCENT_PER_MILLE + 500n) / 1000n + FEE_FIXED_MINOR;
}
