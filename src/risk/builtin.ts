import type { RiskAssessment, RiskInput, RiskPort } from './port.ts';
import { evaluateRiskRules, type BuyerVelocity, type RiskRulesConfig } from './rules.ts';

/** The buyer's key for velocity: the id when given, else the e-mail address; undefined for an anonymous buyer. */
export function buyerKeyOf(buyerInfo: Record<string, unknown>): string | undefined {
  const id = buyerInfo.id;
  if (typeof id === 'string' && id.length > 0) return `id:${id}`;
  if (typeof id === 'number') return `id:${id}`;
  const email = buyerInfo.email;
  if (typeof email === 'string' && email.length > 0) return `email:${email.toLowerCase()}`;
  return undefined;
}

/**
 * The buyer's recent checkouts, as the pay-in module reads them from its own tables (its `buyerActivity`): how
 * many the buyer with `buyerKey` started in the hour before `now`, and their totals in `currency`.
 */
export type BuyerHistory = (buyerKey: string, currency: string, now: Date) => Promise<BuyerVelocity>;

/** The built-in risk port: configurable limits, velocity per buyer, and block lists. */
export function createBuiltinRisk(history: BuyerHistory, config: RiskRulesConfig, now: () => Date): RiskPort {
  return {
    name: 'builtin',
    async assess(input: RiskInput): Promise<RiskAssessment> {
      const key = buyerKeyOf(input.buyerInfo);
      const velocity =
        key === undefined ? { checkouts: 0, amountMinor: 0n } : await history(key, input.currency, now());
      return evaluateRiskRules(input, velocity, config);
    },
  };
}
