import { interpretStripeEvent } from '../../src/psp/stripe/events.ts';
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

/** The adapter's side of the PSP port: a Stripe event in Bursar's words (src/psp/stripe/events.ts). */
const interpretEvent = (type: string, object: Record<string, unknown>) =>
  interpretStripeEvent({ type, object });

describe('PSP event interpretation', () => {
  it('maps Stripe checkout and payment intent events to Bursar’s payment outcomes, with the session or order they concern', () => {
    expect(
      interpretEvent('checkout.session.completed', {
        id: 'cs_1',
        payment_status: 'paid',
        payment_intent: 'pi_1',
      }),
    ).toEqual({
      subject: 'session',
      sessionId: 'cs_1',
      outcome: { kind: 'succeeded', paymentId: 'pi_1' },
    });
    expect(
      interpretEvent('checkout.session.completed', { id: 'cs_1', payment_status: 'unpaid' }),
    ).toMatchObject({ outcome: { kind: 'pending' } });
    expect(interpretEvent('checkout.session.expired', { id: 'cs_1' })).toMatchObject({
      outcome: { kind: 'expired' },
    });
    expect(
      interpretEvent('payment_intent.payment_failed', {
        id: 'pi_2',
        metadata: { payment_order_id: 'po_1' },
        last_payment_error: { decline_code: 'insufficient_funds' },
      }),
    ).toEqual({
      subject: 'order',
      paymentOrderId: 'po_1',
      outcome: { kind: 'failed', code: 'insufficient_funds', paymentId: 'pi_2' },
    });
    expect(interpretEvent('charge.refunded', {}).subject).toBe('none');
  });

  it('maps refund, dispute and payout events to their outcomes, and leaves unknown ones alone', () => {
    expect(
      interpretEvent('refund.updated', {
        id: 're_1',
        status: 'succeeded',
        payment_intent: 'pi_1',
        amount: 100,
        currency: 'usd',
      }),
    ).toMatchObject({
      subject: 'refund',
      refundId: 're_1',
      paymentId: 'pi_1',
      state: 'settled',
      refunds: [{ refundId: 're_1', amountMinor: 100n, currency: 'USD', state: 'succeeded' }],
    });
    expect(interpretEvent('refund.updated', { id: 're_1', status: 'pending' }).subject).toBe('none');
    expect(
      interpretEvent('charge.dispute.created', {
        id: 'dp_1',
        payment_intent: 'pi_1',
        status: 'needs_response',
      }),
    ).toEqual({
      subject: 'dispute',
      disputeId: 'dp_1',
      paymentId: 'pi_1',
      state: 'opened',
      status: 'needs_response',
    });
    expect(interpretEvent('charge.dispute.closed', { id: 'dp_1', status: 'won' })).toMatchObject({
      subject: 'dispute',
      state: 'closed',
      status: 'won',
    });
    expect(interpretEvent('payout.paid', { id: 'po_1' })).toEqual({
      subject: 'payout',
      payoutId: 'po_1',
      state: 'paid',
    });
    expect(interpretEvent('customer.created', { id: 'cus_1' })).toEqual({
      subject: 'none',
      why: 'unhandled customer.created',
    });
  });
});
