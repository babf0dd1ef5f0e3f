import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { exponentOf, formatAmount, MAX_AMOUNT_MINOR, type CurrencyCode } from '../../src/money/index.ts';
import { decideRun } from '../../src/payouts/settings.ts';
import { settingsForCurrency } from '../../src/payouts/currencies.ts';
import {
  applyBankAccounts,
  bankAccountsToWire,
  type CurrencyBankAccount,
} from '../../src/sellers/bank-accounts.ts';
import type { BankDetails } from '../../src/sellers/bank.ts';
import { bankFrom } from '../../src/sellers/payout-wire.ts';
import { DEFAULT_PAYOUT_SETTINGS } from '../../src/sellers/terms.ts';

// A fixed seed keeps the suite deterministic; a failure prints the counterexample to reproduce it.
const SETTINGS = { numRuns: 500, seed: 13 };

/** Currencies of every ISO 4217 exponent Bursar pays in: 0 (JPY), 2 (USD, GBP), 3 (KWD, BHD). */
const currency = fc.constantFrom<CurrencyCode>('JPY', 'USD', 'GBP', 'KWD', 'BHD');
const amountMinor = fc.oneof(
  fc.bigInt({ min: 0n, max: 100_000n }),
  fc.bigInt({ min: 0n, max: MAX_AMOUNT_MINOR }),
);
const IBANS = ['GB82WEST12345698765432', 'GB29NWBK60161331926819', 'CH9300762011623852957'] as const;
const iban = fc.constantFrom(...IBANS);
const BIC = 'WESTGB2L';

function sepa(number: string, holderName: string | null = null): BankDetails {
  return { kind: 'sepa', iban: number, bic: BIC, holderName };
}

function account(code: CurrencyCode, overrides: Partial<CurrencyBankAccount> = {}): CurrencyBankAccount {
  return {
    currency: code,
    bank: sepa(IBANS[0]),
    minimumAmountMinor: 0n,
    needsBankDetails: false,
    needsBankDetailsReason: null,
    ...overrides,
  };
}

function apply(previous: CurrencyBankAccount[], entries: Parameters<typeof applyBankAccounts>[2]) {
  return applyBankAccounts(
    { defaultCurrency: 'EUR', topLevel: undefined },
    { defaultBank: sepa('DE89370400440532013000'), others: previous },
    entries,
    bankFrom,
  );
}

function codeOf(run: () => unknown): { code?: string; field?: string | undefined } {
  try {
    run();
  } catch (error) {
    if (error instanceof AppError) return { code: error.code, field: error.field };
    throw error;
  }
  return {};
}

describe('a minimum payout per currency, in that currency’s minor units', () => {
  it('any amount written in the account’s currency is kept to the minor unit and shown back as written', () => {
    fc.assert(
      fc.property(currency, amountMinor, (code, minor) => {
        const written = formatAmount(minor, code);
        const next = apply([account(code)], [{ currency: code, minimum_amount: written }]);
        expect(next.others[0]?.minimumAmountMinor).toBe(minor);
        const wire = bankAccountsToWire(
          'EUR',
          { ...account('EUR'), bank: null, minimumAmountMinor: 0n },
          next.others,
        );
        expect(wire).toEqual([expect.objectContaining({ currency: code, minimum_amount: written })]);
      }),
      SETTINGS,
    );
  });

  it('an amount with more decimals than the currency’s exponent is refused, naming the entry’s field', () => {
    fc.assert(
      fc.property(currency, fc.integer({ min: 1, max: 9 }), (code, digit) => {
        const decimals = exponentOf(code) + 1;
        const written = `1.${'0'.repeat(decimals - 1)}${digit}`;
        expect(codeOf(() => apply([account(code)], [{ currency: code, minimum_amount: written }]))).toEqual({
          code: 'amount_too_precise',
          field: 'payout.bank_accounts.0.minimum_amount',
        });
      }),
      SETTINGS,
    );
  });

  it('a minimum left out keeps the account’s; a new account without one has none (0)', () => {
    const kept = apply(
      [account('GBP', { minimumAmountMinor: 5_000n })],
      [{ currency: 'GBP', iban: IBANS[1], bic: BIC }],
    );
    expect(kept.others[0]?.minimumAmountMinor).toBe(5_000n);
    const added = apply([], [{ currency: 'JPY', iban: IBANS[2], bic: BIC }]);
    expect(added.others[0]?.minimumAmountMinor).toBe(0n);
  });

  it('the own currency’s entry sets the seller-level minimum, and may not repeat payout.minimum_amount', () => {
    const own = apply([], [{ currency: 'EUR', minimum_amount: '12.50' }]);
    expect(own.defaultMinimumMinor).toBe(1_250n);
    expect(own.others).toEqual([]);
    const twice = codeOf(() =>
      applyBankAccounts(
        { defaultCurrency: 'EUR', topLevel: { minimum_amount: '10.00' } },
        { defaultBank: sepa('DE89370400440532013000'), others: [] },
        [{ currency: 'EUR', minimum_amount: '12.50' }],
        bankFrom,
      ),
    );
    expect(twice).toEqual({ code: 'validation_failed', field: 'payout.bank_accounts.0.minimum_amount' });
  });

  it('the run pays a currency only from its own minimum up: below it nothing, at or above it all that is payable', () => {
    fc.assert(
      fc.property(amountMinor, amountMinor, (minimum, available) => {
        const settings = settingsForCurrency(
          { ...DEFAULT_PAYOUT_SETTINGS, minimumAmountMinor: 999n },
          account('KWD', { minimumAmountMinor: minimum }),
        );
        expect(settings.minimumAmountMinor).toBe(minimum);
        const decision = decideRun(settings, available, 0n);
        if (available === 0n) expect(decision.outcome).toBe('nothing_available');
        else if (available < minimum)
          expect(decision).toMatchObject({ outcome: 'below_minimum', payoutMinor: 0n });
        else expect(decision).toMatchObject({ outcome: 'paid', payoutMinor: available });
      }),
      SETTINGS,
    );
  });
});

describe('needs_bank_details per currency', () => {
  it('new details for a currency clear its flag; anything else (a minimum, the same details, another currency) keeps every flag', () => {
    const reason = 'payout po_x returned: AC04 closed';
    const entry = fc.record(
      {
        currency: fc.constantFrom<CurrencyCode>('GBP', 'USD'),
        iban,
        minimum_amount: fc.constantFrom('1.00', '0.00'),
      },
      { requiredKeys: ['currency'] },
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 2 }), (entries) => {
        const unique = entries.filter((e, i) => entries.findIndex((o) => o.currency === e.currency) === i);
        const previous = [
          account('GBP', { needsBankDetails: true, needsBankDetailsReason: reason }),
          account('USD', { needsBankDetails: true, needsBankDetailsReason: reason }),
        ];
        const withBic = unique.map((e) => (e.iban === undefined ? e : { ...e, bic: BIC }));
        const next = apply(previous, withBic);
        for (const before of previous) {
          const after = next.others.find((a) => a.currency === before.currency);
          const newDetails = JSON.stringify(after?.bank) !== JSON.stringify(before.bank);
          expect(after?.needsBankDetails).toBe(!newDetails);
          expect(after?.needsBankDetailsReason).toBe(newDetails ? null : reason);
        }
      }),
      SETTINGS,
    );
  });

  it('a flagged currency is not paid (needs_bank_details); one with no account is not paid either (no_bank_details)', () => {
    const flagged = settingsForCurrency(
      DEFAULT_PAYOUT_SETTINGS,
      account('GBP', { needsBankDetails: true, needsBankDetailsReason: 'returned' }),
    );
    expect(decideRun(flagged, 5_000n, 0n)).toMatchObject({ outcome: 'needs_bank_details', payoutMinor: 0n });
    expect(decideRun(settingsForCurrency(DEFAULT_PAYOUT_SETTINGS, undefined), 5_000n, 0n)).toMatchObject({
      outcome: 'no_bank_details',
      payoutMinor: 0n,
    });
    // The own currency's flag does not travel to another currency's account.
    const own = { ...DEFAULT_PAYOUT_SETTINGS, needsBankDetails: true, needsBankDetailsReason: 'returned' };
    expect(decideRun(settingsForCurrency(own, account('GBP')), 5_000n, 0n).outcome).toBe('paid');
  });
});
