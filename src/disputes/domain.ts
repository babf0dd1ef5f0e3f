import { convertMinor, parseRate } from '../fx/index.ts';
import { splitClawback, type ClawbackSplit, type SellerBuckets } from '../ledger/index.ts';

/**
 * The pure core of disputes: statuses and their order, how a dispute's amount and fee are shared among the
 * payment orders of the disputed charge, and what goes back to whom when a dispute is won.
 */

export const DISPUTE_STATUSES = [
  'warning_needs_response',
  'warning_under_review',
  'warning_closed',
  'needs_response',
  'under_review',
  'won',
  'lost',
  'prevented',
] as const;
export type DisputeStatus = (typeof DISPUTE_STATUSES)[number];

export type FeeBearer = 'seller' | 'platform';

export function isDisputeStatus(value: string): value is DisputeStatus {
  return (DISPUTE_STATUSES as readonly string[]).includes(value);
}

/** A status's place in the lifecycle; a dispute only ever moves to a higher rank (3 = final). */
export function statusRank(status: DisputeStatus): number {
  switch (status) {
    case 'warning_needs_response':
      return 0;
    case 'needs_response':
    case 'warning_under_review':
      return 1;
    case 'under_review':
      return 2;
    default:
      return 3;
  }
}

export function isFinal(status: DisputeStatus): boolean {
  return statusRank(status) === 3;
}

/** Whether evidence may still be sent or the dispute accepted: it waits for our response. */
export function awaitsResponse(status: DisputeStatus): boolean {
  return status === 'needs_response' || status === 'warning_needs_response';
}

/**
 * Shares `total` among `weights` in proportion, in whole minor units: each gets the floor of its share and the
 * units left over go to the largest remainders (earlier first on ties). The parts add up to `total` exactly.
 */
export function allocate(total: bigint, weights: bigint[]): bigint[] {
  const sum = weights.reduce((acc, weight) => acc + (weight > 0n ? weight : 0n), 0n);
  if (weights.length === 0) return [];
  if (sum === 0n) return weights.map((_, index) => (index === 0 ? total : 0n));
  const parts = weights.map((weight) => (total * (weight > 0n ? weight : 0n)) / sum);
  const remainders = weights.map((weight, index) => ({
    index,
    rest: (total * (weight > 0n ? weight : 0n)) % sum,
  }));
  let left = total - parts.reduce((acc, part) => acc + part, 0n);
  remainders.sort((a, b) => (a.rest === b.rest ? a.index - b.index : a.rest > b.rest ? -1 : 1));
  for (const { index } of remainders) {
    if (left <= 0n) break;
    parts[index] = (parts[index] ?? 0n) + 1n;
    left -= 1n;
  }
  return parts;
}

/** A payment order of the disputed charge. */
export interface DisputedOrder {
  paymentOrderId: string;
  sellerAccount: string;
  amountMinor: bigint;
  feeBearer: FeeBearer;
  /** Set when the seller was credited in another currency, at the order's own rate (docs/currencies.md). */
  conversion?: { currency: string; rate: string } | undefined;
}

/**
 * Where a seller's buckets are looked up in the balances given to the plans: by seller for an order in the
 * dispute's currency, by seller and currency for a converted one.
 */
export function bucketsKey(sellerAccount: string, convertedCurrency: string | undefined): string {
  return convertedCurrency === undefined ? sellerAccount : `${sellerAccount}|${convertedCurrency}`;
}

/** The dispute's currency and the currency the PSP charged its fee in (they differ on a converted charge). */
export interface DisputeCurrencies {
  dispute: string;
  fee: string;
}

/** One order's share of a dispute and which of its seller's balances pay it. */
export interface AllocationPlan {
  paymentOrderId: string;
  sellerAccount: string;
  amountMinor: bigint;
  /** The order's share of the dispute fee. */
  feeShareMinor: bigint;
  /** What of that share the seller bears (all of it, or nothing when the platform does). */
  sellerFeeMinor: bigint;
  amountSplit: ClawbackSplit;
  feeSplit: ClawbackSplit;
  /** A converted order: the seller's currency, and the share at the order's rate in it (what amountSplit splits). */
  converted?: { currency: string; bookedMinor: bigint } | undefined;
}

function minus(balances: SellerBuckets, split: ClawbackSplit): SellerBuckets {
  return {
    pending: balances.pending - split.pending,
    available: balances.available - split.available,
    reserved: balances.reserved - split.reserved,
  };
}

const NOTHING: ClawbackSplit = { pending: 0n, available: 0n, reserved: 0n, receivable: 0n };

/** A converted order's share of the dispute in its seller's currency, at the order's own rate (rounded once). */
function convertedShare(
  order: DisputedOrder,
  amountMinor: bigint,
  currencies: DisputeCurrencies | undefined,
) {
  if (order.conversion === undefined) return undefined;
  const rate = parseRate(order.conversion.rate);
  if (currencies === undefined || rate === undefined)
    throw new Error(
      `order ${order.paymentOrderId}: a converted order needs the dispute's currency and a rate`,
    );
  const booked = convertMinor(amountMinor, rate, currencies.dispute, order.conversion.currency);
  return { currency: order.conversion.currency, bookedMinor: booked };
}

/**
 * The withdrawal plan: the dispute's amount and fee shared among the orders by their amounts; each order's amount
 * (a converted order's at its own rate, in its seller's currency), then the seller's fee part, split over its
 * seller's balances (`balances`, read under the accounts' locks, by `bucketsKey`), a seller with several orders
 * being drawn down order after order. A seller bears a fee part only in a currency they are credited in: when the
 * PSP charged the fee in another (`currencies.fee`), the platform bears that seller's part.
 */
export function planWithdrawal(
  orders: DisputedOrder[],
  amountMinor: bigint,
  feeMinor: bigint,
  balances: Map<string, SellerBuckets>,
  currencies?: DisputeCurrencies,
): AllocationPlan[] {
  const weights = orders.map((order) => order.amountMinor);
  const amounts = allocate(amountMinor, weights);
  const fees = allocate(feeMinor, weights);
  const running = new Map(balances);
  return orders.map((order, index) => {
    const amount = amounts[index] ?? 0n;
    const feeShare = fees[index] ?? 0n;
    const converted = convertedShare(order, amount, currencies);
    const credited = converted?.currency ?? currencies?.dispute;
    const bears = order.feeBearer === 'seller' && (currencies === undefined || credited === currencies.fee);
    const sellerFee = bears ? feeShare : 0n;
    const key = bucketsKey(order.sellerAccount, converted?.currency);
    const have = running.get(key) ?? { pending: 0n, available: 0n, reserved: 0n };
    const amountSplit = splitClawback(have, converted?.bookedMinor ?? amount);
    const afterAmount = minus(have, amountSplit);
    const feeSplit = sellerFee > 0n ? splitClawback(afterAmount, sellerFee) : NOTHING;
    running.set(key, minus(afterAmount, feeSplit));
    return {
      paymentOrderId: order.paymentOrderId,
      sellerAccount: order.sellerAccount,
      amountMinor: amount,
      feeShareMinor: feeShare,
      sellerFeeMinor: sellerFee,
      amountSplit,
      feeSplit,
      ...(converted === undefined ? {} : { converted }),
    };
  });
}

/** An allocation as stored: the order's share and the balances that paid it (amount and seller's fee together). */
export interface StoredAllocation {
  paymentOrderId: string;
  sellerAccount: string;
  amountMinor: bigint;
  sellerFeeMinor: bigint;
  fromPending: bigint;
  fromAvailable: bigint;
  fromReserved: bigint;
  fromReceivable: bigint;
  /** A converted order: the seller's currency and its share in it (the from_* parts are in that currency). */
  converted?: { currency: string; bookedMinor: bigint } | undefined;
}

/** What goes back to one order's seller when the dispute is won. */
export interface GiveBackPlan {
  sellerAccount: string;
  toReceivable: bigint;
  toPending: bigint;
  toAvailable: bigint;
  toReserved: bigint;
  /** The order's share of the reinstated amount, in the dispute's currency. */
  presentmentMinor: bigint;
  /** Of the give-back, the seller's dispute fee returned (in the fee's currency, the seller's). */
  feeBackMinor: bigint;
  /** A converted order: the give-back is in the seller's currency. */
  converted?: { currency: string; bookedMinor: bigint } | undefined;
}

/**
 * The reinstatement plan. The reinstated amount is shared among the orders as the withdrawal was (a converted
 * order's share back in its seller's currency, in proportion to what was booked: all of it when all comes back);
 * the returned fee follows who bore it (a seller's part back to the seller, the platform's to psp_fees). Each
 * seller's give-back first cancels what the seller owes (`receivables`, the receivable balances now, by
 * `bucketsKey`), then returns what was taken from pending and reserved to them, and the rest to available.
 */
export function planReinstatement(
  allocations: StoredAllocation[],
  reinstatedMinor: bigint,
  feeReturnedMinor: bigint,
  feeMinor: bigint,
  receivables: Map<string, bigint>,
): { gives: GiveBackPlan[]; platformFeeBackMinor: bigint } {
  const amounts = allocate(
    reinstatedMinor,
    allocations.map((allocation) => allocation.amountMinor),
  );
  // The fee returned, in proportion to the fee: a seller who bore their part gets it back.
  const sellerFee = allocations.reduce((sum, allocation) => sum + allocation.sellerFeeMinor, 0n);
  const sellerFeeBack = feeMinor > 0n ? (feeReturnedMinor * sellerFee) / feeMinor : 0n;
  const feeBacks = allocate(
    sellerFeeBack,
    allocations.map((allocation) => allocation.sellerFeeMinor),
  );
  const owed = new Map(receivables);
  const gives = allocations.map((allocation, index) => {
    const amount = amounts[index] ?? 0n;
    const feeBack = feeBacks[index] ?? 0n;
    const converted = allocation.converted;
    const back =
      converted === undefined
        ? amount
        : allocation.amountMinor > 0n
          ? (converted.bookedMinor * amount) / allocation.amountMinor
          : 0n;
    let left = back + feeBack;
    const take = (cap: bigint): bigint => {
      const part = cap > 0n ? (cap < left ? cap : left) : 0n;
      left -= part;
      return part;
    };
    const key = bucketsKey(allocation.sellerAccount, converted?.currency);
    const toReceivable = take(owed.get(key) ?? 0n);
    owed.set(key, (owed.get(key) ?? 0n) - toReceivable);
    const toPending = take(allocation.fromPending);
    const toReserved = take(allocation.fromReserved);
    return {
      sellerAccount: allocation.sellerAccount,
      toReceivable,
      toPending,
      toAvailable: left,
      toReserved,
      presentmentMinor: amount,
      feeBackMinor: feeBack,
      ...(converted === undefined ? {} : { converted }),
    };
  });
  return { gives, platformFeeBackMinor: feeReturnedMinor - sellerFeeBack };
}
