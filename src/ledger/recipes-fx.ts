import { AppError } from '../errors.ts';
import { divideRounded } from '../money/index.ts';
import { feeRevenue, pspClearing, sellerPending } from './chart.ts';
import type { ClawbackSplit } from './clawback.ts';
import { refundBooked, refundReversed } from './recipes-refund.ts';
import type { AccountSpec, EntryInput, PostingInput } from './types.ts';

/**
 * The FX recipes (docs/currencies.md "Ledger"). A conversion is never a posting from one currency to another:
 * each currency's side balances on its own through the FX position (trading) account of that currency, so
 * `ledger verify` still proves every entry balances per currency. Pure; references come from the business ids.
 */

export const FX_ENTRY_KINDS = {
  payinConverted: 'payin.succeeded',
  settled: 'fx.settled',
  settledOut: 'fx.settled_out',
  settlementDifference: 'fx.settlement_difference',
} as const;

/** The platform's position in a currency bought or sold by conversions (a trading account, no floor). */
export function fxPosition(currency: string): AccountSpec {
  return { code: `platform:fx_position:${currency}`, type: 'equity', currency };
}

/** The platform's markup on conversions (the mid value less what the seller was credited at the quote's rate). */
export function fxRevenue(currency: string): AccountSpec {
  return { code: `platform:fx_revenue:${currency}`, type: 'revenue', currency };
}

/** Realised FX gain (credit) or loss (debit): what the PSP settled at against the rate the seller was credited at. */
export function fxGainLoss(currency: string): AccountSpec {
  return { code: `platform:fx_gain_loss:${currency}`, type: 'revenue', currency };
}

function invalid(message: string, field: string): AppError {
  return new AppError('ledger_entry_invalid', message, { field });
}

function line(account: AccountSpec, direction: 'debit' | 'credit', amountMinor: bigint): PostingInput {
  return { account, direction, amountMinor };
}

export interface FxFacts {
  quoteId: string;
  rate: string;
  midRate: string;
  source: string;
  rateDate: string;
}

/**
 * A payment order charged in the buyer's currency P and credited to the seller in their currency S:
 *   P: Dr psp_clearing gross / Cr fx_position gross
 *   S: Dr fx_position midValue / Cr seller_pending settlement − fee / Cr fee_revenue fee
 *      / Cr fx_revenue midValue − settlement
 * `settlementMinor` is the gross at the quote's rate (mid less markup), `midValueMinor` at the mid rate.
 */
export function payinConverted(input: {
  paymentOrderId: string;
  sellerId: string;
  presentmentCurrency: string;
  grossMinor: bigint;
  settlementCurrency: string;
  settlementMinor: bigint;
  midValueMinor: bigint;
  platformFeeMinor: bigint;
  fx: FxFacts;
  effectiveAt?: Date;
  metadata?: Record<string, unknown>;
}): EntryInput {
  const { grossMinor: gross, settlementMinor: settled, midValueMinor: mid, platformFeeMinor: fee } = input;
  if (gross <= 0n) throw invalid('grossMinor must be positive', 'grossMinor');
  if (settled <= 0n) throw invalid('settlementMinor must be positive', 'settlementMinor');
  if (mid < settled) throw invalid('midValueMinor is below settlementMinor', 'midValueMinor');
  if (fee < 0n || fee > settled)
    throw invalid('platformFeeMinor must lie in 0..settlementMinor', 'platformFeeMinor');
  if (input.presentmentCurrency === input.settlementCurrency)
    throw invalid('a conversion needs two currencies', 'settlementCurrency');
  const p = input.presentmentCurrency;
  const s = input.settlementCurrency;
  return {
    reference: `payin:${input.paymentOrderId}:succeeded`,
    kind: FX_ENTRY_KINDS.payinConverted,
    description: `payment order ${input.paymentOrderId} succeeded: ${gross} ${p} captured, converted at ${input.fx.rate} to ${settled} ${s} for seller ${input.sellerId}, platform fee ${fee}`,
    ...(input.effectiveAt === undefined ? {} : { effectiveAt: input.effectiveAt }),
    postings: [
      line(pspClearing(p), 'debit', gross),
      line(fxPosition(p), 'credit', gross),
      line(fxPosition(s), 'debit', mid),
      line(sellerPending(input.sellerId, s), 'credit', settled - fee),
      line(feeRevenue(s), 'credit', fee),
      line(fxRevenue(s), 'credit', mid - settled),
    ].filter((posting) => posting.amountMinor > 0n),
    metadata: {
      paymentOrderId: input.paymentOrderId,
      sellerId: input.sellerId,
      fxQuoteId: input.fx.quoteId,
      fxRate: input.fx.rate,
      fxMidRate: input.fx.midRate,
      fxSource: input.fx.source,
      fxRateDate: input.fx.rateDate,
      ...input.metadata,
    },
  };
}

/**
 * The PSP converted a captured amount into the platform's settlement currency at its own rate (Stripe's
 * balance transaction `exchange_rate`). The presentment position is closed; the settlement position takes what
 * the PSP paid, less the realised FX result on the share whose sellers are paid in the settlement currency (what
 * the PSP paid for that share against the mid value the sellers' credits were booked at):
 *   P: Dr fx_position amount / Cr psp_clearing amount
 *   S: Dr psp_clearing settled / Cr fx_position settled − realised / Cr fx_gain_loss realised (a debit when < 0)
 */
export function fxSettled(input: {
  settlementId: string;
  presentmentCurrency: string;
  amountMinor: bigint;
  settlementCurrency: string;
  settledMinor: bigint;
  /** Gain (> 0) or loss (< 0) realised, in the settlement currency. */
  realisedMinor: bigint;
  exchangeRate: string;
  effectiveAt?: Date;
  metadata?: Record<string, unknown>;
}): EntryInput {
  const { amountMinor: amount, settledMinor: settled, realisedMinor: realised } = input;
  if (amount <= 0n || settled <= 0n) throw invalid('amounts of a settlement must be positive', 'amountMinor');
  if (settled - realised <= 0n)
    throw invalid('the realised result exceeds the settled amount', 'realisedMinor');
  if (input.presentmentCurrency === input.settlementCurrency)
    throw invalid('a conversion needs two currencies', 'settlementCurrency');
  const p = input.presentmentCurrency;
  const s = input.settlementCurrency;
  return {
    reference: `fx_settled:${input.settlementId}`,
    kind: FX_ENTRY_KINDS.settled,
    description: `PSP settled ${amount} ${p} as ${settled} ${s} at ${input.exchangeRate} (${input.settlementId}); FX ${realised >= 0n ? 'gain' : 'loss'} ${realised >= 0n ? realised : -realised}`,
    ...(input.effectiveAt === undefined ? {} : { effectiveAt: input.effectiveAt }),
    postings: [
      line(fxPosition(p), 'debit', amount),
      line(pspClearing(p), 'credit', amount),
      line(pspClearing(s), 'debit', settled),
      line(fxPosition(s), 'credit', settled - realised),
      realised >= 0n ? line(fxGainLoss(s), 'credit', realised) : line(fxGainLoss(s), 'debit', -realised),
    ].filter((posting) => posting.amountMinor > 0n),
    metadata: { settlementId: input.settlementId, exchangeRate: input.exchangeRate, ...input.metadata },
  };
}

/**
 * Reconciliation found that the PSP settled a converted charge for a different amount than the `fx_settled` entry
 * booked, within the tolerance (docs/currencies.md "Reconciliation"). PSP clearing in the settlement currency is
 * brought to what the PSP really settled; the difference is realised FX gain (the PSP paid more) or loss:
 *   S: Dr psp_clearing d / Cr fx_gain_loss d        (d > 0, gain)
 *   S: Dr fx_gain_loss −d / Cr psp_clearing −d      (d < 0, loss)
 * One currency, so it balances per currency. Reference `fx_difference:<balance transaction>`.
 */
export function fxSettlementDifference(input: {
  balanceTransactionId: string;
  presentmentCurrency: string;
  settlementCurrency: string;
  /** The PSP's settled amount less the booked one, in the settlement currency's minor units; never 0. */
  differenceMinor: bigint;
  effectiveAt?: Date;
  metadata?: Record<string, unknown>;
}): EntryInput {
  const d = input.differenceMinor;
  if (d === 0n) throw invalid('a settlement difference cannot be zero', 'differenceMinor');
  if (input.presentmentCurrency === input.settlementCurrency)
    throw invalid('a conversion needs two currencies', 'settlementCurrency');
  const s = input.settlementCurrency;
  const magnitude = d > 0n ? d : -d;
  return {
    reference: `fx_difference:${input.balanceTransactionId}`,
    kind: FX_ENTRY_KINDS.settlementDifference,
    description: `PSP settled ${input.balanceTransactionId} (${input.presentmentCurrency} → ${s}) ${d > 0n ? 'above' : 'below'} the booked amount by ${magnitude}: FX ${d > 0n ? 'gain' : 'loss'}`,
    ...(input.effectiveAt === undefined ? {} : { effectiveAt: input.effectiveAt }),
    postings:
      d > 0n
        ? [line(pspClearing(s), 'debit', d), line(fxGainLoss(s), 'credit', d)]
        : [line(fxGainLoss(s), 'debit', magnitude), line(pspClearing(s), 'credit', magnitude)],
    metadata: {
      settlementId: input.balanceTransactionId,
      presentmentCurrency: input.presentmentCurrency,
      settlementCurrency: s,
      ...input.metadata,
    },
  };
}

/**
 * The PSP converted money going back (a refund, a dispute's withdrawal) from the platform's settlement currency
 * into the buyer's, at its own rate: the mirror of `fxSettled`. The presentment side takes back from the FX
 * position what the refund or dispute entry put on PSP clearing; the settlement side pays what the PSP took, and
 * on the share whose sellers are credited in the settlement currency the difference to what their give-back was
 * booked at is realised FX gain (the PSP took less) or loss (> booked):
 *   P: Dr psp_clearing amount / Cr fx_position amount
 *   S: Dr fx_position settled + realised / Cr psp_clearing settled / Cr fx_gain_loss realised (a debit when < 0)
 * Reference `fx_settled:<balance transaction>`, like the charges' (a balance transaction is one or the other).
 */
export function fxSettledOut(input: {
  settlementId: string;
  presentmentCurrency: string;
  amountMinor: bigint;
  settlementCurrency: string;
  /** What the PSP took from the platform's balance, in the settlement currency (positive). */
  settledMinor: bigint;
  /** Gain (> 0: the PSP took less than booked) or loss (< 0), in the settlement currency. */
  realisedMinor: bigint;
  exchangeRate: string;
  effectiveAt?: Date;
  metadata?: Record<string, unknown>;
}): EntryInput {
  // fxSettled with the result's sign turned and every posting mirrored: one set of checks for both directions.
  const inward = fxSettled({ ...input, realisedMinor: -input.realisedMinor });
  const { amountMinor: amount, settledMinor: settled, realisedMinor: realised } = input;
  const p = input.presentmentCurrency;
  const s = input.settlementCurrency;
  return {
    ...inward,
    kind: FX_ENTRY_KINDS.settledOut,
    description: `PSP paid ${amount} ${p} back out of ${settled} ${s} at ${input.exchangeRate} (${input.settlementId}); FX ${realised >= 0n ? 'gain' : 'loss'} ${realised >= 0n ? realised : -realised}`,
    postings: inward.postings.map((posting) => ({
      ...posting,
      direction: posting.direction === 'debit' ? 'credit' : 'debit',
    })),
  };
}

/**
 * The realised FX result of one PSP conversion, on the share of it (`shareMinor` of `totalMinor`, presentment)
 * whose sellers are credited in the settlement currency, against `bookedMinor`, what their credits or give-backs
 * were booked at in that currency. The PSP's amount for the share is `settledMinor × share / total`, rounded
 * half-even. Money in (a charge, a reinstatement): a gain when the PSP paid more than booked; money out (a
 * refund, a withdrawal): a gain when it took less.
 */
export function realisedOnShare(input: {
  direction: 'in' | 'out';
  settledMinor: bigint;
  totalMinor: bigint;
  shareMinor: bigint;
  bookedMinor: bigint;
}): bigint {
  if (input.totalMinor <= 0n || input.shareMinor <= 0n) return 0n;
  const settledShare = divideRounded(input.settledMinor * input.shareMinor, input.totalMinor, 'half-even');
  return input.direction === 'in' ? settledShare - input.bookedMinor : input.bookedMinor - settledShare;
}

/** The conversion a single-currency recipe's entry is carried through (docs/currencies.md "Refunds"). */
interface Conversion {
  presentmentCurrency: string;
  /** What the buyer's side moves, in the presentment currency. */
  presentmentMinor: bigint;
  /** The currency the seller was credited in: the single-currency entry's. */
  sellerCurrency: string;
  rate: string;
}

/**
 * A single-currency entry (in the seller's currency) carried through the FX positions: what it moves on PSP
 * clearing in the seller's currency goes to that currency's FX position instead, and the presentment side moves
 * `presentmentMinor` between PSP clearing and the FX position of the presentment currency, in the direction the
 * seller's clearing moved. Each currency still balances on its own; the seller's side is the recipe's, unchanged.
 */
function throughFxPositions(entry: EntryInput, conversion: Conversion): EntryInput {
  const p = conversion.presentmentCurrency;
  const s = conversion.sellerCurrency;
  if (p === s) throw invalid('a conversion needs two currencies', 'settlementCurrency');
  if (conversion.presentmentMinor <= 0n)
    throw invalid('the presentment amount must be positive', 'amountMinor');
  const clearing = pspClearing(s).code;
  let net = 0n;
  const postings = entry.postings.map((posting) => {
    if (posting.account.code !== clearing) return posting;
    net += posting.direction === 'debit' ? posting.amountMinor : -posting.amountMinor;
    return { ...posting, account: fxPosition(s) };
  });
  if (net === 0n) throw invalid('the entry moves nothing on PSP clearing to convert', 'postings');
  const inward = net > 0n;
  return {
    ...entry,
    postings: [
      line(pspClearing(p), inward ? 'debit' : 'credit', conversion.presentmentMinor),
      line(fxPosition(p), inward ? 'credit' : 'debit', conversion.presentmentMinor),
      ...postings,
    ],
    metadata: {
      ...entry.metadata,
      presentmentCurrency: p,
      settlementCurrency: s,
      fxRate: conversion.rate,
    },
  };
}

interface ConvertedRefundFacts {
  refundId: string;
  pspRefundId: string;
  paymentOrderId: string;
  sellerId: string;
  presentmentCurrency: string;
  /** The refund, in the presentment currency. */
  amountMinor: bigint;
  /** The seller's currency (their credited one). */
  settlementCurrency: string;
  /** The refund at the order's rate, in the settlement currency. */
  settledMinor: bigint;
  platformFeeBackMinor: bigint;
  rate: string;
  metadata?: Record<string, unknown>;
}

function refundFacts(input: ConvertedRefundFacts) {
  if (input.amountMinor <= 0n || input.settledMinor <= 0n)
    throw invalid('refund amounts must be positive', 'amountMinor');
  return {
    refundId: input.refundId,
    pspRefundId: input.pspRefundId,
    paymentOrderId: input.paymentOrderId,
    sellerId: input.sellerId,
    currency: input.settlementCurrency,
    amountMinor: input.settledMinor,
    platformFeeBackMinor: input.platformFeeBackMinor,
    ...(input.metadata === undefined ? {} : { metadata: input.metadata }),
  };
}

function conversionOf(input: ConvertedRefundFacts): Conversion {
  return {
    presentmentCurrency: input.presentmentCurrency,
    presentmentMinor: input.amountMinor,
    sellerCurrency: input.settlementCurrency,
    rate: input.rate,
  };
}

/**
 * A refund of a converted order: the buyer gets the presentment amount back; the seller gives back their share at
 * the order's own rate, in their currency (docs/currencies.md "Refunds"). The platform keeps its FX markup. It is
 * `refundBooked` in the seller's currency carried through the FX positions:
 *   P: Dr fx_position amount / Cr psp_clearing amount
 *   S: Dr seller pending/available/reserved/receivable (the split) / Dr fee_revenue feeBack / Cr fx_position settled
 */
export function refundConverted(input: ConvertedRefundFacts & { split: ClawbackSplit }): EntryInput {
  const single = refundBooked({ ...refundFacts(input), split: input.split });
  return {
    ...throughFxPositions(single, conversionOf(input)),
    description: `refund ${input.refundId} of converted payment order ${input.paymentOrderId}: ${input.amountMinor} ${input.presentmentCurrency} to the buyer, ${input.settledMinor} ${input.settlementCurrency} from seller ${input.sellerId} at ${input.rate}`,
  };
}

/**
 * A refund of a converted order the PSP reported failed after it had succeeded: exactly what `refundConverted`
 * booked comes back, in the same currencies (`refundReversed` in the seller's currency, carried through the FX
 * positions): the seller's share first to what the seller still owes of it, the rest to available.
 *   P: Dr psp_clearing amount / Cr fx_position amount
 *   S: Dr fx_position settled / Cr seller receivable, available / Cr fee_revenue feeBack
 */
export function refundReversedConverted(
  input: ConvertedRefundFacts & { toReceivableMinor: bigint },
): EntryInput {
  const single = refundReversed({ ...refundFacts(input), toReceivableMinor: input.toReceivableMinor });
  return {
    ...throughFxPositions(single, conversionOf(input)),
    description: `refund ${input.refundId} of converted payment order ${input.paymentOrderId} failed after succeeding: ${input.amountMinor} ${input.presentmentCurrency} back at the PSP, ${input.settledMinor} ${input.settlementCurrency} back to seller ${input.sellerId}`,
  };
}
