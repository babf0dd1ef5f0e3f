import type { Pool, Queryable } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { AppError } from '../errors.ts';
import { assertCurrency } from '../money/index.ts';
import type { PayoutSettings } from './terms.ts';
import { findPayoutSettings, savePayoutSettings } from './payout-settings-store.ts';
import { applySettingsInput, type PayoutInput, type PlatformFeeInput } from './payout-wire.ts';
import { registerSeller, type NewSeller } from './service.ts';
import type { Seller } from './store.ts';

/** Settings compared as data: bigints written as strings, so two equal settings have one form. */
function settingsKey(settings: PayoutSettings): string {
  return JSON.stringify(settings, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
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
    const previous = await findPayoutSettings(client, input.sellerAccount, { forUpdate: true });
    const next = applySettingsInput(previous, payout, platformFee, currency);
    if (registered.created) {
      await savePayoutSettings(client, input.sellerAccount, next, previous, apiKeyId);
    } else if (settingsKey(next) !== settingsKey(previous)) {
      throw new AppError(
        'seller_exists',
        `seller ${input.sellerAccount} is already registered with other payout settings`,
        {
          field: 'seller_account',
        },
      );
    }
    return { seller: registered.seller, settings: next, created: registered.created };
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
    const previous = await findPayoutSettings(client, seller.sellerAccount, { forUpdate: true });
    const next = applySettingsInput(previous, payout, platformFee, currency);
    await savePayoutSettings(client, seller.sellerAccount, next, previous, apiKeyId);
    return findPayoutSettings(client, seller.sellerAccount);
  });
}

export async function getSellerSettings(db: Queryable, sellerAccount: string): Promise<PayoutSettings> {
  return findPayoutSettings(db, sellerAccount);
}
