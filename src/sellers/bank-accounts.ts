import { z } from 'zod';
import type { Queryable } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import { assertCurrency, formatAmount, parseAmount, type CurrencyCode } from '../money/index.ts';
import { maskBankDetails, type BankDetails } from './bank.ts';
import type { MaskedCurrencyAccount } from './http-schemas.ts';

/**
 * A seller's payout accounts, one per currency (docs/payouts.md "Several currencies"). The account of the seller's
 * own currency is the payout settings' bank details, as before; the others are in `sellers.payout_bank_accounts`
 * (migrations/0290_payout_accounts.sql), one per currency.
 */

export interface CurrencyBankAccount {
  currency: CurrencyCode;
  bank: BankDetails;
  /** The run pays nothing below this in the account's currency (its minor units); 0: any amount above zero. */
  minimumAmountMinor: bigint;
  /** A payout to this account came back: this currency is not paid until new details for it are given. */
  needsBankDetails: boolean;
  needsBankDetailsReason: string | null;
}

/** The seller's own currency's terms, as the payout settings hold them (the account's fields above). */
export type DefaultAccountTerms = Omit<CurrencyBankAccount, 'currency' | 'bank'> & {
  bank: BankDetails | null;
};

/** One entry of `payout.bank_accounts[]`: a currency and the same bank fields as the single bank details. */
export const BankAccountBody = z
  .object({
    currency: z.string().max(8),
    account_holder_name: z.string().trim().min(1).max(140).optional(),
    iban: z.string().max(64).optional(),
    bic: z.string().max(32).optional(),
    account_number: z.string().max(32).optional(),
    routing_number: z.string().max(32).optional(),
    account_holder_type: z.enum(['company', 'individual']).optional(),
    account_type: z.enum(['checking', 'savings']).optional(),
    minimum_amount: z
      .unknown()
      .optional()
      .describe(
        'the smallest payout in this account\'s currency, in its major units ("10.00" USD, "1000" JPY, "1.000" KWD); default 0',
      ),
  })
  .strict();
export type BankAccountInput = z.infer<typeof BankAccountBody>;

/** At most this many accounts in one request (one per currency). */
export const MAX_BANK_ACCOUNTS = 32;

/** Reads bank details from fields (`bankFrom` of payout-wire.ts), naming fields under `prefix`. */
export type BankReader = (
  input: Omit<BankAccountInput, 'currency'>,
  previous: BankDetails | null,
  prefix: string,
) => BankDetails | null;

function entryCurrency(entry: BankAccountInput, field: string): CurrencyCode {
  try {
    return assertCurrency(entry.currency);
  } catch (error) {
    throw error instanceof AppError ? error.atField(field) : error;
  }
}

function hasBankFields(input: Omit<BankAccountInput, 'currency'>): boolean {
  return (
    input.iban !== undefined ||
    input.bic !== undefined ||
    input.account_number !== undefined ||
    input.routing_number !== undefined
  );
}

/** An entry's `minimum_amount`, in minor units of its currency (the currency's exponent: JPY 0, USD 2, KWD 3). */
function minimumAt(value: unknown, currency: CurrencyCode, field: string): bigint {
  try {
    return parseAmount(value, currency, { allowZero: true });
  } catch (error) {
    throw error instanceof AppError ? error.atField(field) : error;
  }
}

export function sameBank(a: BankDetails | null, b: BankDetails | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Another currency's account after one entry: the bank fields over the previous account's, its minimum (as given,
 * else as it was, else 0) and its flag, which new bank details clear and anything else keeps.
 */
function nextOtherAccount(
  entry: BankAccountInput,
  currency: CurrencyCode,
  before: CurrencyBankAccount | undefined,
  bank: BankDetails,
  prefix: string,
): CurrencyBankAccount {
  const minimumAmountMinor =
    entry.minimum_amount === undefined
      ? (before?.minimumAmountMinor ?? 0n)
      : minimumAt(entry.minimum_amount, currency, `${prefix}.minimum_amount`);
  const keepFlag = before !== undefined && sameBank(before.bank, bank);
  return {
    currency,
    bank,
    minimumAmountMinor,
    needsBankDetails: keepFlag && before.needsBankDetails,
    needsBankDetailsReason: keepFlag && before.needsBankDetails ? before.needsBankDetailsReason : null,
  };
}

/** The seller's own currency's entry may not repeat what the top level of `payout` gives. */
function refuseGivenTwice(
  entry: BankAccountInput,
  topLevel: TopLevelInput | undefined,
  currency: CurrencyCode,
  prefix: string,
): void {
  if (topLevel !== undefined && hasBankFields(topLevel)) {
    throw new AppError(
      'bank_details_invalid',
      `${prefix}: the ${currency} account is also given as payout.iban/account_number; give it once`,
      { field: prefix },
    );
  }
  if (topLevel?.minimum_amount !== undefined && entry.minimum_amount !== undefined) {
    throw new AppError(
      'validation_failed',
      `${prefix}.minimum_amount: the ${currency} minimum is also given as payout.minimum_amount; give it once`,
      { field: `${prefix}.minimum_amount` },
    );
  }
}

/** The top level of `payout`: the own currency's bank fields and minimum. */
type TopLevelInput = Omit<BankAccountInput, 'currency'>;

export interface AppliedBankAccounts {
  defaultBank: BankDetails | null;
  /** The own currency's minimum when its entry gave one (it is the seller-level `minimum_amount`). */
  defaultMinimumMinor: bigint | undefined;
  others: CurrencyBankAccount[];
}

/**
 * Applies `payout.bank_accounts[]` (pure): an entry in the seller's own currency sets the default account (and
 * its `minimum_amount` the seller-level minimum), any other upserts that currency's account (fields left out keep
 * their value, as for the single bank details). A currency listed twice, or the default account given both at
 * the top level and in the list, is `bank_details_invalid`; every entry is validated exactly as the single bank
 * details (`iban_invalid`, …). New bank details for a currency clear that currency's `needs_bank_details` only.
 */
export function applyBankAccounts(
  options: { defaultCurrency: CurrencyCode; topLevel: TopLevelInput | undefined },
  previous: { defaultBank: BankDetails | null; others: readonly CurrencyBankAccount[] },
  entries: readonly BankAccountInput[] | undefined,
  readBank: BankReader,
): AppliedBankAccounts {
  let defaultBank = previous.defaultBank;
  let defaultMinimumMinor: bigint | undefined;
  const others = new Map(previous.others.map((account) => [account.currency, account]));
  const seen = new Set<string>();
  for (const [index, entry] of (entries ?? []).entries()) {
    const prefix = `payout.bank_accounts.${index}`;
    const currency = entryCurrency(entry, `${prefix}.currency`);
    if (seen.has(currency)) {
      throw new AppError('bank_details_invalid', `${prefix}.currency: ${currency} is listed twice`, {
        field: `${prefix}.currency`,
      });
    }
    seen.add(currency);
    const own = currency === options.defaultCurrency;
    if (own) refuseGivenTwice(entry, options.topLevel, currency, prefix);
    const bank = readBank(entry, own ? defaultBank : (others.get(currency)?.bank ?? null), prefix);
    if (bank === null) {
      throw new AppError(
        'bank_details_invalid',
        `${prefix}: give iban and bic, or account_number and routing_number`,
        { field: prefix },
      );
    }
    if (own) {
      defaultBank = bank;
      if (entry.minimum_amount !== undefined) {
        defaultMinimumMinor = minimumAt(entry.minimum_amount, currency, `${prefix}.minimum_amount`);
      }
    } else {
      others.set(currency, nextOtherAccount(entry, currency, others.get(currency), bank, prefix));
    }
  }
  const sorted = [...others.values()].sort((a, b) => (a.currency < b.currency ? -1 : 1));
  return { defaultBank, defaultMinimumMinor, others: sorted };
}

/**
 * Every payout account as the API shows it (masked), with its minimum in its own currency and its flag: the
 * default currency's first (its terms are the payout settings'), then by currency.
 */
export function bankAccountsToWire(
  defaultCurrency: CurrencyCode,
  defaultTerms: DefaultAccountTerms,
  others: readonly CurrencyBankAccount[],
): MaskedCurrencyAccount[] {
  const { bank, ...terms } = defaultTerms;
  const all: CurrencyBankAccount[] = [
    ...(bank === null ? [] : [{ currency: defaultCurrency, bank, ...terms }]),
    ...others,
  ];
  return all.flatMap((account) => {
    const masked = maskBankDetails(account.bank);
    if (masked === null) return [];
    return [
      {
        currency: account.currency,
        ...masked,
        minimum_amount: formatAmount(account.minimumAmountMinor, account.currency),
        needs_bank_details: account.needsBankDetails,
        needs_bank_details_reason: account.needsBankDetails ? account.needsBankDetailsReason : null,
      },
    ];
  });
}

interface AccountRow {
  seller_account: string;
  currency: string;
  account_holder_name: string | null;
  iban: string | null;
  bic: string | null;
  account_number: string | null;
  routing_number: string | null;
  ach_holder_type: 'company' | 'individual' | null;
  ach_account_type: 'checking' | 'savings' | null;
  minimum_amount_minor: bigint;
  needs_bank_details: boolean;
  needs_bank_details_reason: string | null;
}

const COLUMNS = `seller_account, currency, account_holder_name, iban, bic, account_number, routing_number,
  ach_holder_type, ach_account_type, minimum_amount_minor, needs_bank_details, needs_bank_details_reason`;

function bankFromRow(row: AccountRow): BankDetails | undefined {
  if (row.iban !== null && row.bic !== null) {
    return { kind: 'sepa', iban: row.iban, bic: row.bic, holderName: row.account_holder_name };
  }
  if (row.account_number === null || row.routing_number === null) return undefined;
  return {
    kind: 'ach',
    accountNumber: row.account_number,
    routingNumber: row.routing_number,
    holderName: row.account_holder_name,
    ...(row.ach_holder_type === null ? {} : { holderType: row.ach_holder_type }),
    ...(row.ach_account_type === null ? {} : { accountType: row.ach_account_type }),
  };
}

function accountFromRow(row: AccountRow): CurrencyBankAccount | undefined {
  const bank = bankFromRow(row);
  if (bank === undefined) return undefined;
  return {
    currency: assertCurrency(row.currency),
    bank,
    minimumAmountMinor: BigInt(row.minimum_amount_minor),
    needsBankDetails: row.needs_bank_details,
    needsBankDetailsReason: row.needs_bank_details ? row.needs_bank_details_reason : null,
  };
}

/** The accounts of the sellers' other currencies (not their own currency's), by seller, each list by currency. */
export async function otherBankAccounts(
  db: Queryable,
  sellerAccounts: readonly string[],
  options: { forUpdate?: boolean } = {},
): Promise<Map<string, CurrencyBankAccount[]>> {
  const bySeller = new Map<string, CurrencyBankAccount[]>();
  if (sellerAccounts.length === 0) return bySeller;
  const result = await db.query<AccountRow>(
    `SELECT ${COLUMNS} FROM sellers.payout_bank_accounts WHERE seller_account = ANY($1::text[])
      ORDER BY seller_account, currency${options.forUpdate === true ? ' FOR UPDATE' : ''}`,
    [[...new Set(sellerAccounts)]],
  );
  for (const row of result.rows) {
    const account = accountFromRow(row);
    if (account === undefined) continue;
    const list = bySeller.get(row.seller_account) ?? [];
    list.push(account);
    bySeller.set(row.seller_account, list);
  }
  return bySeller;
}

/** Two accounts compared as data (bigints as strings). */
function sameAccount(a: CurrencyBankAccount | undefined, b: CurrencyBankAccount | undefined): boolean {
  const key = (account: CurrencyBankAccount | undefined) =>
    JSON.stringify(account ?? null, (_key, value: unknown) =>
      typeof value === 'bigint' ? value.toString() : value,
    );
  return key(a) === key(b);
}

async function upsertAccount(
  db: Queryable,
  sellerAccount: string,
  account: CurrencyBankAccount,
): Promise<void> {
  const bank = account.bank;
  await db.query(
    `INSERT INTO sellers.payout_bank_accounts (${COLUMNS})
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT (seller_account, currency) DO UPDATE SET
       account_holder_name = EXCLUDED.account_holder_name, iban = EXCLUDED.iban, bic = EXCLUDED.bic,
       account_number = EXCLUDED.account_number, routing_number = EXCLUDED.routing_number,
       ach_holder_type = EXCLUDED.ach_holder_type, ach_account_type = EXCLUDED.ach_account_type,
       minimum_amount_minor = EXCLUDED.minimum_amount_minor, needs_bank_details = EXCLUDED.needs_bank_details,
       needs_bank_details_reason = EXCLUDED.needs_bank_details_reason, updated_at = now()`,
    [
      sellerAccount,
      account.currency,
      bank.holderName,
      bank.kind === 'sepa' ? bank.iban : null,
      bank.kind === 'sepa' ? bank.bic : null,
      bank.kind === 'ach' ? bank.accountNumber : null,
      bank.kind === 'ach' ? bank.routingNumber : null,
      bank.kind === 'ach' ? (bank.holderType ?? null) : null,
      bank.kind === 'ach' ? (bank.accountType ?? null) : null,
      account.minimumAmountMinor,
      account.needsBankDetails,
      account.needsBankDetails ? account.needsBankDetailsReason : null,
    ],
  );
}

/** One row of `sellers.bank_details_audit` for an account of another currency (null: none, before or after). */
export async function auditBankAccountChange(
  db: Queryable,
  sellerAccount: string,
  currency: CurrencyCode,
  change: { before: BankDetails | null; after: BankDetails | null; apiKeyId: string | null },
): Promise<void> {
  await db.query(
    `INSERT INTO sellers.bank_details_audit (seller_account, api_key_id, before, after, currency)
     VALUES ($1, $2, $3, $4, $5)`,
    [
      sellerAccount,
      change.apiKeyId,
      JSON.stringify(maskBankDetails(change.before)),
      JSON.stringify(maskBankDetails(change.after)),
      currency,
    ],
  );
}

/**
 * Writes the accounts of the other currencies that changed (details, minimum or flag). A change of bank details
 * is audited in `sellers.bank_details_audit` (masked before and after, the API key, the currency) in the caller's
 * transaction, as the single bank details are.
 */
export async function saveOtherBankAccounts(
  db: Queryable,
  sellerAccount: string,
  next: readonly CurrencyBankAccount[],
  previous: readonly CurrencyBankAccount[],
  apiKeyId: string | null,
): Promise<void> {
  for (const account of next) {
    const before = previous.find((p) => p.currency === account.currency);
    if (sameAccount(before, account)) continue;
    await upsertAccount(db, sellerAccount, account);
    if (!sameBank(before?.bank ?? null, account.bank)) {
      await auditBankAccountChange(db, sellerAccount, account.currency, {
        before: before?.bank ?? null,
        after: account.bank,
        apiKeyId,
      });
    }
  }
}

/**
 * A payout to the seller's account of `currency` (another currency than their own) came back: that account needs
 * new details, and that currency is not paid until they are given. False when the seller has no account of that
 * currency (removed since the payout left): its payouts stop anyway, for want of an account.
 */
export async function flagBankAccount(
  db: Queryable,
  sellerAccount: string,
  currency: string,
  reason: string,
): Promise<boolean> {
  const result = await db.query(
    `UPDATE sellers.payout_bank_accounts SET needs_bank_details = true, needs_bank_details_reason = $3,
       updated_at = now()
      WHERE seller_account = $1 AND currency = $2`,
    [sellerAccount, currency, reason],
  );
  return (result.rowCount ?? 0) > 0;
}
