/**
 * The risk port: before any PSP call, something decides whether a checkout may go ahead. The built-in rules
 * (rules.ts) implement it; a third-party provider (Sift, Stripe Radar, …) fits behind the same interface.
 */

export type RiskDecision = 'approve' | 'review' | 'reject';

export interface RiskInput {
  checkoutId: string;
  /** The buyer as the marketplace sent it (id, email, country, …). */
  buyerInfo: Record<string, unknown>;
  currency: string;
  totalMinor: bigint;
  orders: Array<{ paymentOrderId: string; sellerAccount: string; amountMinor: bigint }>;
}

export interface RiskAssessment {
  decision: RiskDecision;
  /** Machine-readable reasons, e.g. `max_checkout_amount`, `buyer_blocked`; empty for a plain approve. */
  reasons: string[];
  /** Who decided: `builtin`, or the third-party provider's name. */
  provider: string;
}

export interface RiskPort {
  readonly name: string;
  assess(input: RiskInput): Promise<RiskAssessment>;
}

/** The stricter of two decisions: reject over review over approve. */
export function stricter(a: RiskDecision, b: RiskDecision): RiskDecision {
  const rank: Record<RiskDecision, number> = { approve: 0, review: 1, reject: 2 };
  return rank[a] >= rank[b] ? a : b;
}
