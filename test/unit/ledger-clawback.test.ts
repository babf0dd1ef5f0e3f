import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitClawback } from '../../src/ledger/clawback.ts';

const amount = fc.bigInt({ min: 0n, max: 10n ** 12n });

describe('claw-back split over a seller’s balances', () => {
  it('takes pending first, then available, then the reserve, and only the rest becomes a receivable', () => {
    expect(splitClawback({ pending: 300n, available: 500n, reserved: 100n }, 700n)).toEqual({
      pending: 300n,
      available: 400n,
      reserved: 0n,
      receivable: 0n,
    });
    expect(splitClawback({ pending: 0n, available: 50n, reserved: 100n }, 400n)).toEqual({
      pending: 0n,
      available: 50n,
      reserved: 100n,
      receivable: 250n,
    });
  });

  it('never creates or loses a minor unit and never takes more than a bucket holds', () => {
    fc.assert(
      fc.property(amount, amount, amount, amount, (pending, available, reserved, claw) => {
        const split = splitClawback({ pending, available, reserved }, claw);
        expect(split.pending + split.available + split.reserved + split.receivable).toBe(claw);
        expect(split.pending <= pending && split.available <= available && split.reserved <= reserved).toBe(
          true,
        );
        for (const part of Object.values(split)) expect(part >= 0n).toBe(true);
        // A receivable only when every balance is used up.
        if (split.receivable > 0n) {
          expect([split.pending, split.available, split.reserved]).toEqual([pending, available, reserved]);
        }
      }),
    );
  });
});
