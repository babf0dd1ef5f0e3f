import type { MaskedBankAccount } from './http-schemas.ts';
import { AppError } from '../errors.ts';

/**
 * Bank-detail validation (pure). An IBAN is checked for its shape, its country's length and its ISO 7064
 * mod-97 check digits; a BIC for the ISO 9362 shape. People paste these with spaces and in lower case, so both
 * are normalised (spaces removed, upper-cased) before checking, and stored normalised.
 */

/** IBAN length per country (the SWIFT IBAN registry). */
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MR: 27,
  MT: 31,
  MU: 30,
  NL: 18,
  NO: 15,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  SA: 24,
  SC: 31,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
};

function compact(value: string): string {
  return value.replace(/[\s-]/g, '').toUpperCase();
}

/** ISO 7064 MOD 97-10 over the rearranged IBAN, computed piecewise so no number exceeds 2^53. */
function mod97(rearranged: string): number {
  let remainder = 0;
  for (const char of rearranged) {
    const code = char.charCodeAt(0);
    const digits = code >= 65 ? String(code - 55) : char;
    for (const digit of digits) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder;
}

/** The normalised IBAN, or `iban_invalid` saying what is wrong. */
export function normaliseIban(input: string, field = 'payout.iban'): string {
  const iban = compact(input);
  if (!/^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$/.test(iban)) {
    throw new AppError(
      'iban_invalid',
      `${field}: not an IBAN (two letters, two check digits, 11–30 letters or digits)`,
      {
        field,
      },
    );
  }
  const country = iban.slice(0, 2);
  const length = IBAN_LENGTHS[country];
  if (length === undefined) {
    throw new AppError('iban_invalid', `${field}: ${country} is not a country that uses IBANs`, { field });
  }
  if (iban.length !== length) {
    throw new AppError(
      'iban_invalid',
      `${field}: a ${country} IBAN has ${length} characters, not ${iban.length}`,
      {
        field,
      },
    );
  }
  if (mod97(iban.slice(4) + iban.slice(0, 4)) !== 1) {
    throw new AppError('iban_invalid', `${field}: the check digits do not match (a typing mistake?)`, {
      field,
    });
  }
  return iban;
}

/** The normalised BIC (ISO 9362: 4 letters bank, 2 letters country, 2 location, optional 3 branch). */
export function normaliseBic(input: string, field = 'payout.bic'): string {
  const bic = compact(input);
  if (!/^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$/.test(bic)) {
    throw new AppError(
      'bic_invalid',
      `${field}: a BIC is 8 or 11 characters: bank (4 letters), country (2 letters), location (2), branch (3, optional)`,
      {
        field,
      },
    );
  }
  return bic;
}

/** ABA routing numbers carry a weighted checksum (3, 7, 1) that must be a multiple of 10. */
export function normaliseRoutingNumber(input: string, field = 'payout.routing_number'): string {
  const value = input.trim();
  if (!/^[0-9]{9}$/.test(value)) {
    throw new AppError('bank_details_invalid', `${field}: a routing number is 9 digits`, { field });
  }
  const weights = [3, 7, 1];
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (value.charCodeAt(i) - 48) * (weights[i % 3] ?? 0);
  if (sum % 10 !== 0) {
    throw new AppError('bank_details_invalid', `${field}: the routing number's check digit does not match`, {
      field,
    });
  }
  return value;
}

export function normaliseAccountNumber(input: string, field = 'payout.account_number'): string {
  const value = input.trim();
  if (!/^[0-9]{4,17}$/.test(value)) {
    throw new AppError('bank_details_invalid', `${field}: an account number is 4–17 digits`, { field });
  }
  return value;
}

/** Bank details, either SEPA (IBAN + BIC) or US-style (account + routing number). */
export type BankDetails =
  | { kind: 'sepa'; iban: string; bic: string; holderName: string | null }
  | {
      kind: 'ach';
      accountNumber: string;
      routingNumber: string;
      holderName: string | null;
      /** Who holds the account: a company (ACH batches of SEC code CCD, the default) or an individual (PPD). */
      holderType?: AchHolderType;
      /** Checking (the default) or savings: the ACH transaction code (22 or 32). */
      accountType?: AchAccountType;
    };

export type AchHolderType = 'company' | 'individual';
export type AchAccountType = 'checking' | 'savings';

/** What audit rows and API answers show: enough to recognise the account, not enough to use it. */
export function maskBankDetails(details: BankDetails | null): MaskedBankAccount | null {
  if (details === null) return null;
  if (details.kind === 'sepa') {
    return {
      iban_last4: details.iban.slice(-4),
      country: details.iban.slice(0, 2),
      bic: details.bic,
      holder: details.holderName,
    };
  }
  return {
    account_last4: details.accountNumber.slice(-4),
    routing_number: details.routingNumber,
    holder: details.holderName,
    ...(details.holderType === undefined ? {} : { holder_type: details.holderType }),
    ...(details.accountType === undefined ? {} : { account_type: details.accountType }),
  };
}

/** An IBAN for `country` and `bban` with its check digits computed (test data, sandbox accounts). */
export function ibanWithCheckDigits(country: string, bban: string): string {
  const check = 98 - mod97(`${bban}${country}00`);
  return `${country}${String(check).padStart(2, '0')}${bban}`;
}
