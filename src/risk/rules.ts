import type { RiskAssessment, RiskDecision, RiskInput } from './port.ts';
import { stricter } from './port.ts';

/** The built-in rules' settings. Amounts are minor units per currency; a currency without a limit has none. */
export interface RiskRulesConfig {
  /** Largest checkout total accepted; above it the checkout is rejected. */
  maxCheckoutMinor: Record<string, bigint>;
  /** Checkout totals above this go to review (they still proceed; see docs/payins.md). */
  reviewAboveMinor: Record<string, bigint>;
  /** Most checkouts one buyer may start in an hour (this one included); undefined: no limit. */
  maxCheckoutsPerBuyerPerHour: number | undefined;
  /** Most money one buyer may spend in an hour, per currency (this checkout included). */
  maxAmountPerBuyerPerHourMinor: Record<string, bigint>;
  /** Buyer ids or e-mail addresses (compared case-insensitively) that are always rejected. */
  blockedBuyers: string[];
  /** ISO 3166 alpha-2 country codes whose buyers are rejected. */
  blockedCountries: string[];
}

export const DEFAULT_RISK_RULES: RiskRulesConfig = {
  maxCheckoutMinor: {},
  reviewAboveMinor: {},
  maxCheckoutsPerBuyerPerHour: undefined,
  maxAmountPerBuyerPerHourMinor: {},
  blockedBuyers: [],
  blockedCountries: [],
};

/** What the buyer did in the last hour, before this checkout. */
export interface BuyerVelocity {
  checkouts: number;
  /** Totals of those checkouts in this checkout's currency. */
  amountMinor: bigint;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** Evaluates every rule and keeps every reason, so a person reading a decision sees all that applied. Pure. */
export function evaluateRiskRules(
  input: RiskInput,
  velocity: BuyerVelocity,
  config: RiskRulesConfig,
): RiskAssessment {
  let decision: RiskDecision = 'approve';
  const reasons: string[] = [];
  const flag = (d: RiskDecision, reason: string) => {
    decision = stricter(decision, d);
    reasons.push(reason);
  };

  const blocked = new Set(config.blockedBuyers.map((value) => value.toLowerCase()));
  const id = text(input.buyerInfo.id);
  const email = text(input.buyerInfo.email);
  if (
    (id !== undefined && blocked.has(id.toLowerCase())) ||
    (email !== undefined && blocked.has(email.toLowerCase()))
  ) {
    flag('reject', 'buyer_blocked');
  }
  const country = text(input.buyerInfo.country)?.toUpperCase();
  if (country !== undefined && config.blockedCountries.some((code) => code.toUpperCase() === country)) {
    flag('reject', 'country_blocked');
  }

  const max = config.maxCheckoutMinor[input.currency];
  if (max !== undefined && input.totalMinor > max) flag('reject', 'max_checkout_amount');

  if (
    config.maxCheckoutsPerBuyerPerHour !== undefined &&
    velocity.checkouts + 1 > config.maxCheckoutsPerBuyerPerHour
  ) {
    flag('reject', 'velocity_count');
  }
  const maxHourly = config.maxAmountPerBuyerPerHourMinor[input.currency];
  if (maxHourly !== undefined && velocity.amountMinor + input.totalMinor > maxHourly)
    flag('reject', 'velocity_amount');

  const review = config.reviewAboveMinor[input.currency];
  if (review !== undefined && input.totalMinor > review) flag('review', 'review_amount');

  return { decision, reasons, provider: 'builtin' };
}
