import { AppError } from '../errors.ts';
import { pspClearing, pspFees, sellerAccount, sellerReceivable } from './chart.ts';
import { clawbackDebits, type ClawbackSplit } from './clawback.ts';
import { fxPosition } from './recipes-fx.ts';
import type { AccountSpec, EntryInput, PostingInput } from './types.ts';

/**
 * The dispute (chargeback) recipes (docs/disputes.md, docs/ledger.md). Pure. A dispute books at most three
 * entries, each with a reference derived from the PSP's own ids, so a repeated or late PSP event books nothing new
 * and reconciliation finds each under the id its settlement report lists (the dispute `dp_…` as a line's source,
 * the withdrawal's balance transaction `txn_…` for its fee):
 *   withdrawn   `chargeback:<dp>`          / `chargeback`          Dr seller buckets (split) · Cr psp_clearing
 *   fee         `psp_fee:<withdrawal txn>` / `dispute.fee`         Dr seller buckets or psp_fees · Cr psp_clearing
 *   reinstated  `dispute_reinstated:<dp>`  / `dispute.reinstated`  Dr psp_clearing · Cr seller (receivable first) / psp_fees
 * An order credited to its seller in another currency than the dispute's (converted, docs/currencies.md) comes
 * back at its own rate, in the seller's currency, through the FX positions; the fee is in the PSP's currency.
 */
export const DISPUTE_ENTRY_KINDS = {
  chargeback: 'chargeback',
  disputeFee: 'dispute.fee',
  disputeReinstated: 'dispute.reinstated',
} as const;

/**
 * A part of a dispute on an order whose seller was credited in another currency (`currency`) at the order's rate:
 * the part's split (or give-back) is in that currency and stands for `presentmentMinor` of the dispute's.
 */
export interface ConvertedPart {
  currency: string;
  presentmentMinor: bigint;
}

/** One seller's part of a claw-back, as `splitClawback` divided it over the seller's balances. */
export interface SellerClawback {
  sellerId: string;
  split: ClawbackSplit;
  /** Set when the order was converted: the split is in the seller's currency. */
  converted?: ConvertedPart | undefined;
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
  metadata: Record<string, unknown> = {},
): EntryInput {
  return {
    reference,
    kind,
    description,
    ...(common.effectiveAt === undefined ? {} : { effectiveAt: common.effectiveAt }),
    postings: postings.filter((posting) => posting.amountMinor > 0n),
    metadata: { disputeId: common.disputeId, pspDisputeId: common.pspDisputeId, ...metadata },
  };
}

/**
 * Postings to one account in one direction made one: the converted parts of several sellers meet on the FX
 * positions. (Unconverted entries keep their postings as they always were, so a replay matches its first booking.)
 */
function merged(postings: PostingInput[]): PostingInput[] {
  const out: PostingInput[] = [];
  const at = new Map<string, number>();
  for (const posting of postings) {
    const key = `${posting.account.code}|${posting.direction}`;
    const index = at.get(key);
    const found = index === undefined ? undefined : out[index];
    if (index === undefined || found === undefined) {
      at.set(key, out.length);
      out.push(posting);
    } else out[index] = { ...found, amountMinor: found.amountMinor + posting.amountMinor };
  }
  return out;
}

function checkConverted(currency: string, converted: ConvertedPart | undefined, field: string): void {
  if (converted === undefined) return;
  checkNonNegative([converted.presentmentMinor], field);
  if (converted.currency === currency)
    throw invalid(`${field}: a converted part needs another currency than the dispute's`, field);
}

function clawbackPostings(currency: string, parts: SellerClawback[], field: string): PostingInput[] {
  const postings: PostingInput[] = [];
  for (const part of parts) {
    const split = part.split;
    checkNonNegative([split.pending, split.available, split.reserved, split.receivable], field);
    checkConverted(currency, part.converted, field);
    postings.push(...clawbackDebits(part.sellerId, part.converted?.currency ?? currency, split));
  }
  return postings;
}

/** What a part stands for in the dispute's currency: its split, or the presentment amount it was converted from. */
function presentmentOf(part: SellerClawback): bigint {
  return part.converted?.presentmentMinor ?? splitTotal(part.split);
}

/**
 * The FX position legs of the converted parts: the dispute's currency P and each seller's currency S balance on
 * their own through `platform:fx_position:<CUR>`, as a converted refund's do (`refundConverted`).
 */
function fxLegs(
  currency: string,
  converted: Array<{ part: ConvertedPart; sellerMinor: bigint }>,
  out: boolean,
): PostingInput[] {
  const legs: PostingInput[] = [];
  for (const { part, sellerMinor } of converted) {
    legs.push(
      {
        account: fxPosition(currency),
        direction: out ? 'debit' : 'credit',
        amountMinor: part.presentmentMinor,
      },
      { account: fxPosition(part.currency), direction: out ? 'credit' : 'debit', amountMinor: sellerMinor },
    );
  }
  return legs;
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
  const covered = input.parts.reduce((sum, part) => sum + presentmentOf(part), 0n);
  if (covered !== input.amountMinor)
    throw invalid(
      `the sellers' parts (${covered}) must add up to the amount (${input.amountMinor})`,
      'parts',
    );
  const converted = input.parts.flatMap((part) =>
    part.converted === undefined ? [] : [{ part: part.converted, sellerMinor: splitTotal(part.split) }],
  );
  return build(
    input,
    `chargeback:${input.pspDisputeId}`,
    DISPUTE_ENTRY_KINDS.chargeback,
    `dispute ${input.pspDisputeId}: ${input.amountMinor} withdrawn by the PSP, taken from the sellers' shares`,
    converted.length === 0
      ? [
          ...clawbackPostings(input.currency, input.parts, 'parts'),
          { account: pspClearing(input.currency), direction: 'credit', amountMinor: input.amountMinor },
        ]
      : merged([
          ...clawbackPostings(input.currency, input.parts, 'parts'),
          { account: pspClearing(input.currency), direction: 'credit', amountMinor: input.amountMinor },
          ...fxLegs(input.currency, converted, true),
        ]),
    converted.length === 0 ? {} : { presentmentCurrency: input.currency },
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

/** What goes back to one seller of a dispute that was converted or whose fee is in another currency. */
export interface SellerGiveBackConverted extends SellerGiveBack {
  /** Set when the order was converted: the give-back is in the seller's currency. */
  converted?: ConvertedPart | undefined;
  /** The part of the give-back that is the seller's dispute fee returned, in the fee's currency (the give's). */
  feeBackMinor: bigint;
}

function giveCredits(sellerId: string, currency: string, give: SellerGiveBack): PostingInput[] {
  const credit = (account: AccountSpec, amountMinor: bigint): PostingInput => ({
    account,
    direction: 'credit',
    amountMinor,
  });
  return [
    credit(sellerReceivable(sellerId, currency), give.toReceivable),
    credit(sellerAccount(sellerId, 'pending', currency), give.toPending),
    credit(sellerAccount(sellerId, 'available', currency), give.toAvailable),
    credit(sellerAccount(sellerId, 'reserved', currency), give.toReserved),
  ];
}

/**
 * A won dispute whose orders were converted, or whose fee the PSP charged in another currency than the dispute's
 * (its settlement currency): the amount comes back in the dispute's currency P, each converted seller's part in
 * their currency S at the order's rate through the FX positions (exactly what `disputeWithdrawn` took), and the
 * fee returned in its own currency F to who bore it.
 *   P: Dr psp_clearing amount · Cr seller (unconverted parts) · Cr fx_position (converted parts' amounts)
 *   S: Dr fx_position (the sellers' parts) · Cr seller receivable/pending/available/reserved
 *   F: Dr psp_clearing fee returned · Cr seller (their fee back) · Cr psp_fees (the platform's)
 */
export function disputeReinstatedConverted(
  input: DisputeCommon & {
    amountMinor: bigint;
    gives: SellerGiveBackConverted[];
    fee: { currency: string; returnedMinor: bigint; platformFeeBackMinor: bigint };
  },
): EntryInput {
  if (typeof input.amountMinor !== 'bigint' || input.amountMinor <= 0n)
    throw invalid('amountMinor must be a positive amount in minor units', 'amountMinor');
  checkNonNegative([input.fee.returnedMinor, input.fee.platformFeeBackMinor], 'fee');
  const postings: PostingInput[] = [];
  const converted: Array<{ part: ConvertedPart; sellerMinor: bigint }> = [];
  let amount = 0n;
  let feeBack = input.fee.platformFeeBackMinor;
  for (const give of input.gives) {
    const parts = [give.toReceivable, give.toPending, give.toAvailable, give.toReserved, give.feeBackMinor];
    checkNonNegative(parts, 'gives');
    checkConverted(input.currency, give.converted, 'gives');
    const currency = give.converted?.currency ?? input.currency;
    if (give.feeBackMinor > 0n && currency !== input.fee.currency)
      throw invalid("a seller's fee back must be in the fee's currency", 'gives');
    const total = give.toReceivable + give.toPending + give.toAvailable + give.toReserved;
    if (give.feeBackMinor > total) throw invalid('a fee back exceeds its give-back', 'gives');
    feeBack += give.feeBackMinor;
    if (give.converted === undefined) amount += total - give.feeBackMinor;
    else {
      amount += give.converted.presentmentMinor;
      converted.push({ part: give.converted, sellerMinor: total - give.feeBackMinor });
    }
    postings.push(...giveCredits(give.sellerId, currency, give));
  }
  if (amount !== input.amountMinor)
    throw invalid(`what goes back (${amount}) must add up to the amount (${input.amountMinor})`, 'gives');
  if (feeBack !== input.fee.returnedMinor)
    throw invalid(`the fee given back (${feeBack}) must add up to the fee returned`, 'fee');
  return build(
    input,
    `dispute_reinstated:${input.pspDisputeId}`,
    DISPUTE_ENTRY_KINDS.disputeReinstated,
    `dispute ${input.pspDisputeId} won: ${input.amountMinor} ${input.currency} reinstated by the PSP, fee ${input.fee.returnedMinor} ${input.fee.currency} returned`,
    merged([
      { account: pspClearing(input.currency), direction: 'debit', amountMinor: input.amountMinor },
      ...postings,
      ...fxLegs(input.currency, converted, false),
      { account: pspClearing(input.fee.currency), direction: 'debit', amountMinor: input.fee.returnedMinor },
      {
        account: pspFees(input.fee.currency),
        direction: 'credit',
        amountMinor: input.fee.platformFeeBackMinor,
      },
    ]),
    { presentmentCurrency: input.currency, feeCurrency: input.fee.currency },
  );
}
