import { describe, expect, it } from 'vitest';
import { parseAmountsByCurrency, loadRiskRules } from '../../src/risk/config.ts';
import { DEFAULT_RISK_RULES, evaluateRiskRules } from '../../src/risk/rules.ts';
import type { RiskInput } from '../../src/risk/port.ts';

const input = (
  totalMinor: bigint,
  buyerInfo: Record<string, unknown> = { id: 'b1', country: 'US' },
): RiskInput => ({
  checkoutId: 'c',
  buyerInfo,
  currency: 'USD',
  totalMinor,
  orders: [{ paymentOrderId: 'p', sellerAccount: 's', amountMinor: totalMinor }],
});
const quiet = { checkouts: 0, amountMinor: 0n };

describe('built-in risk rules', () => {
  it('approves when no rule applies', () => {
    expect(evaluateRiskRules(input(100n), quiet, DEFAULT_RISK_RULES)).toEqual({
      decision: 'approve',
      reasons: [],
      provider: 'builtin',
    });
  });

  it('rejects above the per-checkout maximum, per currency', () => {
    const config = { ...DEFAULT_RISK_RULES, maxCheckoutMinor: { USD: 1000n } };
    expect(evaluateRiskRules(input(1000n), quiet, config).decision).toBe('approve');
    expect(evaluateRiskRules(input(1001n), quiet, config)).toMatchObject({
      decision: 'reject',
      reasons: ['max_checkout_amount'],
    });
  });

  it('rejects on velocity: too many checkouts or too much money per buyer per hour', () => {
    const config = {
      ...DEFAULT_RISK_RULES,
      maxCheckoutsPerBuyerPerHour: 3,
      maxAmountPerBuyerPerHourMinor: { USD: 5000n },
    };
    expect(evaluateRiskRules(input(100n), { checkouts: 2, amountMinor: 0n }, config).decision).toBe(
      'approve',
    );
    expect(evaluateRiskRules(input(100n), { checkouts: 3, amountMinor: 0n }, config).reasons).toEqual([
      'velocity_count',
    ]);
    expect(evaluateRiskRules(input(100n), { checkouts: 0, amountMinor: 4901n }, config).reasons).toEqual([
      'velocity_amount',
    ]);
  });

  it('rejects blocked buyers (by id or e-mail, any case) and blocked countries, keeping every reason', () => {
    const config = { ...DEFAULT_RISK_RULES, blockedBuyers: ['Fraud@Example.com'], blockedCountries: ['KP'] };
    expect(
      evaluateRiskRules(input(1n, { email: 'fraud@example.com', country: 'kp' }), quiet, config),
    ).toMatchObject({
      decision: 'reject',
      reasons: ['buyer_blocked', 'country_blocked'],
    });
  });

  it('sends large checkouts to review, and reject wins over review', () => {
    const config = { ...DEFAULT_RISK_RULES, reviewAboveMinor: { USD: 500n }, blockedCountries: ['KP'] };
    expect(evaluateRiskRules(input(501n), quiet, config).decision).toBe('review');
    expect(evaluateRiskRules(input(501n, { country: 'KP' }), quiet, config).decision).toBe('reject');
  });

  it('reads its settings from the environment with the money module', () => {
    expect(parseAmountsByCurrency('USD:10.00,JPY:1200', 'X')).toEqual({ USD: 1000n, JPY: 1200n });
    expect(() => parseAmountsByCurrency('USD=10', 'X')).toThrow();
    const rules = loadRiskRules({
      BURSAR_RISK_MAX_CHECKOUTS_PER_HOUR: '5',
      BURSAR_RISK_BLOCKED_COUNTRIES: 'kp, ir',
    });
    expect(rules.maxCheckoutsPerBuyerPerHour).toBe(5);
    expect(rules.blockedCountries).toEqual(['KP', 'IR']);
  });
});
