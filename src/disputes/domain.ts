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
}

function minus(balances: SellerBuckets, split: ClawbackSplit): SellerBuckets {
  return {
    pending: balances.pending - split.pending,
    available: balances.available - split.available,
    reserved: balances.reserved - split.reserved,
  };
}

const NOTHING: ClawbackSplit = { pending: 0n, available: 0n, reserved: 0n, receivable: 0n };

/**
 * The withdrawal plan: the dispute's amount and fee shared among the orders by their amounts; each order's amount,
 * then the seller's fee part, split over its seller's balances (`balances`, read under the accounts' locks), a
 * seller with several orders being drawn down order after order.
 */
export function planWithdrawal(
  orders: DisputedOrder[],
  amountMinor: bigint,
  feeMinor: bigint,
  balances: Map<string, SellerBuckets>,
): AllocationPlan[] {
  const weights = orders.map((order) => order.amountMinor);
  const amounts = allocate(amountMinor, weights);
  const fees = allocate(feeMinor, weights);
  const running = new Map(balances);
  return orders.map((order, index) => {
    const amount = amounts[index] ?? 0n;
    const feeShare = fees[index] ?? 0n;
    const sellerFee = order.feeBearer === 'seller' ? feeShare : 0n;
    const have = running.get(order.sellerAccount) ?? { pending: 0n, available: 0n, reserved: 0n };
    const amountSplit = splitClawback(have, amount);
    const afterAmount = minus(have, amountSplit);
    const feeSplit = sellerFee > 0n ? splitClawback(afterAmount, sellerFee) : NOTHING;
    running.set(order.sellerAccount, minus(afterAmount, feeSplit));
    return {
      paymentOrderId: order.paymentOrderId,
      sellerAccount: order.sellerAccount,
      amountMinor: amount,
      feeShareMinor: feeShare,
      sellerFeeMinor: sellerFee,
      amountSplit,
      feeSplit,
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
}

/** What goes back to one order's seller when the dispute is won. */
export interface GiveBackPlan {
  sellerAccount: string;
  toReceivable: bigint;
  toPending: bigint;
  toAvailable: bigint;
  toReserved: bigint;
}

/**
 * The reinstatement plan. The reinstated amount is shared among the orders as the withdrawal was; the returned
 * fee follows who bore it (a seller's part back to the seller, the platform's to psp_fees). Each seller's give-back
 * first cancels what the seller owes (`receivables`, the receivable balances now), then returns what was taken
 * from pending and reserved to them, and the rest to available.
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
    let left = (amounts[index] ?? 0n) + (feeBacks[index] ?? 0n);
    const take = (cap: bigint): bigint => {
      const part = cap > 0n ? (cap < left ? cap : left) : 0n;
      left -= part;
      return part;
    };
    const toReceivable = take(owed.get(allocation.sellerAccount) ?? 0n);
    owed.set(allocation.sellerAccount, (owed.get(allocation.sellerAccount) ?? 0n) - toReceivable);
    const toPending = take(allocation.fromPending);
    const toReserved = take(allocation.fromReserved);
    return {
      sellerAccount: allocation.sellerAccount,
      toReceivable,
      toPending,
      toAvailable: left,
      toReserved,
    };
  });
  return { gives, platformFeeBackMinor: feeReturnedMinor - sellerFeeBack };
}
