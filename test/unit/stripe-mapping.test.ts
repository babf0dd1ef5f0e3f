import { describe, expect, it } from 'vitest';
import { PspError } from '../../src/psp/port.ts';
import { STRIPE_MAX_AMOUNT_MINOR, toStripeAmount } from '../../src/psp/stripe/mapping.ts';

describe('amounts sent to Stripe', () => {
  it('pass through exactly up to Stripe’s maximum', () => {
    expect(toStripeAmount(1n)).toBe(1);
    expect(toStripeAmount(STRIPE_MAX_AMOUNT_MINOR)).toBe(99_999_999);
  });

  it('above the maximum are a hard failure (amount_too_large), so the order fails instead of retrying', () => {
    const refuse = () => toStripeAmount(STRIPE_MAX_AMOUNT_MINOR + 1n);
    expect(refuse).toThrow(PspError);
    try {
      refuse();
    } catch (error) {
      expect((error as PspError).failureClass).toBe('hard_decline');
      expect((error as PspError).pspCode).toBe('amount_too_large');
    }
  });

  it('of zero or less are refused the same way', () => {
    expect(() => toStripeAmount(0n)).toThrow(PspError);
  });
});
