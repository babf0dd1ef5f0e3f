import { z } from 'zod';
import type { Queryable } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import { assertCurrency, type CurrencyCode } from '../money/index.ts';
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
}

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

/**
 * Applies `payout.bank_accounts[]` (pure): an entry in the seller's own currency sets the default account, any
 * other upserts that currency's account (fields left out keep their value, as for the single bank details). A
 * currency listed twice, or the default account given both at the top level and in the list, is
 * `bank_details_invalid`; every entry is validated exactly as the single bank details (`iban_invalid`, …).
 */
export function applyBankAccounts(
  options: { defaultCurrency: CurrencyCode; topLevel: Omit<BankAccountInput, 'currency'> | undefined },
  previous: { defaultBank: BankDetails | null; others: readonly CurrencyBankAccount[] },
  entries: readonly BankAccountInput[] | undefined,
  readBank: BankReader,
): { defaultBank: BankDetails | null; others: CurrencyBankAccount[] } {
  let defaultBank = previous.defaultBank;
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
    const before = currency === options.defaultCurrency ? defaultBank : (others.get(currency)?.bank ?? null);
    if (
      currency === options.defaultCurrency &&
      options.topLevel !== undefined &&
      hasBankFields(options.topLevel)
    ) {
      throw new AppError(
        'bank_details_invalid',
        `${prefix}: the ${currency} account is also given as payout.iban/account_number; give it once`,
        { field: prefix },
      );
    }
    const bank = readBank(entry, before, prefix);
    if (bank === null) {
      throw new AppError(
        'bank_details_invalid',
        `${prefix}: give iban and bic, or account_number and routing_number`,
        { field: prefix },
      );
    }
    if (currency === options.defaultCurrency) defaultBank = bank;
    else others.set(currency, { currency, bank });
  }
  const sorted = [...others.values()].sort((a, b) => (a.currency < b.currency ? -1 : 1));
  return { defaultBank, others: sorted };
}

/** Every payout account as the API shows it (masked): the default currency's first, then by currency. */
export function bankAccountsToWire(
  defaultCurrency: CurrencyCode,
  defaultBank: BankDetails | null,
  others: readonly CurrencyBankAccount[],
): MaskedCurrencyAccount[] {
  const all = [
    ...(defaultBank === null ? [] : [{ currency: defaultCurrency, bank: defaultBank }]),
    ...others,
  ];
  return all.flatMap(({ currency, bank }) => {
    const masked = maskBankDetails(bank);
    return masked === null ? [] : [{ currency, ...masked }];
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
}

const COLUMNS = `seller_account, currency, account_holder_name, iban, bic, account_number, routing_number,
  ach_holder_type, ach_account_type`;

function accountFromRow(row: AccountRow): CurrencyBankAccount | undefined {
  const currency = assertCurrency(row.currency);
  if (row.iban !== null && row.bic !== null) {
    return {
      currency,
      bank: { kind: 'sepa', iban: row.iban, bic: row.bic, holderName: row.account_holder_name },
    };
  }
  if (row.account_number === null || row.routing_number === null) return undefined;
  return {
    currency,
    bank: {
      kind: 'ach',
      accountNumber: row.account_number,
      routingNumber: row.routing_number,
      holderName: row.account_holder_name,
      ...(row.ach_holder_type === null ? {} : { holderType: row.ach_holder_type }),
      ...(row.ach_account_type === null ? {} : { accountType: row.ach_account_type }),
    },
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

function sameAccount(a: CurrencyBankAccount | undefined, b: CurrencyBankAccount | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

async function upsertAccount(
  db: Queryable,
  sellerAccount: string,
  account: CurrencyBankAccount,
): Promise<void> {
  const bank = account.bank;
  await db.query(
    `INSERT INTO sellers.payout_bank_accounts (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (seller_account, currency) DO UPDATE SET
       account_holder_name = EXCLUDED.account_holder_name, iban = EXCLUDED.iban, bic = EXCLUDED.bic,
       account_number = EXCLUDED.account_number, routing_number = EXCLUDED.routing_number,
       ach_holder_type = EXCLUDED.ach_holder_type, ach_account_type = EXCLUDED.ach_account_type, updated_at = now()`,
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
    ],
  );
}

/**
 * Writes the accounts of the other currencies that changed; each change is audited in `sellers.bank_details_audit`
 * (masked before and after, the API key, the currency) in the caller's transaction, as the single bank details
 * are. Returns whether any changed.
 */
export async function saveOtherBankAccounts(
  db: Queryable,
  sellerAccount: string,
  next: readonly CurrencyBankAccount[],
  previous: readonly CurrencyBankAccount[],
  apiKeyId: string | null,
): Promise<boolean> {
  let changed = false;
  for (const account of next) {
    const before = previous.find((p) => p.currency === account.currency);
    if (sameAccount(before, account)) continue;
    changed = true;
    await upsertAccount(db, sellerAccount, account);
    await db.query(
      `INSERT INTO sellers.bank_details_audit (seller_account, api_key_id, before, after, currency)
       VALUES ($1, $2, $3, $4, $5)`,
      [
        sellerAccount,
        apiKeyId,
        JSON.stringify(maskBankDetails(before?.bank ?? null)),
        JSON.stringify(maskBankDetails(account.bank)),
        account.currency,
      ],
    );
  }
  return changed;
}
