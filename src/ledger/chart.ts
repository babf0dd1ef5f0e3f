import type { AccountSpec } from './types.ts';

/**
 * The marketplace's chart of accounts (docs/ledger.md explains each one). Every account is per currency; the
 * code names the owner, the purpose and the currency, so it is stable and readable in a journal dump:
 * `platform:<purpose>:<CUR>` and `seller:<seller id>:<purpose>:<CUR>`.
 *
 * Seller accounts are liabilities (money we owe the seller) with a floor of zero: the ledger refuses any entry
 * that would make us owe a seller less than nothing. Who covers a shortfall (a refund larger than the seller's
 * balance, say) is a business decision taken before posting, in the recipes' inputs.
 */

export type PlatformAccount =
  'psp_clearing' | 'platform_bank' | 'fee_revenue' | 'psp_fees' | 'chargeback_losses' | 'suspense';

export type SellerAccount = 'pending' | 'available' | 'reserved' | 'in_transit';

export const SELLER_ACCOUNTS: readonly SellerAccount[] = ['pending', 'available', 'reserved', 'in_transit'];

/** Seller ids go into account codes, so the separator may not appear in them. */
function checkSellerId(sellerId: string): string {
  if (sellerId.length === 0 || sellerId.includes(':')) {
    throw new Error(`seller id "${sellerId}" cannot name ledger accounts (empty or containing ":")`);
  }
  return sellerId;
}

/** Money the PSP holds for us: captured from buyers, not yet paid out to our bank. */
export function pspClearing(currency: string): AccountSpec {
  return { code: `platform:psp_clearing:${currency}`, type: 'asset', currency };
}

/** The platform's own bank account (the PSP pays out into it; seller payouts leave from it). */
export function platformBank(currency: string): AccountSpec {
  return { code: `platform:bank:${currency}`, type: 'asset', currency };
}

/** The platform's commission on sales. */
export function feeRevenue(currency: string): AccountSpec {
  return { code: `platform:fee_revenue:${currency}`, type: 'revenue', currency };
}

/** What the PSP charges us (processing fees, chargeback fees). */
export function pspFees(currency: string): AccountSpec {
  return { code: `platform:psp_fees:${currency}`, type: 'expense', currency };
}

/** Refunds and chargebacks the platform bears because the seller could not (or by policy does not). */
export function chargebackLosses(currency: string): AccountSpec {
  return { code: `platform:chargeback_losses:${currency}`, type: 'expense', currency };
}

/** Money that arrived or left without a known reason, parked until reconciliation sorts it out. */
export function suspense(currency: string): AccountSpec {
  return { code: `platform:suspense:${currency}`, type: 'liability', currency };
}

/** Owed to the seller for successful sales, still on hold (not yet payable). */
export function sellerPending(sellerId: string, currency: string): AccountSpec {
  return sellerAccount(sellerId, 'pending', currency);
}

/** Owed to the seller and payable at the next payout. */
export function sellerAvailable(sellerId: string, currency: string): AccountSpec {
  return sellerAccount(sellerId, 'available', currency);
}

/** Owed to the seller but held back as a reserve (against refunds and chargebacks). */
export function sellerReserved(sellerId: string, currency: string): AccountSpec {
  return sellerAccount(sellerId, 'reserved', currency);
}

/** A payout on its way to the seller's bank: still ours to answer for until the bank confirms it. */
export function sellerInTransit(sellerId: string, currency: string): AccountSpec {
  return sellerAccount(sellerId, 'in_transit', currency);
}

/**
 * What a seller owes the platform (a refund or dispute larger than their balances, say): an asset, debited when a
 * claw-back exceeds the seller's pending, available and reserved money, and credited as the debt is recovered from
 * later sales or written off. Floor zero: the platform is never owed less than nothing.
 */
export function sellerReceivable(sellerId: string, currency: string): AccountSpec {
  return {
    code: `seller:${checkSellerId(sellerId)}:receivable:${currency}`,
    type: 'asset',
    currency,
    ownerId: sellerId,
    floorMinor: 0n,
  };
}

export function sellerAccount(sellerId: string, purpose: SellerAccount, currency: string): AccountSpec {
  return {
    code: `seller:${checkSellerId(sellerId)}:${purpose}:${currency}`,
    type: 'liability',
    currency,
    ownerId: sellerId,
    floorMinor: 0n,
  };
}

export function platformAccount(purpose: PlatformAccount, currency: string): AccountSpec {
  switch (purpose) {
    case 'psp_clearing':
      return pspClearing(currency);
    case 'platform_bank':
      return platformBank(currency);
    case 'fee_revenue':
      return feeRevenue(currency);
    case 'psp_fees':
      return pspFees(currency);
    case 'chargeback_losses':
      return chargebackLosses(currency);
    case 'suspense':
      return suspense(currency);
  }
}
