import type { PoolClient } from '../db/pool.ts';

/** What a successful payment order books: the buyer's money at the PSP to the seller's pending balance, fee to revenue. */
export interface PayinSuccessPosting {
  paymentOrderId: string;
  checkoutId: string;
  sellerAccount: string;
  currency: string;
  grossMinor: bigint;
  feeMinor: bigint;
  pspPaymentId: string | null;
}

/** The ledger as pay-ins need it; posts in the caller's open transaction so the status change commits with it. */
export interface PayinLedger {
  postPayinSuccess(client: PoolClient, posting: PayinSuccessPosting): Promise<{ entryId: string }>;
}
