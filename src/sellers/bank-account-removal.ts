import type { Queryable } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import { assertCurrency, type CurrencyCode } from '../money/index.ts';
import { auditBankAccountChange, otherBankAccounts, type CurrencyBankAccount } from './bank-accounts.ts';
import type { Seller } from './store.ts';

/**
 * Removing the bank account of one payout currency (docs/payouts.md "Removing a currency's account"; the route is
 * `DELETE /v1/sellers/{seller_account}/bank_accounts/{currency}`, src/payouts/bank-account-http.ts, which also
 * refuses it while payouts in that currency are in flight). The seller's own currency's account is the payout
 * settings' bank details: it is replaced, never removed. The balance in the currency stays where it is; the
 * payout run leaves it unpaid (`no_bank_details`) until an account of that currency is given again.
 */

function currencyOf(text: string): CurrencyCode {
  try {
    return assertCurrency(text);
  } catch (error) {
    throw error instanceof AppError ? error.atField('currency') : error;
  }
}

/**
 * Removes the seller's account of `currency` in the caller's transaction, audited in `sellers.bank_details_audit`
 * (masked before, null after, the API key, the currency) as every bank-details change is. `refuseIf` runs once the
 * account is found and locked, before it is removed (the caller's check of payouts in flight). Refused with
 * `bank_account_is_default` for the seller's own currency and `bank_account_not_found` when there is none.
 */
export async function removeBankAccount(
  db: Queryable,
  seller: Seller,
  currencyText: string,
  options: { apiKeyId: string | null; refuseIf?: (currency: CurrencyCode) => Promise<void> },
): Promise<CurrencyBankAccount> {
  const currency = currencyOf(currencyText);
  if (currency === seller.currency) {
    throw new AppError(
      'bank_account_is_default',
      `currency: ${currency} is seller ${seller.sellerAccount}'s own currency; its account (payout.iban/account_number) can be replaced with PATCH /v1/sellers/${seller.sellerAccount}, not removed`,
      { field: 'currency' },
    );
  }
  const found = (await otherBankAccounts(db, [seller.sellerAccount], { forUpdate: true }))
    .get(seller.sellerAccount)
    ?.find((account) => account.currency === currency);
  if (found === undefined) {
    throw new AppError(
      'bank_account_not_found',
      `seller ${seller.sellerAccount} has no ${currency} bank account`,
      { field: 'currency' },
    );
  }
  await options.refuseIf?.(currency);
  await db.query('DELETE FROM sellers.payout_bank_accounts WHERE seller_account = $1 AND currency = $2', [
    seller.sellerAccount,
    currency,
  ]);
  await auditBankAccountChange(db, seller.sellerAccount, currency, {
    before: found.bank,
    after: null,
    apiKeyId: options.apiKeyId,
  });
  return found;
}
