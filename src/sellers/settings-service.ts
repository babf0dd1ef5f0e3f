import type { Pool, Queryable } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { AppError } from '../errors.ts';
import { assertCurrency, type CurrencyCode } from '../money/index.ts';
import type { PayoutSettings } from './terms.ts';
import { findPayoutSettings, savePayoutSettings } from './payout-settings-store.ts';
import {
  applySettingsInput,
  bankFrom,
  settingsToWire,
  type PayoutInput,
  type PlatformFeeInput,
} from './payout-wire.ts';
import {
  applyBankAccounts,
  otherBankAccounts,
  saveOtherBankAccounts,
  type CurrencyBankAccount,
} from './bank-accounts.ts';
import type { SellerSettingsWire } from './http-schemas.ts';
import { registerSeller, type NewSeller } from './service.ts';
import type { Seller } from './store.ts';

/** Settings compared as data: bigints written as strings, so two equal settings have one form. */
function settingsKey(settings: { settings: PayoutSettings; others: CurrencyBankAccount[] }): string {
  return JSON.stringify(settings, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
}

/** The settings and the other currencies' accounts after applying `payout` and `platform_fee` (pure). */
function applyInput(
  currency: CurrencyCode,
  previous: { settings: PayoutSettings; others: CurrencyBankAccount[] },
  payout: PayoutInput | undefined,
  platformFee: PlatformFeeInput | undefined,
): { settings: PayoutSettings; others: CurrencyBankAccount[] } {
  const settings = applySettingsInput(previous.settings, payout, platformFee, currency);
  const accounts = applyBankAccounts(
    { defaultCurrency: currency, topLevel: payout },
    { defaultBank: settings.bank, others: previous.others },
    payout?.bank_accounts,
    bankFrom,
  );
  const minimum = accounts.defaultMinimumMinor;
  return {
    settings: {
      ...settings,
      bank: accounts.defaultBank,
      ...(minimum === undefined ? {} : { minimumAmountMinor: minimum }),
    },
    others: accounts.others,
  };
}

async function previousOf(
  client: Queryable,
  sellerAccount: string,
): Promise<{ settings: PayoutSettings; others: CurrencyBankAccount[] }> {
  const settings = await findPayoutSettings(client, sellerAccount, { forUpdate: true });
  const others =
    (await otherBankAccounts(client, [sellerAccount], { forUpdate: true })).get(sellerAccount) ?? [];
  return { settings, others };
}

/** Writes both; new bank details of a currency clear that currency's "needs new bank details" flag only. */
async function saveAll(
  client: Queryable,
  sellerAccount: string,
  next: { settings: PayoutSettings; others: CurrencyBankAccount[] },
  previous: { settings: PayoutSettings; others: CurrencyBankAccount[] },
  apiKeyId: string | null,
): Promise<void> {
  await savePayoutSettings(client, sellerAccount, next.settings, previous.settings, apiKeyId);
  await saveOtherBankAccounts(client, sellerAccount, next.others, previous.others, apiKeyId);
}

/**
 * Registers a seller with its payout settings in one transaction. A retried registration with the same details
 * returns the seller; one whose payout settings differ from the stored ones is `seller_exists` (change them with
 * PATCH).
 */
export async function registerSellerWithSettings(
  pool: Pool,
  input: NewSeller,
  payout: PayoutInput | undefined,
  platformFee: PlatformFeeInput | undefined,
  apiKeyId: string | null,
): Promise<{ seller: Seller; settings: PayoutSettings; created: boolean }> {
  let currency;
  try {
    currency = assertCurrency(input.currency);
  } catch (error) {
    throw error instanceof AppError ? error.atField('currency') : error;
  }
  return await withTransaction(pool, async (client) => {
    const registered = await registerSeller(client, input);
    const previous = await previousOf(client, input.sellerAccount);
    const next = applyInput(currency, previous, payout, platformFee);
    if (registered.created) {
      await saveAll(client, input.sellerAccount, next, previous, apiKeyId);
    } else if (settingsKey(next) !== settingsKey(previous)) {
      throw new AppError(
        'seller_exists',
        `seller ${input.sellerAccount} is already registered with other payout settings`,
        {
          field: 'seller_account',
        },
      );
    }
    return { seller: registered.seller, settings: next.settings, created: registered.created };
  });
}

/** Changes a seller's payout settings and/or platform fee; bank-detail changes are audited in the same transaction. */
export async function updateSellerSettings(
  pool: Pool,
  seller: Seller,
  payout: PayoutInput | undefined,
  platformFee: PlatformFeeInput | undefined,
  apiKeyId: string | null,
): Promise<PayoutSettings> {
  const currency = assertCurrency(seller.currency);
  return await withTransaction(pool, async (client) => {
    const previous = await previousOf(client, seller.sellerAccount);
    const next = applyInput(currency, previous, payout, platformFee);
    await saveAll(client, seller.sellerAccount, next, previous, apiKeyId);
    return findPayoutSettings(client, seller.sellerAccount);
  });
}

export async function getSellerSettings(db: Queryable, sellerAccount: string): Promise<PayoutSettings> {
  return findPayoutSettings(db, sellerAccount);
}

/** The seller's payout settings as the API shows them, with every payout account (masked). */
export async function settingsWireOf(
  db: Queryable,
  seller: Seller,
  settings?: PayoutSettings,
): Promise<SellerSettingsWire> {
  const others = (await otherBankAccounts(db, [seller.sellerAccount])).get(seller.sellerAccount) ?? [];
  const current = settings ?? (await findPayoutSettings(db, seller.sellerAccount));
  return settingsToWire(current, assertCurrency(seller.currency), others);
}
