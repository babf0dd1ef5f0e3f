import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { ibanWithCheckDigits, normaliseBic, normaliseIban } from '../../src/payouts/bank.ts';
import {
  creditTransfer,
  documentClose,
  documentOpen,
  type PainVersion,
} from '../../src/payouts/iso20022/pain001.ts';
import { decideRun, isDue, reserveTargetMinor } from '../../src/payouts/settings.ts';
import { xsdErrors } from '../support/payouts.ts';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof AppError ? error.code : 'not an AppError';
  }
  return undefined;
}

describe('bank details', () => {
  it('accepts valid IBANs written with spaces and lower case, and refuses bad ones with iban_invalid', () => {
    expect(normaliseIban('de89 3704 0044 0532 0130 00')).toBe('DE89370400440532013000');
    expect(codeOf(() => normaliseIban('DE89370400440532013001'))).toBe('iban_invalid'); // check digits
    expect(codeOf(() => normaliseIban('DE8937040044053201300'))).toBe('iban_invalid'); // length
    expect(codeOf(() => normaliseIban('ZZ89370400440532013000'))).toBe('iban_invalid'); // country
    expect(codeOf(() => normaliseIban('not an iban'))).toBe('iban_invalid');
    expect(normaliseIban(ibanWithCheckDigits('FR', '30006000011234567890189'))).toMatch(/^FR\d{2}/);
  });

  it('accepts 8- and 11-character BICs and refuses others with bic_invalid', () => {
    expect(normaliseBic('deutdeff')).toBe('DEUTDEFF');
    expect(normaliseBic('COBADEFFXXX')).toBe('COBADEFFXXX');
    expect(codeOf(() => normaliseBic('DEUTDEF'))).toBe('bic_invalid');
    expect(codeOf(() => normaliseBic('1EUTDEFF'))).toBe('bic_invalid');
    expect(codeOf(() => normaliseBic('DEUTDEFF1'))).toBe('bic_invalid');
  });
});

describe('schedules and reserves', () => {
  it('is due monthly on the day (or the last day of a shorter month), weekly on the weekday, daily always, manual never', () => {
    expect(isDue({ interval: 'monthly', dayOfMonth: 15 }, '2030-03-15')).toBe(true);
    expect(isDue({ interval: 'monthly', dayOfMonth: 15 }, '2030-03-16')).toBe(false);
    expect(isDue({ interval: 'monthly', dayOfMonth: 31 }, '2030-02-28')).toBe(true);
    expect(isDue({ interval: 'monthly', dayOfMonth: 31 }, '2030-02-27')).toBe(false);
    expect(isDue({ interval: 'weekly', weekday: 'monday' }, '2030-01-07')).toBe(true);
    expect(isDue({ interval: 'weekly', weekday: 'monday' }, '2030-01-08')).toBe(false);
    expect(isDue({ interval: 'daily' }, '2030-01-08')).toBe(true);
    expect(isDue({ interval: 'manual' }, '2030-01-08')).toBe(false);
  });

  it('holds back a percentage (rounded up) or a fixed reserve, never more than the seller has', () => {
    expect(reserveTargetMinor({ type: 'percentage', basisPoints: 1000n }, 9_901n, 0n)).toBe(991n);
    expect(reserveTargetMinor({ type: 'fixed', amountMinor: 5_000n }, 3_000n, 1_000n)).toBe(4_000n);
    const bank = { kind: 'sepa', iban: 'X', bic: 'Y', holderName: null } as const;
    const settings = {
      reserve: { type: 'fixed', amountMinor: 1_000n } as const,
      minimumAmountMinor: 500n,
      bank,
      needsBankDetails: false,
    };
    expect(decideRun(settings, 10_000n, 0n)).toEqual({
      reserveChangeMinor: 1_000n,
      payoutMinor: 9_000n,
      outcome: 'paid',
    });
    expect(decideRun(settings, 1_200n, 0n)).toMatchObject({ outcome: 'below_minimum', payoutMinor: 0n });
    expect(decideRun({ ...settings, reserve: { type: 'none' } }, 0n, 1_000n)).toEqual({
      reserveChangeMinor: -1_000n,
      payoutMinor: 1_000n,
      outcome: 'paid',
    });
  });
});

describe('pain.001 writer', () => {
  for (const version of ['pain.001.001.09', 'pain.001.001.03'] as PainVersion[]) {
    it(`writes ${version} valid against the official XSD, for SEPA and ABA destinations`, async () => {
      const debtor = { name: 'Bursar', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' };
      const xml =
        documentOpen({
          version,
          messageId: 'pf_test',
          createdAt: new Date('2030-01-01T06:00:00Z'),
          currency: 'USD',
          txCount: 2,
          ctrlSumMinor: 1_234_567n,
          executionDate: '2030-01-01',
          debtor,
        }) +
        creditTransfer(version, {
          payoutId: 'po_a',
          amountMinor: 1_234_500n,
          currency: 'USD',
          creditorName: 'A & B',
          destination: {
            kind: 'ach',
            accountNumber: '000123456789',
            routingNumber: '011000015',
            holderName: null,
          },
        }) +
        creditTransfer(version, {
          payoutId: 'po_b',
          amountMinor: 67n,
          currency: 'USD',
          creditorName: 'x'.repeat(300),
          destination: { kind: 'sepa', iban: 'DE89370400440532013000', bic: 'DEUTDEFF', holderName: null },
        }) +
        documentClose();
      expect(await xsdErrors(xml, version)).toEqual([]);
      expect(
        await xsdErrors(xml.replace('<NbOfTxs>2</NbOfTxs>', '<NbOfTxs>two</NbOfTxs>'), version),
      ).not.toEqual([]);
    });
  }
});
