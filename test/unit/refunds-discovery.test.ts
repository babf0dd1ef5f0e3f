import fc from 'fast-check';
import type Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import type { PspRefundFacts, PspRefundState } from '../../src/psp/index.ts';
import { REFUND_METADATA_KEY, interpretStripeEvent, toPspRefundFacts } from '../../src/psp/stripe/index.ts';
import {
  REFUND_DISCOVERY_WINDOW_MS,
  discoverySinceUnix,
  loadRefundsConfig,
  needsApplying,
  refundsToApply,
  type KnownRefund,
  type RefundStatus,
} from '../../src/refunds/index.ts';

const PSP_STATES: PspRefundState[] = ['pending', 'succeeded', 'failed', 'canceled'];
const OUR_STATUSES: RefundStatus[] = ['pending', 'succeeded', 'failed', 'canceled'];

function facts(over: Partial<PspRefundFacts> = {}): PspRefundFacts {
  return {
    refundId: 're_1',
    paymentId: 'pi_1',
    chargeId: 'ch_1',
    amountMinor: 500n,
    currency: 'USD',
    state: 'succeeded',
    bursarRefundId: undefined,
    failureReason: undefined,
    ...over,
  };
}

describe('refund discovery: which listed refunds are applied', () => {
  it('a refund still pending at the PSP is never applied (the poller or a later look settles it)', () => {
    for (const status of [undefined, ...OUR_STATUSES]) {
      const ours: KnownRefund | undefined =
        status === undefined ? undefined : { id: 'rf_1', pspRefundId: 're_1', status };
      expect(needsApplying(facts({ state: 'pending' }), ours)).toBe(false);
    }
  });

  it('a refund Bursar does not hold is applied only once it succeeded (made in the PSP dashboard)', () => {
    expect(needsApplying(facts({ state: 'succeeded' }), undefined)).toBe(true);
    expect(needsApplying(facts({ state: 'failed' }), undefined)).toBe(false);
    expect(needsApplying(facts({ state: 'canceled' }), undefined)).toBe(false);
  });

  it('our pending refund is settled by any final PSP state; a final one only by failed-after-succeeded', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PSP_STATES), fc.constantFrom(...OUR_STATUSES), (state, status) => {
        const applied = needsApplying(facts({ state }), { id: 'rf_1', pspRefundId: 're_1', status });
        const expected =
          state !== 'pending' && (status === 'pending' || (status === 'succeeded' && state === 'failed'));
        expect(applied).toBe(expected);
      }),
    );
  });

  it('ours is found by the refund id in the metadata first, then by the PSP refund id, as the webhook path finds it', () => {
    // Ours, not yet told its PSP id (the executor's answer is lost): found by metadata, and settled.
    const mid = refundsToApply(
      [facts({ bursarRefundId: 'rf_mid' })],
      [{ id: 'rf_mid', pspRefundId: null, status: 'pending' }],
    );
    expect(mid.map((f) => f.refundId)).toEqual(['re_1']);
    // Already succeeded with us, found by PSP id alone: nothing to do.
    expect(refundsToApply([facts()], [{ id: 'rf_x', pspRefundId: 're_1', status: 'succeeded' }])).toEqual([]);
  });

  it('applies each PSP refund at most once however often the PSP lists it, and never one already as the PSP says', () => {
    const listedFacts = fc.record({
      n: fc.integer({ min: 0, max: 5 }),
      state: fc.constantFrom(...PSP_STATES),
      ours: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(listedFacts, { maxLength: 25 }),
        fc.array(fc.constantFrom(...OUR_STATUSES), { minLength: 6, maxLength: 6 }),
        (listed, statuses) => {
          const all = listed.map((l) =>
            facts({
              refundId: `re_${l.n}`,
              state: l.state,
              bursarRefundId: l.ours ? `rf_${l.n}` : undefined,
            }),
          );
          const known: KnownRefund[] = statuses.flatMap((status, n) =>
            n % 2 === 0 ? [{ id: `rf_${n}`, pspRefundId: `re_${n}`, status }] : [],
          );
          const applied = refundsToApply(all, known);
          const ids = applied.map((f) => f.refundId);
          expect(new Set(ids).size).toBe(ids.length);
          for (const f of applied) {
            const ours = known.find((k) => k.pspRefundId === f.refundId);
            expect(needsApplying(f, ours)).toBe(true);
            if (ours !== undefined) expect(ours.status === f.state).toBe(false);
          }
        },
      ),
    );
  });

  it('looks 72 hours back, in whole Unix seconds', () => {
    expect(REFUND_DISCOVERY_WINDOW_MS).toBe(72 * 3600 * 1000);
    const now = new Date('2026-12-02T12:00:00.900Z');
    expect(discoverySinceUnix(now)).toBe(Math.floor(Date.parse('2026-11-29T12:00:00Z') / 1000));
  });
});

describe('refund discovery: settings and the Stripe mapping', () => {
  it('BURSAR_REFUNDS_DISCOVER_MS defaults to a minute, 0 turns discovery off, and junk is refused', () => {
    expect(loadRefundsConfig({}).discoverEveryMs).toBe(60_000);
    expect(loadRefundsConfig({ BURSAR_REFUNDS_DISCOVER_MS: '0' }).discoverEveryMs).toBe(0);
    expect(loadRefundsConfig({ BURSAR_REFUNDS_DISCOVER_MS: '2000' }).discoverEveryMs).toBe(2000);
    expect(() => loadRefundsConfig({ BURSAR_REFUNDS_DISCOVER_MS: '1m' })).toThrow(
      /BURSAR_REFUNDS_DISCOVER_MS/,
    );
  });

  it('a listed Stripe refund maps to the same facts its refund.updated webhook carries', () => {
    const object = {
      id: 're_9',
      object: 'refund',
      amount: 1234,
      currency: 'eur',
      status: 'failed',
      payment_intent: 'pi_9',
      charge: 'ch_9',
      failure_reason: 'expired_or_canceled_card',
      metadata: { [REFUND_METADATA_KEY]: 'rf_9' },
      created: 1_764_000_000,
    };
    const listed = toPspRefundFacts(object as unknown as Stripe.Refund);
    expect(listed).toEqual({
      refundId: 're_9',
      paymentId: 'pi_9',
      chargeId: 'ch_9',
      amountMinor: 1234n,
      currency: 'EUR',
      state: 'failed',
      bursarRefundId: 'rf_9',
      failureReason: 'expired_or_canceled_card',
    });
    const meaning = interpretStripeEvent({ type: 'refund.updated', object });
    expect(meaning.subject === 'refund' ? meaning.refunds : []).toEqual([listed]);
    // Made in the dashboard: no metadata of ours.
    const dashboard = toPspRefundFacts({ ...object, metadata: {} } as unknown as Stripe.Refund);
    expect(dashboard.bursarRefundId).toBeUndefined();
  });
});
