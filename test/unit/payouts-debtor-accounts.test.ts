import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkConfig } from '../../src/config-check.ts';
import { ibanWithCheckDigits } from '../../src/sellers/index.ts';
import {
  debtorFor,
  DEFAULT_DEBTOR,
  loadPayoutsConfig,
  parseDebtorAccounts,
} from '../../src/payouts/index.ts';
import { documentOpen } from '../../src/payouts/iso20022/pain001.ts';

const CURRENCIES = ['GBP', 'USD', 'CHF', 'SEK', 'NOK', 'DKK', 'PLN', 'JPY', 'KWD'] as const;

/** A valid GB IBAN from 14 digits, and a BIC, as an operator would write them (maybe spaced, lower case). */
const account = fc.record({
  bban: fc.stringMatching(/^[0-9]{14}$/),
  bic: fc.constantFrom('NWBKGB2L', 'WESTGB2LXXX', 'UBSWCHZH80A'),
  spaced: fc.boolean(),
  lower: fc.boolean(),
});

const entries = fc.uniqueArray(fc.tuple(fc.constantFrom(...CURRENCIES), account), {
  minLength: 1,
  maxLength: CURRENCIES.length,
  selector: ([currency]) => currency,
});

function written(iban: string, options: { spaced: boolean; lower: boolean }): string {
  const text = options.spaced ? iban.replace(/(.{4})/g, '$1 ').trim() : iban;
  return options.lower ? text.toLowerCase() : text;
}

describe('BURSAR_PAYOUT_DEBTOR_ACCOUNTS', () => {
  it('parses every CUR:IBAN:BIC list into one normalised debtor account per currency', () => {
    fc.assert(
      fc.property(entries, (list) => {
        const expected: Record<string, { iban: string; bic: string }> = {};
        const raw = list
          .map(([currency, a]) => {
            const iban = ibanWithCheckDigits('GB', `NWBK${a.bban}`);
            expected[currency] = { iban, bic: a.bic };
            return `${currency}:${written(iban, a)}:${a.lower ? a.bic.toLowerCase() : a.bic}`;
          })
          .join(' , ');
        expect(parseDebtorAccounts(raw)).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });

  it('each payout currency leaves from its own debtor account; a currency not listed from the default one', () => {
    fc.assert(
      fc.property(entries, fc.constantFrom('EUR', ...CURRENCIES), (list, currency) => {
        const raw = list
          .map(([cur, a]) => `${cur}:${ibanWithCheckDigits('GB', `NWBK${a.bban}`)}:${a.bic}`)
          .join(',');
        const config = loadPayoutsConfig({ BURSAR_PAYOUT_DEBTOR_ACCOUNTS: raw }, 1, 2, '/nonexistent');
        const debtor = debtorFor(config, currency);
        const listed = list.find(([cur]) => cur === currency);
        if (listed === undefined) expect(debtor).toEqual(DEFAULT_DEBTOR);
        else {
          expect(debtor.iban).toBe(ibanWithCheckDigits('GB', `NWBK${listed[1].bban}`));
          expect(debtor.name).toBe(DEFAULT_DEBTOR.name);
        }
        // The payment information of the file names that account and currency.
        const head = documentOpen({
          version: 'pain.001.001.09',
          messageId: 'pf_test',
          createdAt: new Date('2030-01-02T00:00:00Z'),
          currency,
          txCount: 1,
          ctrlSumMinor: 100n,
          debtor,
          executionDate: '2030-01-02',
        });
        expect(head).toContain(`<DbtrAcct><Id><IBAN>${debtor.iban}</IBAN></Id><Ccy>${currency}</Ccy>`);
      }),
      { numRuns: 50 },
    );
  });

  it('refuses malformed lists with a message naming the entry', () => {
    const bad: Array<[string, RegExp]> = [
      ['GBP:GB29NWBK60161331926819', /entry 1: .* is not CUR:IBAN:BIC/],
      ['GBP:GB29NWBK60161331926818:NWBKGB2L', /entry 1.*check digits/],
      ['GBP:GB29NWBK60161331926819:NWB', /entry 1.*BIC/],
      ['gbp:GB29NWBK60161331926819:NWBKGB2L', /entry 1: "gbp" is not an ISO 4217/],
      ['XYZ:GB29NWBK60161331926819:NWBKGB2L', /entry 1: "XYZ"/],
      [
        'GBP:GB29NWBK60161331926819:NWBKGB2L,GBP:GB29NWBK60161331926819:NWBKGB2L',
        /entry 2: GBP is listed twice/,
      ],
    ];
    for (const [raw, message] of bad) expect(() => parseDebtorAccounts(raw)).toThrow(message);
    expect(parseDebtorAccounts(undefined)).toEqual({});
    expect(parseDebtorAccounts('')).toEqual({});
  });

  it('the configuration check reports a bad list and accepts a good one', () => {
    const refused = checkConfig(
      { BURSAR_PAYOUT_DEBTOR_ACCOUNTS: 'GBP:GB00NWBK60161331926819:NWBKGB2L' },
      'api',
    );
    expect(refused.problems.map((p) => p.variable)).toEqual(['BURSAR_PAYOUT_DEBTOR_ACCOUNTS']);
    expect(refused.problems[0]?.problem).toMatch(/check digits/);
    const accepted = checkConfig(
      {
        BURSAR_PAYOUT_DEBTOR_ACCOUNTS:
          'GBP:GB29NWBK60161331926819:NWBKGB2L,CHF:CH9300762011623852957:UBSWCHZH80A',
      },
      'api',
    );
    expect(accepted.problems).toEqual([]);
  });
});
