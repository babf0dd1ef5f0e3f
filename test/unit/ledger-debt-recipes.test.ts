import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  debtRecovered,
  debtStateId,
  debtWrittenOff,
  DEBT_ENTRY_KINDS,
  planRecovery,
} from '../../src/ledger/index.ts';

describe('debt recipes', () => {
  it('books a recovery as Dr seller available / Cr seller receivable under a reference named by the receivable state', () => {
    const entry = debtRecovered({
      sellerId: 'acme',
      currency: 'EUR',
      amountMinor: 1_234n,
      recoveryId: debtStateId('acme', 'EUR', 7n),
    });
    expect(entry.reference).toBe('debt_recovery:acme:EUR:v7');
    expect(entry.kind).toBe(DEBT_ENTRY_KINDS.debtRecovered);
    expect(entry.postings.map((p) => [p.account.code, p.direction, p.amountMinor])).toEqual([
      ['seller:acme:available:EUR', 'debit', 1_234n],
      ['seller:acme:receivable:EUR', 'credit', 1_234n],
    ]);
  });

  it('books a write-off as Dr chargeback_losses / Cr seller receivable', () => {
    const entry = debtWrittenOff({
      sellerId: 'acme',
      currency: 'JPY',
      amountMinor: 500n,
      writeOffId: 'acme:JPY:v3',
    });
    expect(entry.reference).toBe('debt_write_off:acme:JPY:v3');
    expect(entry.kind).toBe('debt.written_off');
    expect(entry.postings.map((p) => [p.account.code, p.direction])).toEqual([
      ['platform:chargeback_losses:JPY', 'debit'],
      ['seller:acme:receivable:JPY', 'credit'],
    ]);
  });

  it('refuses a zero or negative amount', () => {
    expect(() => debtRecovered({ sellerId: 'a', currency: 'EUR', amountMinor: 0n, recoveryId: 'x' })).toThrow(
      /positive/,
    );
    expect(() =>
      debtWrittenOff({ sellerId: 'a', currency: 'EUR', amountMinor: -1n, writeOffId: 'x' }),
    ).toThrow(/positive/);
  });

  it('recovers min(available, owed), and nothing when either is zero', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        (available, owed) => {
          const entry = planRecovery({ sellerId: 's', currency: 'EUR' }, available, {
            balanceMinor: owed,
            version: 1n,
          });
          const expected = available < owed ? available : owed;
          if (expected === 0n) expect(entry).toBeUndefined();
          else expect(entry?.postings[0]?.amountMinor).toBe(expected);
        },
      ),
    );
    expect(planRecovery({ sellerId: 's', currency: 'EUR' }, 100n, undefined)).toBeUndefined();
  });
});
