import type { ClawbackSplit } from '../ledger/index.ts';

export type RefundStatus = 'pending' | 'succeeded' | 'failed' | 'canceled';
export type RefundSource = 'api' | 'psp';

export const REFUND_STATUSES: readonly RefundStatus[] = ['pending', 'succeeded', 'failed', 'canceled'];

/** What was booked for a succeeded refund, so a reversal gives back exactly that. */
export interface RefundBooking {
  platformFeeBackMinor: bigint;
  split: ClawbackSplit;
}

export interface Refund {
  id: string;
  paymentOrderId: string;
  checkoutId: string;
  sellerAccount: string;
  amountMinor: bigint;
  currency: string;
  status: RefundStatus;
  source: RefundSource;
  reason: string | null;
  metadata: Record<string, string>;
  failureReason: string | null;
  pspPaymentId: string;
  pspRefundId: string | null;
  attempts: number;
  nextAttemptAt: Date | null;
  lastError: string | null;
  needsAttention: boolean;
  nextPollAt: Date | null;
  pollCount: number;
  ledgerEntryId: string | null;
  booking: RefundBooking | null;
  reversalEntryId: string | null;
  platformFeePolicy: 'keep' | 'proportional';
  pspFeePolicy: 'platform' | 'seller';
  pspFeeDue: boolean;
  pspFeeEntryId: string | null;
  /**
   * The PSP's conversion of the refund (or of its failure) is still to be booked: the answer that settled it did not
   * carry the balance transaction (docs/currencies.md "Refunds and disputes"); the FX follow-up asks for it.
   */
  fxDue: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface RefundStatusChange {
  at: Date;
  from: RefundStatus | null;
  to: RefundStatus;
  reason: string;
  details: Record<string, unknown>;
}

/** A payment order as refunds need it (read through pay-ins' public functions, wired in src/compose.ts). */
export interface RefundableOrder {
  paymentOrderId: string;
  checkoutId: string;
  position: number;
  sellerAccount: string;
  amountMinor: bigint;
  currency: string;
  /** The platform fee booked at success (null before). */
  feeMinor: bigint | null;
  status: string;
  pspPaymentId: string | null;
  /** When the seller was paid in another currency: theirs and the order's rate (docs/currencies.md "Refunds"). */
  conversion?: { settlementCurrency: string; rate: string } | undefined;
}
