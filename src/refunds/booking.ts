import type { PoolClient } from '../db/pool.ts';
import {
  getBalances,
  platformFeeBack,
  postEntry,
  refundBooked,
  refundConverted,
  refundReversed,
  refundReversedConverted,
  reverseEntry,
  sellerAccount,
  sellerReceivable,
  splitClawback,
  type ClawbackSplit,
  type EntryInput,
} from '../ledger/index.ts';
import { convertMinor, parseRate, type Rate } from '../fx/index.ts';
import type { RefundsRuntime } from './runtime.ts';
import { adjustRefundable, bookingToJson, lockRefundable, updateRefund } from './store.ts';
import type { Refund, RefundBooking, RefundableOrder } from './types.ts';

function rateOf(text: string): Rate {
  const rate = parseRate(text);
  if (!rate) throw new Error(`unreadable FX rate "${text}" on a converted order`);
  return rate;
}

/** The seller's claw-back buckets, read in the posting transaction. */
async function sellerBuckets(client: PoolClient, sellerId: string, currency: string) {
  const codes = {
    pending: sellerAccount(sellerId, 'pending', currency).code,
    available: sellerAccount(sellerId, 'available', currency).code,
    reserved: sellerAccount(sellerId, 'reserved', currency).code,
  };
  const balances = await getBalances(client, Object.values(codes));
  const of = (code: string) => balances.get(code)?.balanceMinor ?? 0n;
  return { pending: of(codes.pending), available: of(codes.available), reserved: of(codes.reserved) };
}

/**
 * What the seller gives back, in their currency: the refund itself, or for a converted order the refund at the
 * order's own rate (docs/currencies.md "Refunds"); the platform fee back never exceeds it.
 */
function sellerShareOf(
  order: RefundableOrder,
  refund: Refund,
  feeBack: bigint,
): { sellerCurrency: string; settled: bigint; feeBackUsed: bigint } {
  const sellerCurrency = order.conversion?.settlementCurrency ?? refund.currency;
  const settled = order.conversion
    ? convertMinor(refund.amountMinor, rateOf(order.conversion.rate), refund.currency, sellerCurrency)
    : refund.amountMinor;
  return { sellerCurrency, settled, feeBackUsed: feeBack > settled ? settled : feeBack };
}

function refundEntry(
  refund: Refund,
  order: RefundableOrder,
  share: { settled: bigint; feeBack: bigint; split: ClawbackSplit },
): EntryInput {
  const common = {
    refundId: refund.id,
    pspRefundId: refund.pspRefundId ?? '',
    paymentOrderId: refund.paymentOrderId,
    sellerId: refund.sellerAccount,
    amountMinor: refund.amountMinor,
    platformFeeBackMinor: share.feeBack,
    split: share.split,
    metadata: { source: refund.source, checkoutId: refund.checkoutId },
  };
  if (!order.conversion) return refundBooked({ ...common, currency: refund.currency });
  return refundConverted({
    ...common,
    presentmentCurrency: refund.currency,
    settlementCurrency: order.conversion.settlementCurrency,
    settledMinor: share.settled,
    rate: order.conversion.rate,
  });
}

/**
 * Books a succeeded refund, once (docs/refunds.md): the platform fee given back by the policy, the seller's share
 * taken pending → available → reserved → receivable, PSP clearing credited. In the caller's transaction, with the
 * refund locked. A concurrent posting that empties a bucket between the read and the post makes the ledger refuse
 * with `account_limit_exceeded`; the caller's transaction is then retried (`withBookingRetry`).
 */
export async function bookRefund(
  client: PoolClient,
  rt: RefundsRuntime,
  refund: Refund,
): Promise<{ entryId: string; booked: Refund; order: RefundableOrder | undefined }> {
  if (refund.ledgerEntryId !== null)
    return { entryId: refund.ledgerEntryId, booked: refund, order: undefined };
  if (refund.pspRefundId === null) throw new Error(`refund ${refund.id} succeeded without a PSP refund id`);
  const [order] = await rt.orders.byIds(client, [refund.paymentOrderId]);
  if (!order) throw new Error(`refund ${refund.id}: payment order ${refund.paymentOrderId} not found`);
  const refundable = await lockRefundable(client, order);
  const feeBack = platformFeeBack({
    policy: refund.platformFeePolicy,
    orderFeeMinor: order.feeMinor ?? 0n,
    grossMinor: order.amountMinor,
    bookedBeforeMinor: refundable.bookedMinor,
    feeBackBeforeMinor: refundable.feeBackMinor,
    amountMinor: refund.amountMinor,
  });
  const { sellerCurrency, settled, feeBackUsed } = sellerShareOf(order, refund, feeBack);
  const buckets = await sellerBuckets(client, refund.sellerAccount, sellerCurrency);
  const split = splitClawback(buckets, settled - feeBackUsed);
  const posted = await postEntry(
    client,
    refundEntry(refund, order, { settled, feeBack: feeBackUsed, split }),
  );
  await adjustRefundable(client, refund.paymentOrderId, { booked: refund.amountMinor, feeBack: feeBackUsed });
  const booking: RefundBooking = { platformFeeBackMinor: feeBackUsed, split };
  await updateRefund(client, refund.id, {
    ledger_entry_id: posted.entryId,
    booking: bookingToJson(booking),
    psp_fee_due: refund.pspFeePolicy === 'seller',
    next_psp_fee_at: refund.pspFeePolicy === 'seller' ? new Date() : null,
  });
  return { entryId: posted.entryId, booked: { ...refund, ledgerEntryId: posted.entryId, booking }, order };
}

/**
 * The reversal entry of a refund: exactly what `refundEntry` booked comes back, in the same currencies — for a
 * converted order the seller's share at the order's rate in their currency, through the FX positions.
 */
function reversalEntry(
  refund: Refund & { booking: RefundBooking; pspRefundId: string },
  order: RefundableOrder | undefined,
  toReceivable: bigint,
): EntryInput {
  const common = {
    refundId: refund.id,
    pspRefundId: refund.pspRefundId,
    paymentOrderId: refund.paymentOrderId,
    sellerId: refund.sellerAccount,
    amountMinor: refund.amountMinor,
    platformFeeBackMinor: refund.booking.platformFeeBackMinor,
    toReceivableMinor: toReceivable,
  };
  if (!order?.conversion) return refundReversed({ ...common, currency: refund.currency });
  const { split, platformFeeBackMinor } = refund.booking;
  return refundReversedConverted({
    ...common,
    presentmentCurrency: refund.currency,
    settlementCurrency: order.conversion.settlementCurrency,
    settledMinor: split.pending + split.available + split.reserved + split.receivable + platformFeeBackMinor,
    rate: order.conversion.rate,
  });
}

/**
 * Reverses a succeeded refund the PSP reports failed (`refund.reversed`): the money is back at the PSP, so the
 * seller's share returns — first clearing what the seller still owes of it (receivable), the rest to available —
 * and the platform fee given back returns to revenue. A PSP fee passed to the seller is reversed too. A converted
 * order's refund comes back in the seller's currency, as it was taken.
 */
export async function reverseRefund(
  client: PoolClient,
  rt: RefundsRuntime,
  refund: Refund,
): Promise<{ reversed: Refund; order: RefundableOrder | undefined } | undefined> {
  if (refund.ledgerEntryId === null || refund.booking === null || refund.pspRefundId === null)
    return undefined;
  if (refund.reversalEntryId !== null) return { reversed: refund, order: undefined };
  const [order] = await rt.orders.byIds(client, [refund.paymentOrderId]);
  const sellerCurrency = order?.conversion?.settlementCurrency ?? refund.currency;
  const receivableCode = sellerReceivable(refund.sellerAccount, sellerCurrency).code;
  const owed = (await getBalances(client, [receivableCode])).get(receivableCode)?.balanceMinor ?? 0n;
  const fromReceivable = refund.booking.split.receivable;
  const toReceivable = owed < fromReceivable ? (owed > 0n ? owed : 0n) : fromReceivable;
  const posted = await postEntry(
    client,
    reversalEntry(
      { ...refund, booking: refund.booking, pspRefundId: refund.pspRefundId },
      order,
      toReceivable,
    ),
  );
  if (refund.pspFeeEntryId !== null) {
    await reverseEntry(
      client,
      refund.pspFeeEntryId,
      `refund_psp_fee:${refund.pspRefundId}:reversed`,
      `refund ${refund.id} failed after succeeding`,
    );
  }
  await adjustRefundable(client, refund.paymentOrderId, {
    refunded: -refund.amountMinor,
    booked: -refund.amountMinor,
    feeBack: -refund.booking.platformFeeBackMinor,
  });
  await updateRefund(client, refund.id, {
    reversal_entry_id: posted.entryId,
    psp_fee_due: false,
    next_psp_fee_at: null,
  });
  return { reversed: { ...refund, reversalEntryId: posted.entryId }, order };
}
