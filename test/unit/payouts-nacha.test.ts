import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPayoutsConfig } from '../../src/payouts/config.ts';
import {
  federalReserveHolidays,
  effectiveEntryDate,
  isBankingDay,
  nextBankingDay,
} from '../../src/payouts/nacha/calendar.ts';
import { parseCorrectedData, isReturnCode, returnDescription } from '../../src/payouts/nacha/codes.ts';
import { loadAchSettings } from '../../src/payouts/nacha/config.ts';
import { alpha, filler, num } from '../../src/payouts/nacha/records.ts';
import { AchFileError, readAchReturnFile } from '../../src/payouts/nacha/returns.ts';
import { normaliseRoutingNumber } from '../../src/sellers/index.ts';
import { buildReturnFile, type CheckedEntry } from '../support/nacha.ts';

const WEIGHTS = [3, 7, 1, 3, 7, 1, 3, 7];

/** The ABA check digit of 8 digits, computed here from the rule (not by the code under test). */
function checkDigit(eight: string): string {
  const sum = [...eight].reduce((total, digit, i) => total + Number(digit) * (WEIGHTS[i] ?? 0), 0);
  return String((10 - (sum % 10)) % 10);
}

const eightDigits = fc
  .array(fc.integer({ min: 0, max: 9 }), { minLength: 8, maxLength: 8 })
  .map((d) => d.join(''));

describe('routing-number check digit on bank details', () => {
  it('accepts every 9-digit routing number whose check digit follows the 3-7-1 rule', () => {
    fc.assert(
      fc.property(eightDigits, (eight) => {
        expect(normaliseRoutingNumber(eight + checkDigit(eight))).toBe(eight + checkDigit(eight));
      }),
    );
  });

  it('refuses every routing number with any other check digit, with bank_details_invalid', () => {
    fc.assert(
      fc.property(eightDigits, fc.integer({ min: 1, max: 9 }), (eight, shift) => {
        const wrong = String((Number(checkDigit(eight)) + shift) % 10);
        expect(() => normaliseRoutingNumber(eight + wrong)).toThrow(/check digit/);
      }),
    );
  });
});

describe('ACH banking days and effective entry dates', () => {
  it('knows the Federal Reserve holidays, a Sunday one observed on Monday and a Saturday one not moved', () => {
    const y2026 = federalReserveHolidays(2026);
    for (const day of ['2026-01-01', '2026-01-19', '2026-05-25', '2026-06-19', '2026-11-26', '2026-12-25'])
      expect(y2026.has(day)).toBe(true);
    expect(isBankingDay('2026-07-03')).toBe(true); // July 4th 2026 is a Saturday: the Friday stays open
    expect(federalReserveHolidays(2022).has('2022-06-20')).toBe(true); // Juneteenth on a Sunday
    expect(isBankingDay('2026-11-26')).toBe(false);
  });

  it('next-day entries settle on the next banking day; same-day on the run date when it is a banking day', () => {
    expect(effectiveEntryDate('2026-11-25', false, 100n)).toBe('2026-11-27'); // over Thanksgiving
    expect(effectiveEntryDate('2026-11-25', true, 100n)).toBe('2026-11-25');
    expect(effectiveEntryDate('2026-11-28', true, 100n)).toBe('2026-11-30'); // a Saturday: not same-day
    expect(effectiveEntryDate('2026-11-25', true, 100_000_001n)).toBe('2026-11-27'); // above $1,000,000
    expect(nextBankingDay('2026-12-24')).toBe('2026-12-28');
  });

  it('an effective date is always a banking day after or on the run date', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2022-01-01'), max: new Date('2035-12-31'), noInvalidDate: true }),
        fc.boolean(),
        (at, same) => {
          const run = at.toISOString().slice(0, 10);
          const effective = effectiveEntryDate(run, same, 1n);
          expect(isBankingDay(effective)).toBe(true);
          expect(effective >= run).toBe(true);
        },
      ),
    );
  });
});

describe('NACHA fields', () => {
  it('alphanumeric fields are upper-case printable ASCII of exactly their length', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.integer({ min: 1, max: 30 }), (text, length) => {
        const out = alpha(text, length);
        expect(out).toHaveLength(length);
        expect(out).toMatch(/^[\x20-\x7e]*$/);
        expect(out).toBe(out.toUpperCase());
      }),
    );
    expect(alpha('Zoë Café', 10)).toBe('ZOE CAFE  ');
  });

  it('numeric fields refuse a value that does not fit instead of cutting it', () => {
    expect(num(42n, 5)).toBe('00042');
    expect(() => num(123_456n, 5)).toThrow(RangeError);
  });

  it('fills the last block to a multiple of 10 records, never a whole block', () => {
    for (let records = 1; records <= 30; records++) {
      const fill = filler(records);
      expect((records + fill.length) % 10).toBe(0);
      expect(fill.length).toBeLessThan(10);
      for (const line of fill) expect(line).toBe('9'.repeat(94));
    }
  });
});

const entry: CheckedEntry = {
  transactionCode: '22',
  routing: '021000021',
  account: '12345678',
  amountCents: 1500n,
  identification: 'SELLER_A',
  name: 'SELLER A INC',
  trace: '091000010000012',
};

describe('reading ACH return and NOC files', () => {
  it('reads an addenda-99 return with its code, description, original trace and amount', () => {
    const file = buildReturnFile([{ kind: 'return', code: 'R02', entry }], {
      odfi: '09100001',
      rdfi: '02100002',
    });
    const read = readAchReturnFile(file);
    expect(read.unknown).toEqual([]);
    expect(read.items).toEqual([
      expect.objectContaining({
        kind: 'return',
        code: 'R02',
        description: 'Account closed',
        originalTrace: entry.trace,
        amountMinor: 1500n,
      }),
    ]);
  });

  it('understands R01–R85 and no other return code', () => {
    expect(isReturnCode('R01')).toBe(true);
    expect(isReturnCode('R85')).toBe(true);
    expect(isReturnCode('R86')).toBe(false);
    expect(isReturnCode('R00')).toBe(false);
    expect(returnDescription('R48')).toBe('return reason R48');
    const file = buildReturnFile([{ kind: 'return', code: 'R99', entry }], {
      odfi: '09100001',
      rdfi: '02100002',
    });
    expect(readAchReturnFile(file).unknown).toHaveLength(1);
  });

  it('parses each NOC code’s corrected data by its layout', () => {
    expect(parseCorrectedData('C01', '987654321')).toEqual({ accountNumber: '987654321' });
    expect(parseCorrectedData('C02', '026009593')).toEqual({ routingNumber: '026009593' });
    expect(parseCorrectedData('C03', `026009593   ${'4444'}`)).toEqual({
      routingNumber: '026009593',
      accountNumber: '4444',
    });
    expect(parseCorrectedData('C05', '32')).toEqual({ accountType: 'savings' });
    expect(parseCorrectedData('C06', `${'5555'.padEnd(17)}   22`)).toEqual({
      accountNumber: '5555',
      accountType: 'checking',
    });
    expect(parseCorrectedData('C07', `026009593${'6666'.padEnd(17)}32`)).toEqual({
      routingNumber: '026009593',
      accountNumber: '6666',
      accountType: 'savings',
    });
    expect(parseCorrectedData('C04', 'ACME HOLDINGS LLC')).toEqual({ text: 'ACME HOLDINGS LLC' });
    for (const code of ['C08', 'C09', 'C10', 'C11', 'C12', 'C13'])
      expect(parseCorrectedData(code, 'X')).toEqual({ text: 'X' });
  });

  it('refuses a record that is not 94 characters, naming its line', () => {
    const file = buildReturnFile([{ kind: 'return', code: 'R02', entry }], {
      odfi: '09100001',
      rdfi: '02100002',
    });
    const broken = file.split('\n');
    broken[2] = `${broken[2] ?? ''}X`;
    expect(() => readAchReturnFile(broken.join('\n'))).toThrow(AchFileError);
    expect(() => readAchReturnFile(broken.join('\n'))).toThrow(/line 3/);
  });
});

describe('ACH settings', () => {
  it('BURSAR_PAYOUT_PROVIDERS enables pain.001 (as pain001 or iso20022) and nacha together', () => {
    const both = loadPayoutsConfig({ BURSAR_PAYOUT_PROVIDERS: 'pain001, nacha' }, 1, 2, '/x');
    expect(both.providers).toEqual(['iso20022', 'nacha']);
    expect(both.ach?.companyId).toBe('1234567890');
    expect(loadPayoutsConfig({ BURSAR_PAYOUT_PROVIDER: 'nacha' }, 1, 2, '/x').providers).toEqual(['nacha']);
    expect(() => loadPayoutsConfig({ BURSAR_PAYOUT_PROVIDERS: 'iso20022,swift' }, 1, 2, '/x')).toThrow(
      /swift/,
    );
    expect(() => loadPayoutsConfig({ BURSAR_PAYOUT_PROVIDERS: 'iso20022,sandbox' }, 1, 2, '/x')).toThrow(
      /one of them/,
    );
  });

  it('checks the immediate destination’s check digit and the field lengths', () => {
    expect(() => loadAchSettings({ BURSAR_ACH_IMMEDIATE_DESTINATION: '091000018' })).toThrow(/check digit/);
    expect(() => loadAchSettings({ BURSAR_ACH_COMPANY_NAME: 'A name far too long' })).toThrow(/1–16/);
    expect(loadAchSettings({ BURSAR_ACH_IMMEDIATE_DESTINATION: '026009593' }).odfi).toBe('02600959');
  });
});
