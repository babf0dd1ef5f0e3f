import { AppError } from '../errors.ts';
import { feeRevenue, pspClearing, sellerPending } from './chart.ts';
import { clawbackDebits, type ClawbackSplit } from './clawback.ts';
import type { AccountSpec, EntryInput, PostingInput } from './types.ts';

/**
 * The FX recipes (docs/currencies.md "Ledger"). A conversion is never a posting from one currency to another:
 * each currency's side balances on its own through the FX position (trading) account of that currency, so
 * `ledger verify` still proves every entry balances per currency. Pure; references come from the business ids.
 */

export const FX_ENTRY_KINDS = {
  payinConverted: 'payin.succeeded',
  settled: 'fx.settled',
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
 * A refund of a converted order: the buyer gets the presentment amount back; the seller gives back their share at
 * the order's own rate, in their currency (docs/currencies.md "Refunds"). The platform keeps its FX markup.
 *   P: Dr fx_position amount / Cr psp_clearing amount
 *   S: Dr seller pending/available/reserved/receivable (the split) / Dr fee_revenue feeBack / Cr fx_position settled
 */
export function refundConverted(input: {
  refundId: string;
  pspRefundId: string;
  paymentOrderId: string;
  sellerId: string;
  presentmentCurrency: string;
  amountMinor: bigint;
  settlementCurrency: string;
  /** The refund at the order's rate, in the settlement currency. */
  settledMinor: bigint;
  platformFeeBackMinor: bigint;
  split: ClawbackSplit;
  rate: string;
  metadata?: Record<string, unknown>;
}): EntryInput {
  const { amountMinor: amount, settledMinor: settled, platformFeeBackMinor: feeBack, split } = input;
  if (amount <= 0n || settled <= 0n) throw invalid('refund amounts must be positive', 'amountMinor');
  if (feeBack < 0n || feeBack > settled)
    throw invalid('platformFeeBackMinor must lie in 0..settledMinor', 'platformFeeBackMinor');
  const parts = [split.pending, split.available, split.reserved, split.receivable];
  if (parts.some((part) => part < 0n) || parts.reduce((a, b) => a + b, 0n) !== settled - feeBack)
    throw invalid("the split must add up to the seller's share (settled − platform fee back)", 'split');
  const p = input.presentmentCurrency;
  const s = input.settlementCurrency;
  return {
    reference: `refund:${input.pspRefundId}`,
    kind: 'refund',
    description: `refund ${input.refundId} of converted payment order ${input.paymentOrderId}: ${amount} ${p} to the buyer, ${settled} ${s} from seller ${input.sellerId} at ${input.rate}`,
    postings: [
      line(fxPosition(p), 'debit', amount),
      line(pspClearing(p), 'credit', amount),
      ...clawbackDebits(input.sellerId, s, split),
      line(feeRevenue(s), 'debit', feeBack),
      line(fxPosition(s), 'credit', settled),
    ].filter((posting) => posting.amountMinor > 0n),
    metadata: {
      refundId: input.refundId,
      pspRefundId: input.pspRefundId,
      paymentOrderId: input.paymentOrderId,
      sellerId: input.sellerId,
      fxRate: input.rate,
      ...input.metadata,
    },
  };
}
