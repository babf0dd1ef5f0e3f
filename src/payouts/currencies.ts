import type { Queryable } from '../db/pool.ts';
import {
  otherBankAccounts,
  type CurrencyBankAccount,
  type PayoutSettings,
  type SellerDue,
} from '../sellers/index.ts';

/**
 * Multi-currency payouts (docs/payouts.md "Several currencies"): the payout run decides for each currency a due
 * seller holds or has an account in, on its own. The seller's own currency is paid as before, to the payout
 * settings' bank details; every other currency to the seller's account of that currency, under that account's
 * minimum and flag. A currency the seller has money in but no account for (never given, or removed) is a target
 * without bank details: the run pays nothing there and reports it.
 */

/** One seller and currency the run decides for; `ownCurrency` is the seller's own (default) currency. */
export interface PayoutTarget extends SellerDue {
  ownCurrency: string;
}

/**
 * The settings a currency other than the seller's own is paid under: its account with that account's minimum
 * (minor units of the currency; 0 when none was given) and "needs new bank details" flag, and the seller's
 * schedule and percentage reserve. A fixed reserve is an amount of the seller's own currency, so it applies to it
 * only (another currency holds no fixed reserve). No account: no bank details, nothing to flag.
 */
export function settingsForCurrency(
  settings: PayoutSettings,
  account: CurrencyBankAccount | undefined,
): PayoutSettings {
  return {
    ...settings,
    bank: account?.bank ?? null,
    minimumAmountMinor: account?.minimumAmountMinor ?? 0n,
    needsBankDetails: account?.needsBankDetails ?? false,
    needsBankDetailsReason: account?.needsBankDetailsReason ?? null,
    reserve: settings.reserve.type === 'fixed' ? { type: 'none' } : settings.reserve,
  };
}

/** The currencies other than their own each seller was ever credited in (its pay-ins' holds), by seller. */
async function heldCurrencies(db: Queryable, sellers: readonly SellerDue[]): Promise<Map<string, string[]>> {
  const result = await db.query<{ seller_account: string; currency: string }>(
    `SELECT DISTINCT h.seller_account, h.currency
       FROM unnest($1::text[], $2::text[]) AS s(seller_account, currency)
       JOIN payouts.holds h ON h.seller_account = s.seller_account AND h.currency <> s.currency`,
    [sellers.map((s) => s.sellerAccount), sellers.map((s) => s.currency)],
  );
  const bySeller = new Map<string, string[]>();
  for (const row of result.rows) {
    bySeller.set(row.seller_account, [...(bySeller.get(row.seller_account) ?? []), row.currency.trim()]);
  }
  return bySeller;
}

/** Every (seller, currency) the run decides for, the seller's own currency first, the others by code. */
export async function payoutTargets(db: Queryable, sellers: readonly SellerDue[]): Promise<PayoutTarget[]> {
  const ids = sellers.map((s) => s.sellerAccount);
  const [accounts, held] = [await otherBankAccounts(db, ids), await heldCurrencies(db, sellers)];
  const targets: PayoutTarget[] = [];
  for (const seller of sellers) {
    targets.push({ ...seller, ownCurrency: seller.currency });
    const own = accounts.get(seller.sellerAccount) ?? [];
    const currencies = new Set([...own.map((a) => a.currency), ...(held.get(seller.sellerAccount) ?? [])]);
    currencies.delete(seller.currency);
    for (const currency of [...currencies].sort()) {
      targets.push({
        sellerAccount: seller.sellerAccount,
        currency,
        ownCurrency: seller.currency,
        settings: settingsForCurrency(
          seller.settings,
          own.find((a) => a.currency === currency),
        ),
      });
    }
  }
  return targets;
}
