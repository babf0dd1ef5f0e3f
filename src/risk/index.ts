/** The risk port and its built-in rules: before any PSP call, something decides whether a checkout may go ahead. */
import type { RiskPort } from './port.ts';
import { createBuiltinRisk, type BuyerHistory } from './builtin.ts';
import { loadRiskRules } from './config.ts';
import type { RiskRulesConfig } from './rules.ts';

export type { RiskAssessment, RiskDecision, RiskInput, RiskPort } from './port.ts';
export { createBuiltinRisk, buyerKeyOf, type BuyerHistory } from './builtin.ts';
export { loadRiskRules } from './config.ts';
export { DEFAULT_RISK_RULES, evaluateRiskRules, type RiskRulesConfig, type BuyerVelocity } from './rules.ts';

export interface RiskDeps {
  /** The buyer's recent checkouts (the pay-in module's `buyerActivity`, wired in src/compose.ts). */
  history: BuyerHistory;
  now: () => Date;
  /** The rules; from the environment (BURSAR_RISK_*) when not given. */
  rules?: RiskRulesConfig;
}

/** Builds the built-in risk port. */
export function createRisk(deps: RiskDeps): RiskPort {
  return createBuiltinRisk(deps.history, deps.rules ?? loadRiskRules(), deps.now);
}
