import { AppError } from '../errors.ts';
import { pspClearing, pspFees, sellerAccount, sellerReceivable } from './chart.ts';
import { clawbackDebits, type ClawbackSplit } from './clawback.ts';
import type { EntryInput, PostingInput } from './types.ts';

/**
 * The dispute (chargeback) recipes (docs/disputes.md, docs/ledger.md). Pure. A dispute books at most three
 * entries, each with a reference derived from the PSP's own ids, so a repeated or late PSP event books nothing new
 * and reconciliation finds each under the id its settlement report lists (the dispute `dp_…` as a line's source,
 * the withdrawal's balance transaction `txn_…` for its fee):
 *   withdrawn   `chargeback:<dp>`          / `chargeback`          Dr seller buckets (split) · Cr psp_clearing
 *   fee         `psp_fee:<withdrawal txn>` / `dispute.fee`         Dr seller buckets or psp_fees · Cr psp_clearing
 *   reinstated  `dispute_reinstated:<dp>`  / `dispute.reinstated`  Dr psp_clearing · Cr seller (receivable first) / psp_fees
 */
export const DISPUTE_ENTRY_KINDS = {
  chargeback: 'chargeback',
  disputeFee: 'dispute.fee',
  disputeReinstated: 'dispute.reinstated',
} as const;

/** One seller's part of a claw-back, as `splitClawback` divided it over the seller's balances. */
export interface SellerClawback {
  sellerId: string;
  split: ClawbackSplit;
}

/** What goes back to one seller: the receivable first (what the seller owes), then the balances. */
export interface SellerGiveBack {
  sellerId: string;
  toReceivable: bigint;
  toPending: bigint;
  toAvailable: bigint;
  toReserved: bigint;
}

interface DisputeCommon {
  disputeId: string;
  pspDisputeId: string;
  currency: string;
  effectiveAt?: Date;
}

function invalid(message: string, field: string): AppError {
  return new AppError('ledger_entry_invalid', message, { field });
}

function splitTotal(split: ClawbackSplit): bigint {
  return split.pending + split.available + split.reserved + split.receivable;
}

function checkNonNegative(values: bigint[], field: string): void {
  if (values.some((value) => typeof value !== 'bigint' || value < 0n))
    throw invalid(`${field}: parts must be zero or more, in minor units`, field);
}

function build(
  common: DisputeCommon,
  reference: string,
  kind: string,
  description: string,
  postings: PostingInput[],
): EntryInput {
  return {
    reference,
    kind,
    description,
    ...(common.effectiveAt === undefined ? {} : { effectiveAt: common.effectiveAt }),
    postings: postings.filter((posting) => posting.amountMinor > 0n),
    metadata: { disputeId: common.disputeId, pspDisputeId: common.pspDisputeId },
  };
}

function clawbackPostings(currency: string, parts: SellerClawback[], field: string): PostingInput[] {
  const postings: PostingInput[] = [];
  for (const part of parts) {
    const split = part.split;
    checkNonNegative([split.pending, split.available, split.reserved, split.receivable], field);
    postings.push(...clawbackDebits(part.sellerId, currency, split));
  }
  return postings;
}

/**
 * The PSP took the disputed amount from our balance: it comes out of the sellers' shares, pending → available →
 * reserved, and what their balances do not cover becomes a receivable (the seller owes it).
 *   Dr seller pending/available/reserved/receivable · Cr psp_clearing amount
 */
export function disputeWithdrawn(
  input: DisputeCommon & { amountMinor: bigint; parts: SellerClawback[] },
): EntryInput {
  if (typeof input.amountMinor !== 'bigint' || input.amountMinor <= 0n)
    throw invalid('amountMinor must be a positive amount in minor units', 'amountMinor');
  const covered = input.parts.reduce((sum, part) => sum + splitTotal(part.split), 0n);
  if (covered !== input.amountMinor)
    throw invalid(
      `the sellers' parts (${covered}) must add up to the amount (${input.amountMinor})`,
      'parts',
    );
  return build(
    input,
    `chargeback:${input.pspDisputeId}`,
    DISPUTE_ENTRY_KINDS.chargeback,
    `dispute ${input.pspDisputeId}: ${input.amountMinor} withdrawn by the PSP, taken from the sellers' shares`,
    [
      ...clawbackPostings(input.currency, input.parts, 'parts'),
      { account: pspClearing(input.currency), direction: 'credit', amountMinor: input.amountMinor },
    ],
  );
}

/**
 * The PSP's dispute fee, taken from our balance with the withdrawal. The dispute policy says who bears it: the
 * sellers (their parts, split over their balances like the amount) or the platform (the rest, as a PSP fee).
 *   Dr seller balances (sellers' parts) · Dr psp_fees (platform's part) · Cr psp_clearing fee
 */
export function disputeFeeCharged(
  input: DisputeCommon & {
    feeMinor: bigint;
    sellerParts: SellerClawback[];
    /** The PSP's balance transaction that charged the fee (the withdrawal's). */
    balanceTransactionId: string;
  },
): EntryInput {
  if (typeof input.feeMinor !== 'bigint' || input.feeMinor <= 0n)
    throw invalid('feeMinor must be a positive amount in minor units', 'feeMinor');
  const sellers = input.sellerParts.reduce((sum, part) => sum + splitTotal(part.split), 0n);
  if (sellers > input.feeMinor)
    throw invalid(`the sellers' parts (${sellers}) exceed the fee (${input.feeMinor})`, 'sellerParts');
  return build(
    input,
    `psp_fee:${input.balanceTransactionId}`,
    DISPUTE_ENTRY_KINDS.disputeFee,
    `dispute ${input.pspDisputeId}: PSP dispute fee ${input.feeMinor} (sellers bear ${sellers})`,
    [
      ...clawbackPostings(input.currency, input.sellerParts, 'sellerParts'),
      { account: pspFees(input.currency), direction: 'debit', amountMinor: input.feeMinor - sellers },
      { account: pspClearing(input.currency), direction: 'credit', amountMinor: input.feeMinor },
    ],
  );
}

/**
 * A won dispute: the PSP gave the amount back (and the fee, where it returns it). Each seller gets back what was
 * taken, first cancelling what the seller owes (receivable), then to the balances; a fee the platform bore goes
 * back to psp_fees.
 *   Dr psp_clearing amount + fee returned · Cr seller receivable/pending/available/reserved · Cr psp_fees
 */
export function disputeReinstated(
  input: DisputeCommon & { amountMinor: bigint; gives: SellerGiveBack[]; platformFeeBackMinor: bigint },
): EntryInput {
  if (typeof input.amountMinor !== 'bigint' || input.amountMinor <= 0n)
    throw invalid('amountMinor must be a positive amount in minor units', 'amountMinor');
  checkNonNegative([input.platformFeeBackMinor], 'platformFeeBackMinor');
  const postings: PostingInput[] = [];
  let given = input.platformFeeBackMinor;
  for (const give of input.gives) {
    const parts = [give.toReceivable, give.toPending, give.toAvailable, give.toReserved];
    checkNonNegative(parts, 'gives');
    given += parts.reduce((sum, part) => sum + part, 0n);
    const credit = (account: PostingInput['account'], amountMinor: bigint): PostingInput => ({
      account,
      direction: 'credit',
      amountMinor,
    });
    postings.push(
      credit(sellerReceivable(give.sellerId, input.currency), give.toReceivable),
      credit(sellerAccount(give.sellerId, 'pending', input.currency), give.toPending),
      credit(sellerAccount(give.sellerId, 'available', input.currency), give.toAvailable),
      credit(sellerAccount(give.sellerId, 'reserved', input.currency), give.toReserved),
    );
  }
  if (given !== input.amountMinor)
    throw invalid(`what goes back (${given}) must add up to the amount (${input.amountMinor})`, 'gives');
  return build(
    input,
    `dispute_reinstated:${input.pspDisputeId}`,
    DISPUTE_ENTRY_KINDS.disputeReinstated,
    `dispute ${input.pspDisputeId} won: ${input.amountMinor} reinstated by the PSP`,
    [
      { account: pspClearing(input.currency), direction: 'debit', amountMinor: input.amountMinor },
      ...postings,
      { account: pspFees(input.currency), direction: 'credit', amountMinor: input.platformFeeBackMinor },
    ],
  );
}
