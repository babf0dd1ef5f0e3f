import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ORDER_STATUSES,
  STATUS_RANK,
  isFinal,
  transition,
  type OrderEvent,
  type OrderStatus,
} from '../../src/payins/state-machine.ts';

const event: fc.Arbitrary<OrderEvent> = fc.oneof(
  fc.constant({ type: 'start' } as const),
  fc.constant({ type: 'risk_rejected' } as const),
  fc.constant({ type: 'psp_succeeded' } as const),
  fc.constant({ type: 'psp_expired' } as const),
  fc.string({ maxLength: 10 }).map((reason) => ({ type: 'psp_pending', reason }) as const),
  fc.string({ maxLength: 10 }).map((code) => ({ type: 'psp_failed', code }) as const),
);

describe('payment order state machine', () => {
  it('never moves a status backwards, and never moves a final status, over any sequence of events', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<OrderStatus>(...ORDER_STATUSES),
        fc.array(event, { maxLength: 30 }),
        (start, events) => {
          let status = start;
          for (const e of events) {
            const decided = transition(status, e);
            if (decided.kind !== 'move') continue;
            expect(isFinal(status)).toBe(false);
            expect(STATUS_RANK[decided.to]).toBeGreaterThan(STATUS_RANK[status]);
            status = decided.to;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('applies the documented moves', () => {
    expect(transition('NOT_STARTED', { type: 'start' })).toMatchObject({ kind: 'move', to: 'EXECUTING' });
    expect(transition('NOT_STARTED', { type: 'risk_rejected' })).toMatchObject({
      kind: 'move',
      to: 'FAILED',
      reason: 'risk_rejected',
    });
    expect(transition('EXECUTING', { type: 'psp_pending', reason: 'r' })).toMatchObject({
      kind: 'move',
      to: 'PENDING',
      reason: 'r',
    });
    expect(transition('PENDING', { type: 'psp_succeeded' })).toMatchObject({ kind: 'move', to: 'SUCCESS' });
    expect(transition('EXECUTING', { type: 'psp_failed', code: 'card_declined' })).toMatchObject({
      kind: 'move',
      to: 'FAILED',
      reason: 'card_declined',
    });
  });

  it('refuses contradictions as illegal and treats repeats as no-ops', () => {
    expect(transition('SUCCESS', { type: 'psp_expired' }).kind).toBe('illegal');
    expect(transition('FAILED', { type: 'psp_succeeded' }).kind).toBe('illegal');
    expect(transition('SUCCESS', { type: 'psp_succeeded' }).kind).toBe('noop');
    expect(transition('NOT_STARTED', { type: 'psp_succeeded' }).kind).toBe('illegal');
    expect(transition('PENDING', { type: 'start' }).kind).toBe('noop');
  });
});
