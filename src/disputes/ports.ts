import type { Queryable } from '../db/pool.ts';
import type { FeeBearer } from './domain.ts';

/** A payment order of ours, as the disputes module needs it (from the pay-ins module, wired in src/compose.ts). */
export interface PaidOrder {
  paymentOrderId: string;
  sellerAccount: string;
  amountMinor: bigint;
  currency: string;
  status: string;
  /** Set when the seller was credited in another currency: theirs and the order's rate (docs/currencies.md). */
  conversion?: { settlementCurrency: string; rate: string } | undefined;
}

/** What disputes need of other modules, defined here and implemented by them (src/compose.ts). */
export interface DisputesPorts {
  /** The payment orders the PSP payment (pi_…) paid: one for a saved-method order, several for a hosted checkout. */
  ordersOfPayment(db: Queryable, pspPaymentId: string): Promise<PaidOrder[]>;
  /** Who bears the PSP's dispute fee by the seller's own dispute policy; undefined: the platform's default applies. */
  sellerFeeBearer(db: Queryable, sellerAccount: string): Promise<FeeBearer | undefined>;
}
