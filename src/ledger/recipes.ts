import { AppError } from '../errors.ts';
import {
  chargebackLosses,
  feeRevenue,
  platformBank,
  pspClearing,
  pspFees,
  sellerAccount,
  sellerAvailable,
  sellerInTransit,
  sellerPending,
  sellerReserved,
  suspense,
} from './chart.ts';
import type { AccountSpec, EntryInput, PostingInput } from './types.ts';

/**
 * The posting recipe for each business event (docs/ledger.md is the reader's version). Pure: each function turns
 * the facts of an event into an EntryInput with a stable idempotency reference derived from the event's own id,
 * so booking the same event twice returns the first entry.
 */

/** Kinds of entry, as they appear in the journal. */
export const ENTRY_KINDS = {
  payinSucceeded: 'payin.succeeded',
  pspFee: 'psp.fee',
  holdReleased: 'hold.released',
  reserveHeld: 'reserve.held',
  reserveReleased: 'reserve.released',
  payoutStarted: 'payout.started',
  payoutPaid: 'payout.paid',
  payoutReturned: 'payout.returned',
  payoutReturnedAfterPaid: 'payout.returned_after_paid',
  pspPayout: 'psp.payout',
  refund: 'refund',
  chargeback: 'chargeback',
  suspenseIn: 'suspense.in',
  reversal: 'ledger.reversal',
} as const;

interface Common {
  currency: string;
  /** When the event happened; the ledger records the writing time separately. */
  effectiveAt?: Date;
  metadata?: Record<string, unknown>;
}

function positive(value: bigint, field: string): bigint {
  if (typeof value !== 'bigint' || value <= 0n) {
    throw new AppError('ledger_entry_invalid', `${field} must be a positive amount in minor units`, {
      field,
    });
  }
  return value;
}

function nonNegative(value: bigint, field: string): bigint {
  if (typeof value !== 'bigint' || value < 0n) {
    throw new AppError('ledger_entry_invalid', `${field} must be zero or more, in minor units`, { field });
  }
  return value;
}

function debit(account: AccountSpec, amountMinor: bigint): PostingInput {
  return { account, direction: 'debit', amountMinor };
}

function credit(account: AccountSpec, amountMinor: bigint): PostingInput {
  return { account, direction: 'credit', amountMinor };
}

function entry(
  common: Common,
  reference: string,
  kind: string,
  description: string,
  postings: PostingInput[],
  metadata: Record<string, unknown>,
): EntryInput {
  return {
    reference,
    kind,
    description,
    ...(common.effectiveAt === undefined ? {} : { effectiveAt: common.effectiveAt }),
    // Zero-amount lines are left out: a fee of zero is no movement.
    postings: postings.filter((p) => p.amountMinor > 0n),
    metadata: { ...metadata, ...common.metadata },
  };
}

/**
 * A payment order succeeded: the PSP now holds the gross amount for us; the seller is owed it minus the platform
 * fee (on hold until released); the fee is platform revenue.
 *   Dr psp_clearing gross / Cr seller_pending gross − fee / Cr fee_revenue fee
 */
export function payinSucceeded(
  input: Common & { paymentOrderId: string; sellerId: string; grossMinor: bigint; platformFeeMinor: bigint },
): EntryInput {
  const gross = positive(input.grossMinor, 'grossMinor');
  const fee = nonNegative(input.platformFeeMinor, 'platformFeeMinor');
  if (fee > gross)
    throw new AppError('ledger_entry_invalid', 'platformFeeMinor exceeds grossMinor', {
      field: 'platformFeeMinor',
    });
  return entry(
    input,
    `payin:${input.paymentOrderId}:succeeded`,
    ENTRY_KINDS.payinSucceeded,
    `payment order ${input.paymentOrderId} succeeded: ${gross} captured for seller ${input.sellerId}, platform fee ${fee}`,
    [
      debit(pspClearing(input.currency), gross),
      credit(sellerPending(input.sellerId, input.currency), gross - fee),
      credit(feeRevenue(input.currency), fee),
    ],
    { paymentOrderId: input.paymentOrderId, sellerId: input.sellerId },
  );
}

/**
 * The PSP charged us a fee (per transaction, per payout, per chargeback), deducted from what it holds for us.
 *   Dr psp_fees / Cr psp_clearing
 */
export function pspFeeCharged(
  input: Common & { feeId: string; feeMinor: bigint; reason: string },
): EntryInput {
  const fee = positive(input.feeMinor, 'feeMinor');
  return entry(
    input,
    `psp_fee:${input.feeId}`,
    ENTRY_KINDS.pspFee,
    `PSP fee ${input.feeId}: ${input.reason}`,
    [debit(pspFees(input.currency), fee), credit(pspClearing(input.currency), fee)],
    { feeId: input.feeId },
  );
}

/**
 * The hold on a seller's money ended (e.g. the delivery window passed): pending becomes payable.
 *   Dr seller_pending / Cr seller_available
 */
export function holdReleased(
  input: Common & { releaseId: string; sellerId: string; amountMinor: bigint },
): EntryInput {
  const amount = positive(input.amountMinor, 'amountMinor');
  return entry(
    input,
    `hold_release:${input.releaseId}`,
    ENTRY_KINDS.holdReleased,
    `hold ${input.releaseId} released for seller ${input.sellerId}`,
    [
      debit(sellerPending(input.sellerId, input.currency), amount),
      credit(sellerAvailable(input.sellerId, input.currency), amount),
    ],
    { releaseId: input.releaseId, sellerId: input.sellerId },
  );
}

/** Part of a seller's available money is held back as a reserve. Dr seller_available / Cr seller_reserved */
export function reserveHeld(
  input: Common & { reserveId: string; sellerId: string; amountMinor: bigint },
): EntryInput {
  const amount = positive(input.amountMinor, 'amountMinor');
  return entry(
    input,
    `reserve_hold:${input.reserveId}`,
    ENTRY_KINDS.reserveHeld,
    `reserve ${input.reserveId} held for seller ${input.sellerId}`,
    [
      debit(sellerAvailable(input.sellerId, input.currency), amount),
      credit(sellerReserved(input.sellerId, input.currency), amount),
    ],
    { reserveId: input.reserveId, sellerId: input.sellerId },
  );
}

/** A reserve is given back to the seller. Dr seller_reserved / Cr seller_available */
export function reserveReleased(
  input: Common & { reserveId: string; sellerId: string; amountMinor: bigint },
): EntryInput {
  const amount = positive(input.amountMinor, 'amountMinor');
  return entry(
    input,
    `reserve_release:${input.reserveId}`,
    ENTRY_KINDS.reserveReleased,
    `reserve ${input.reserveId} released for seller ${input.sellerId}`,
    [
      debit(sellerReserved(input.sellerId, input.currency), amount),
      credit(sellerAvailable(input.sellerId, input.currency), amount),
    ],
    { reserveId: input.reserveId, sellerId: input.sellerId },
  );
}

/** A payout was created and handed to the provider. Dr seller_available / Cr seller_in_transit */
export function payoutStarted(
  input: Common & { payoutId: string; sellerId: string; amountMinor: bigint },
): EntryInput {
  const amount = positive(input.amountMinor, 'amountMinor');
  return entry(
    input,
    `payout:${input.payoutId}:started`,
    ENTRY_KINDS.payoutStarted,
    `payout ${input.payoutId} to seller ${input.sellerId} started`,
    [
      debit(sellerAvailable(input.sellerId, input.currency), amount),
      credit(sellerInTransit(input.sellerId, input.currency), amount),
    ],
    { payoutId: input.payoutId, sellerId: input.sellerId },
  );
}

/** The bank confirmed the payout left our account. Dr seller_in_transit / Cr platform_bank */
export function payoutPaid(
  input: Common & { payoutId: string; sellerId: string; amountMinor: bigint },
): EntryInput {
  const amount = positive(input.amountMinor, 'amountMinor');
  return entry(
    input,
    `payout:${input.payoutId}:paid`,
    ENTRY_KINDS.payoutPaid,
    `payout ${input.payoutId} to seller ${input.sellerId} paid`,
    [
      debit(sellerInTransit(input.sellerId, input.currency), amount),
      credit(platformBank(input.currency), amount),
    ],
    { payoutId: input.payoutId, sellerId: input.sellerId },
  );
}

/**
 * A payout came back (closed account, wrong IBAN). Before it was confirmed paid, the money never left:
 *   Dr seller_in_transit / Cr seller_available.
 * After it was confirmed paid, the money left and came back to our bank:
 *   Dr platform_bank / Cr seller_available.
 */
export function payoutReturned(
  input: Common & {
    payoutId: string;
    sellerId: string;
    amountMinor: bigint;
    wasPaid: boolean;
    reason: string;
  },
): EntryInput {
  const amount = positive(input.amountMinor, 'amountMinor');
  const from = input.wasPaid ? platformBank(input.currency) : sellerInTransit(input.sellerId, input.currency);
  return entry(
    input,
    `payout:${input.payoutId}:returned`,
    input.wasPaid ? ENTRY_KINDS.payoutReturnedAfterPaid : ENTRY_KINDS.payoutReturned,
    `payout ${input.payoutId} to seller ${input.sellerId} returned: ${input.reason}`,
    [debit(from, amount), credit(sellerAvailable(input.sellerId, input.currency), amount)],
    { payoutId: input.payoutId, sellerId: input.sellerId, wasPaid: input.wasPaid },
  );
}

/** The PSP paid what it held for us into our bank account. Dr platform_bank / Cr psp_clearing */
export function pspPayout(input: Common & { pspPayoutId: string; amountMinor: bigint }): EntryInput {
  const amount = positive(input.amountMinor, 'amountMinor');
  return entry(
    input,
    `psp_payout:${input.pspPayoutId}`,
    ENTRY_KINDS.pspPayout,
    `PSP payout ${input.pspPayoutId} received in the platform bank account`,
    [debit(platformBank(input.currency), amount), credit(pspClearing(input.currency), amount)],
    { pspPayoutId: input.pspPayoutId },
  );
}

/**
 * A refund to the buyer, paid by the PSP out of what it holds for us.
 *   Dr seller_<from> (amount − platformFeeRefunded) / Dr fee_revenue platformFeeRefunded / Cr psp_clearing amount
 * Fee policy: by default the platform keeps its commission and the seller bears the whole refund
 * (platformFeeRefundedMinor = 0). A marketplace that returns its commission on refunds passes the part it gives
 * back. The PSP's own processing fee is not returned by PSPs, so it stays in psp_fees.
 */
export function refund(
  input: Common & {
    refundId: string;
    paymentOrderId: string;
    sellerId: string;
    amountMinor: bigint;
    /** Which seller balance pays: pending while the sale is still on hold, else available. */
    from: 'pending' | 'available' | 'reserved';
    platformFeeRefundedMinor?: bigint;
  },
): EntryInput {
  const amount = positive(input.amountMinor, 'amountMinor');
  const feeBack = nonNegative(input.platformFeeRefundedMinor ?? 0n, 'platformFeeRefundedMinor');
  if (feeBack > amount) {
    throw new AppError('ledger_entry_invalid', 'platformFeeRefundedMinor exceeds amountMinor', {
      field: 'platformFeeRefundedMinor',
    });
  }
  return entry(
    input,
    `refund:${input.refundId}`,
    ENTRY_KINDS.refund,
    `refund ${input.refundId} of payment order ${input.paymentOrderId} (seller ${input.sellerId})`,
    [
      debit(sellerAccount(input.sellerId, input.from, input.currency), amount - feeBack),
      debit(feeRevenue(input.currency), feeBack),
      credit(pspClearing(input.currency), amount),
    ],
    { refundId: input.refundId, paymentOrderId: input.paymentOrderId, sellerId: input.sellerId },
  );
}

/**
 * A chargeback: the PSP took the amount back from what it holds for us. The seller covers what their balance
 * allows (`sellerCoversMinor`, decided by the caller against the seller's floor-zero balance); the platform
 * absorbs the rest as a loss.
 *   Dr seller_<from> sellerCovers / Dr chargeback_losses (amount − sellerCovers) / Cr psp_clearing amount
 * The PSP's chargeback fee is a separate pspFeeCharged entry.
 */
export function chargeback(
  input: Common & {
    chargebackId: string;
    paymentOrderId: string;
    sellerId: string;
    amountMinor: bigint;
    sellerCoversMinor: bigint;
    from: 'pending' | 'available' | 'reserved';
  },
): EntryInput {
  const amount = positive(input.amountMinor, 'amountMinor');
  const covered = nonNegative(input.sellerCoversMinor, 'sellerCoversMinor');
  if (covered > amount) {
    throw new AppError('ledger_entry_invalid', 'sellerCoversMinor exceeds amountMinor', {
      field: 'sellerCoversMinor',
    });
  }
  return entry(
    input,
    `chargeback:${input.chargebackId}`,
    ENTRY_KINDS.chargeback,
    `chargeback ${input.chargebackId} on payment order ${input.paymentOrderId} (seller ${input.sellerId} covers ${covered})`,
    [
      debit(sellerAccount(input.sellerId, input.from, input.currency), covered),
      debit(chargebackLosses(input.currency), amount - covered),
      credit(pspClearing(input.currency), amount),
    ],
    { chargebackId: input.chargebackId, paymentOrderId: input.paymentOrderId, sellerId: input.sellerId },
  );
}

/**
 * Money that reconciliation cannot attribute yet: it arrived in the PSP balance or the bank, and is parked as a
 * liability until a later entry moves it where it belongs.  Dr psp_clearing or platform_bank / Cr suspense
 */
export function suspenseReceived(
  input: Common & {
    suspenseId: string;
    amountMinor: bigint;
    at: 'psp_clearing' | 'platform_bank';
    reason: string;
  },
): EntryInput {
  const amount = positive(input.amountMinor, 'amountMinor');
  const into = input.at === 'psp_clearing' ? pspClearing(input.currency) : platformBank(input.currency);
  return entry(
    input,
    `suspense:${input.suspenseId}`,
    ENTRY_KINDS.suspenseIn,
    `unmatched money ${input.suspenseId}: ${input.reason}`,
    [debit(into, amount), credit(suspense(input.currency), amount)],
    { suspenseId: input.suspenseId },
  );
}
