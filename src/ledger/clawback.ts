import { sellerAccount, sellerReceivable } from './chart.ts';
import type { PostingInput } from './types.ts';

/** A seller's balances a claw-back may take from, in minor units of one currency. */
export interface SellerBuckets {
  pending: bigint;
  available: bigint;
  reserved: bigint;
}

/** Where a claw-back of a seller's money comes from: each bucket in turn, then what the seller will owe. */
export interface ClawbackSplit {
  pending: bigint;
  available: bigint;
  reserved: bigint;
  /** Not covered by any balance: debited to `seller:<id>:receivable:<CUR>` (the seller owes the platform). */
  receivable: bigint;
}

/**
 * Splits a claw-back (the seller's share of a refund, a dispute, a fee passed on) over the seller's balances:
 * pending first (the sale is usually still on hold), then available, then the reserve, and what is left becomes a
 * receivable. Pure; the caller reads `balances` under the accounts' locks in the transaction that posts the entry.
 * The parts are never negative and always add up to `amountMinor`.
 */
export function splitClawback(balances: SellerBuckets, amountMinor: bigint): ClawbackSplit {
  let left = amountMinor > 0n ? amountMinor : 0n;
  const take = (have: bigint): bigint => {
    const taken = have > 0n ? (have < left ? have : left) : 0n;
    left -= taken;
    return taken;
  };
  const pending = take(balances.pending);
  const available = take(balances.available);
  const reserved = take(balances.reserved);
  return { pending, available, reserved, receivable: left };
}

/** The debit postings of a split (zero parts are left out by the recipes). */
export function clawbackDebits(sellerId: string, currency: string, split: ClawbackSplit): PostingInput[] {
  return [
    { account: sellerAccount(sellerId, 'pending', currency), direction: 'debit', amountMinor: split.pending },
    {
      account: sellerAccount(sellerId, 'available', currency),
      direction: 'debit',
      amountMinor: split.available,
    },
    {
      account: sellerAccount(sellerId, 'reserved', currency),
      direction: 'debit',
      amountMinor: split.reserved,
    },
    { account: sellerReceivable(sellerId, currency), direction: 'debit', amountMinor: split.receivable },
  ];
}
