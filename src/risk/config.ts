import { parseAmount } from '../money/index.ts';
import { DEFAULT_RISK_RULES, type RiskRulesConfig } from './rules.ts';

/** "USD:10000.00,EUR:5000" → minor units per currency, parsed by the money module. */
export function parseAmountsByCurrency(value: string | undefined, name: string): Record<string, bigint> {
  const result: Record<string, bigint> = {};
  if (value === undefined || value.trim() === '') return result;
  for (const part of value.split(',')) {
    const [currency, amount, extra] = part.trim().split(':');
    if (currency === undefined || amount === undefined || extra !== undefined) {
      throw new Error(`${name} must look like "USD:100.00,EUR:50", got "${value}"`);
    }
    result[currency] = parseAmount(amount, currency);
  }
  return result;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/**
 * The built-in rules from the environment:
 * BURSAR_RISK_MAX_CHECKOUT, BURSAR_RISK_REVIEW_ABOVE, BURSAR_RISK_MAX_AMOUNT_PER_HOUR ("USD:100.00,…"),
 * BURSAR_RISK_MAX_CHECKOUTS_PER_HOUR (a count), BURSAR_RISK_BLOCKED_BUYERS, BURSAR_RISK_BLOCKED_COUNTRIES (lists).
 */
export function loadRiskRules(env: NodeJS.ProcessEnv = process.env): RiskRulesConfig {
  const count = env.BURSAR_RISK_MAX_CHECKOUTS_PER_HOUR;
  if (count !== undefined && count !== '' && !/^\d{1,9}$/.test(count)) {
    throw new Error(`BURSAR_RISK_MAX_CHECKOUTS_PER_HOUR must be a whole number, got "${count}"`);
  }
  return {
    ...DEFAULT_RISK_RULES,
    maxCheckoutMinor: parseAmountsByCurrency(env.BURSAR_RISK_MAX_CHECKOUT, 'BURSAR_RISK_MAX_CHECKOUT'),
    reviewAboveMinor: parseAmountsByCurrency(env.BURSAR_RISK_REVIEW_ABOVE, 'BURSAR_RISK_REVIEW_ABOVE'),
    maxCheckoutsPerBuyerPerHour: count === undefined || count === '' ? undefined : Number.parseInt(count, 10),
    maxAmountPerBuyerPerHourMinor: parseAmountsByCurrency(
      env.BURSAR_RISK_MAX_AMOUNT_PER_HOUR,
      'BURSAR_RISK_MAX_AMOUNT_PER_HOUR',
    ),
    blockedBuyers: list(env.BURSAR_RISK_BLOCKED_BUYERS),
    blockedCountries: list(env.BURSAR_RISK_BLOCKED_COUNTRIES).map((code) => code.toUpperCase()),
  };
}
