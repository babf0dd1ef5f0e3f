import { AppError } from '../errors.ts';
import { feeRevenue, pspClearing, pspFees, sellerAvailable, sellerReceivable } from './chart.ts';
import { clawbackDebits, type ClawbackSplit } from './clawback.ts';
import type { EntryInput, PostingInput } from './types.ts';

/**
 * The refund recipes (docs/refunds.md, docs/ledger.md): a refund booked against the seller's share by the
 * claw-back split, its reversal when the PSP reports it failed after it had succeeded, and the PSP's processing
 * fee passed on to the seller. Pure; each reference comes from the refund's own id, so booking twice books once.
 */

export const REFUND_ENTRY_KINDS = {
  refund: 'refund',
  reversed: 'refund.reversed',
  pspFee: 'refund.psp_fee',
} as const;

interface RefundFacts {
  /** Ours (rf_…), kept in the metadata. */
  refundId: string;
  /**
   * The PSP's (re_…): the references are made of it, so reconciliation finds a settlement report's refund line
   * booked under `refund:<re_…>` whether the refund was made through Bursar or in the PSP's dashboard.
   */
  pspRefundId: string;
  paymentOrderId: string;
  sellerId: string;
  currency: string;
  effectiveAt?: Date;
  metadata?: Record<string, unknown>;
}

function invalid(message: string, field: string): AppError {
  return new AppError('ledger_entry_invalid', message, { field });
}

function splitTotal(split: ClawbackSplit): bigint {
  for (const part of [split.pending, split.available, split.reserved, split.receivable]) {
    if (part < 0n) throw invalid('a claw-back part is negative', 'split');
  }
  return split.pending + split.available + split.reserved + split.receivable;
}

function build(
  facts: RefundFacts,
  reference: string,
  kind: string,
  description: string,
  postings: PostingInput[],
): EntryInput {
  return {
    reference,
    kind,
    description,
    ...(facts.effectiveAt === undefined ? {} : { effectiveAt: facts.effectiveAt }),
    postings: postings.filter((posting) => posting.amountMinor > 0n),
    metadata: {
      refundId: facts.refundId,
      pspRefundId: facts.pspRefundId,
      paymentOrderId: facts.paymentOrderId,
      sellerId: facts.sellerId,
      ...facts.metadata,
    },
  };
}

/**
 * A refund to the buyer, paid by the PSP out of what it holds for us (`refund:<PSP refund id>`, kind `refund`):
 *   Dr seller pending/available/reserved/receivable (the split of amount − platformFeeBack)
 *   Dr fee_revenue platformFeeBack / Cr psp_clearing amount
 * The split comes from `splitClawback` over the seller's balances read under lock in the posting transaction.
 */
export function refundBooked(
  input: RefundFacts & { amountMinor: bigint; platformFeeBackMinor: bigint; split: ClawbackSplit },
): EntryInput {
  if (input.amountMinor <= 0n) throw invalid('amountMinor must be positive', 'amountMinor');
  const feeBack = input.platformFeeBackMinor;
  if (feeBack < 0n || feeBack > input.amountMinor)
    throw invalid('platformFeeBackMinor must lie in 0..amountMinor', 'platformFeeBackMinor');
  if (splitTotal(input.split) !== input.amountMinor - feeBack)
    throw invalid("the split must add up to the seller's share (amount − platform fee back)", 'split');
  return build(
    input,
    `refund:${input.pspRefundId}`,
    REFUND_ENTRY_KINDS.refund,
    `refund ${input.refundId} of payment order ${input.paymentOrderId} (seller ${input.sellerId})`,
    [
      ...clawbackDebits(input.sellerId, input.currency, input.split),
      { account: feeRevenue(input.currency), direction: 'debit', amountMinor: feeBack },
      { account: pspClearing(input.currency), direction: 'credit', amountMinor: input.amountMinor },
    ],
  );
}

/**
 * A refund the PSP reported failed after it had succeeded: the money is back at the PSP
 * (`refund:<PSP refund id>:reversed`, kind `refund.reversed`):
 *   Dr psp_clearing amount / Cr seller receivable (at most what the seller still owes of it)
 *   Cr seller available (the rest of the seller's share) / Cr fee_revenue platformFeeBack
 * The seller's share goes to available rather than back to pending: the hold it was taken from may be released.
 */
export function refundReversed(
  input: RefundFacts & {
    amountMinor: bigint;
    platformFeeBackMinor: bigint;
    toReceivableMinor: bigint;
  },
): EntryInput {
  const share = input.amountMinor - input.platformFeeBackMinor;
  if (input.amountMinor <= 0n || share < 0n || input.platformFeeBackMinor < 0n)
    throw invalid('amounts out of range', 'amountMinor');
  if (input.toReceivableMinor < 0n || input.toReceivableMinor > share)
    throw invalid('toReceivableMinor must lie in 0..share', 'toReceivableMinor');
  return build(
    input,
    `refund:${input.pspRefundId}:reversed`,
    REFUND_ENTRY_KINDS.reversed,
    `refund ${input.refundId} of payment order ${input.paymentOrderId} failed after succeeding: reversed`,
    [
      { account: pspClearing(input.currency), direction: 'debit', amountMinor: input.amountMinor },
      {
        account: sellerReceivable(input.sellerId, input.currency),
        direction: 'credit',
        amountMinor: input.toReceivableMinor,
      },
      {
        account: sellerAvailable(input.sellerId, input.currency),
        direction: 'credit',
        amountMinor: share - input.toReceivableMinor,
      },
      { account: feeRevenue(input.currency), direction: 'credit', amountMinor: input.platformFeeBackMinor },
    ],
  );
}

/**
 * The PSP's processing fee on the refunded part of a charge, passed to the seller (policy `psp_fee: seller`;
 * `refund_psp_fee:<PSP refund id>`, kind `refund.psp_fee`): Dr seller (claw-back split) / Cr psp_fees. The PSP keeps its fee
 * on a refund, so the platform's cost shrinks by what the seller now bears.
 */
export function refundPspFee(input: RefundFacts & { feeMinor: bigint; split: ClawbackSplit }): EntryInput {
  if (input.feeMinor <= 0n) throw invalid('feeMinor must be positive', 'feeMinor');
  if (splitTotal(input.split) !== input.feeMinor) throw invalid('the split must add up to the fee', 'split');
  return build(
    input,
    `refund_psp_fee:${input.pspRefundId}`,
    REFUND_ENTRY_KINDS.pspFee,
    `PSP fee on refund ${input.refundId} passed to seller ${input.sellerId}`,
    [
      ...clawbackDebits(input.sellerId, input.currency, input.split),
      { account: pspFees(input.currency), direction: 'credit', amountMinor: input.feeMinor },
    ],
  );
}

/**
 * The platform fee given back with a refund under the `proportional` policy, cumulative so that a full refund
 * in any number of parts gives back exactly the order's fee: fee × (booked + amount) / gross, rounded down, less
 * what earlier refunds gave back. `keep`: nothing.
 */
export function platformFeeBack(input: {
  policy: 'keep' | 'proportional';
  orderFeeMinor: bigint;
  grossMinor: bigint;
  bookedBeforeMinor: bigint;
  feeBackBeforeMinor: bigint;
  amountMinor: bigint;
}): bigint {
  if (input.policy === 'keep' || input.grossMinor <= 0n || input.orderFeeMinor <= 0n) return 0n;
  const cumulative = (input.orderFeeMinor * (input.bookedBeforeMinor + input.amountMinor)) / input.grossMinor;
  const back = cumulative - input.feeBackBeforeMinor;
  if (back < 0n) return 0n;
  return back > input.amountMinor ? input.amountMinor : back;
}

/** The PSP fee share of a refund: the charge's fee × refund / charge amount, rounded down. */
export function pspFeeShare(chargeFeeMinor: bigint, chargeAmountMinor: bigint, refundMinor: bigint): bigint {
  if (chargeFeeMinor <= 0n || chargeAmountMinor <= 0n || refundMinor <= 0n) return 0n;
  return (chargeFeeMinor * refundMinor) / chargeAmountMinor;
}
