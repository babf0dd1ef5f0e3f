import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backoffCeilingMs, canRetry, retryDelayMs, type RetryPolicy } from '../../src/jobs/backoff.ts';
import { platformFeeMinor } from '../../src/money/platform-fee.ts';
import { requireIdempotencyKey } from '../../src/http/money-post.ts';
import { canonicalJson, requestFingerprint } from '../../src/payins/idempotency.ts';
import { feeOfCharge, outcomeFromCharge, outcomeFromSession } from '../../src/payins/settle.ts';

const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 8000, jitterRatio: 0.5 };

describe('retry backoff', () => {
  it('doubles from the base delay and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 60].map((n) => backoffCeilingMs(n, policy))).toEqual([
      1000, 2000, 4000, 8000, 8000, 8000, 8000,
    ]);
  });

  it('jitters within [ceiling × (1 − ratio), ceiling], and never waits less than Retry-After', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        (attempt, r) => {
          const ceiling = backoffCeilingMs(attempt, policy);
          const delay = retryDelayMs(attempt, policy, { random: () => r });
          expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
          expect(delay).toBeLessThanOrEqual(ceiling);
        },
      ),
    );
    expect(retryDelayMs(1, policy, { random: () => 0, retryAfterSeconds: 30 })).toBe(30_000);
  });

  it('allows attempts up to the cap only', () => {
    expect(canRetry(4, policy)).toBe(true);
    expect(canRetry(5, policy)).toBe(false);
  });
});

describe('platform fee', () => {
  it('is basis points plus fixed, rounded half-even, never above the order', () => {
    expect(platformFeeMinor(10_000n, { basisPoints: 250n, fixedMinor: 30n })).toBe(280n);
    expect(platformFeeMinor(50n, { basisPoints: 100n, fixedMinor: 0n })).toBe(0n);
    expect(platformFeeMinor(150n, { basisPoints: 100n, fixedMinor: 0n })).toBe(2n);
    expect(platformFeeMinor(10n, { basisPoints: 0n, fixedMinor: 30n })).toBe(10n);
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 15n }),
        fc.bigInt({ min: 0n, max: 10_000n }),
        fc.bigInt({ min: 0n, max: 10n ** 6n }),
        (amount, bps, fixed) => {
          const fee = platformFeeMinor(amount, { basisPoints: bps, fixedMinor: fixed });
          expect(fee >= 0n && fee <= amount).toBe(true);
        },
      ),
    );
  });
});

describe('idempotency helpers', () => {
  it('gives the same fingerprint to the same body in any key order, and a different one otherwise', () => {
    const a = requestFingerprint('POST', '/v1/payments', { b: 1, a: { y: [1, 2], x: 'z' } });
    const b = requestFingerprint('POST', '/v1/payments', { a: { x: 'z', y: [1, 2] }, b: 1 });
    expect(a.equals(b)).toBe(true);
    expect(a.equals(requestFingerprint('POST', '/v1/payments', { b: 2, a: { y: [1, 2], x: 'z' } }))).toBe(
      false,
    );
    expect(canonicalJson({ b: [{ d: 1, c: 2 }], a: null })).toBe('{"a":null,"b":[{"c":2,"d":1}]}');
  });

  it('requires a printable key of at most 255 characters', () => {
    expect(() => requireIdempotencyKey(undefined)).toThrow(
      expect.objectContaining({ code: 'idempotency_key_missing' }),
    );
    expect(() => requireIdempotencyKey('')).toThrow(
      expect.objectContaining({ code: 'idempotency_key_invalid' }),
    );
    expect(requireIdempotencyKey('order-1:try')).toBe('order-1:try');
  });
});

describe('the PSP fee in an outcome', () => {
  const base = {
    paymentId: 'pi_1',
    amountMinor: 1000n,
    currency: 'USD',
    chargeId: 'ch_1',
    metadata: {},
  };

  it('a succeeded charge carries its fee only with both the amount and the balance transaction', () => {
    expect(
      outcomeFromCharge({
        ...base,
        state: 'succeeded',
        feeMinor: 59n,
        balanceTransactionId: 'txn_1',
        feeCurrency: 'EUR',
      }),
    ).toEqual({
      kind: 'succeeded',
      paymentId: 'pi_1',
      chargeId: 'ch_1',
      fee: { balanceTransactionId: 'txn_1', feeMinor: 59n, currency: 'EUR' },
    });
    // Without the balance transaction's currency, the fee is in the charge's.
    expect(
      feeOfCharge({ ...base, state: 'succeeded', feeMinor: 59n, balanceTransactionId: 'txn_1' }),
    ).toEqual({
      balanceTransactionId: 'txn_1',
      feeMinor: 59n,
      currency: 'USD',
    });
    expect(feeOfCharge({ ...base, state: 'succeeded', feeMinor: 59n })).toBeUndefined();
    expect(feeOfCharge({ ...base, state: 'succeeded', balanceTransactionId: 'txn_1' })).toBeUndefined();
    expect(
      feeOfCharge({ ...base, state: 'pending', feeMinor: 59n, balanceTransactionId: 'txn_1' }),
    ).toBeUndefined();
  });

  it('a succeeded hosted session carries the fee of its expanded charge', () => {
    const charge = { ...base, state: 'succeeded' as const, feeMinor: 7n, balanceTransactionId: 'txn_2' };
    expect(
      outcomeFromSession({ sessionId: 'cs_1', url: '', state: 'succeeded', paymentId: 'pi_1', charge }),
    ).toEqual({
      kind: 'succeeded',
      paymentId: 'pi_1',
      chargeId: 'ch_1',
      fee: { balanceTransactionId: 'txn_2', feeMinor: 7n, currency: 'USD' },
    });
    expect(outcomeFromSession({ sessionId: 'cs_1', url: '', state: 'succeeded', paymentId: 'pi_1' })).toEqual(
      {
        kind: 'succeeded',
        paymentId: 'pi_1',
      },
    );
  });
});
