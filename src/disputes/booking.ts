import type { Queryable } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import {
  disputeFeeCharged,
  disputeReinstated,
  disputeWithdrawn,
  getBalances,
  postEntries,
  sellerAccount,
  sellerReceivable,
  type EntryInput,
  type SellerBuckets,
} from '../ledger/index.ts';
import type { PspDisputeMovement } from '../psp/index.ts';
import {
  planReinstatement,
  planWithdrawal,
  type AllocationPlan,
  type DisputedOrder,
  type FeeBearer,
  type StoredAllocation,
} from './domain.ts';
import type { DisputesPorts } from './ports.ts';
import {
  getAllocations,
  insertAllocations,
  markUnattributed,
  recordReinstatement,
  recordWithdrawal,
  type Dispute,
} from './store.ts';

/**
 * Booking a dispute's money in the ledger, in the caller's transaction: the withdrawal (amount and fee) when the
 * PSP took it, the reinstatement when it gave it back. The seller balances a claw-back is split over are read in
 * this transaction; should another writer take them down before the entry is posted, the ledger refuses the entry
 * (`account_limit_exceeded`) and the split is read and posted again (under a savepoint), so the floors hold.
 */

const ATTEMPTS = 4;

async function withSavepointRetry<T>(db: Queryable, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    await db.query('SAVEPOINT dispute_booking');
    try {
      const result = await work();
      await db.query('RELEASE SAVEPOINT dispute_booking');
      return result;
    } catch (error) {
      await db.query('ROLLBACK TO SAVEPOINT dispute_booking');
      const retry =
        error instanceof AppError && error.code === 'account_limit_exceeded' && attempt < ATTEMPTS;
      if (!retry) throw error;
    }
  }
}

async function bucketsOf(
  db: Queryable,
  sellers: string[],
  currency: string,
): Promise<Map<string, SellerBuckets>> {
  const codes = sellers.flatMap((seller) =>
    (['pending', 'available', 'reserved'] as const).map(
      (purpose) => sellerAccount(seller, purpose, currency).code,
    ),
  );
  const balances = await getBalances(db, codes);
  const of = (seller: string, purpose: 'pending' | 'available' | 'reserved') =>
    balances.get(sellerAccount(seller, purpose, currency).code)?.balanceMinor ?? 0n;
  return new Map(
    sellers.map((seller) => [
      seller,
      {
        pending: of(seller, 'pending'),
        available: of(seller, 'available'),
        reserved: of(seller, 'reserved'),
      },
    ]),
  );
}

function toStored(plan: AllocationPlan): StoredAllocation {
  const { amountSplit: a, feeSplit: f } = plan;
  return {
    paymentOrderId: plan.paymentOrderId,
    sellerAccount: plan.sellerAccount,
    amountMinor: plan.amountMinor,
    sellerFeeMinor: plan.sellerFeeMinor,
    fromPending: a.pending + f.pending,
    fromAvailable: a.available + f.available,
    fromReserved: a.reserved + f.reserved,
    fromReceivable: a.receivable + f.receivable,
  };
}

function withdrawalEntries(
  dispute: Dispute,
  moved: PspDisputeMovement,
  plans: AllocationPlan[],
): EntryInput[] {
  const common = { disputeId: dispute.id, pspDisputeId: dispute.pspDisputeId, currency: dispute.currency };
  const entries = [
    disputeWithdrawn({
      ...common,
      amountMinor: moved.amountMinor,
      parts: plans.map((plan) => ({ sellerId: plan.sellerAccount, split: plan.amountSplit })),
    }),
  ];
  if (moved.feeMinor > 0n)
    entries.push(
      disputeFeeCharged({
        ...common,
        feeMinor: moved.feeMinor,
        balanceTransactionId: moved.balanceTransactionId,
        sellerParts: plans.map((plan) => ({ sellerId: plan.sellerAccount, split: plan.feeSplit })),
      }),
    );
  return entries;
}

/** The paid orders of the disputed payment, each with its seller's dispute policy. */
async function disputedOrders(
  db: Queryable,
  ports: DisputesPorts,
  defaultFeeBearer: FeeBearer,
  dispute: Dispute,
): Promise<DisputedOrder[]> {
  if (dispute.pspPaymentId === null) return [];
  const all = await ports.ordersOfPayment(db, dispute.pspPaymentId);
  // The dispute's event may be processed before the payment's own success event (the dispute test card sends both
  // at once): fail this attempt, so that the event is processed again once the payment has settled.
  if (all.some((order) => order.status !== 'SUCCESS' && order.status !== 'FAILED'))
    throw new Error(
      `dispute ${dispute.pspDisputeId}: its payment ${dispute.pspPaymentId} has not settled here yet`,
    );
  const orders = all.filter((order) => order.status === 'SUCCESS' && order.currency === dispute.currency);
  const out: DisputedOrder[] = [];
  for (const order of orders)
    out.push({
      paymentOrderId: order.paymentOrderId,
      sellerAccount: order.sellerAccount,
      amountMinor: order.amountMinor,
      feeBearer: (await ports.sellerFeeBearer(db, order.sellerAccount)) ?? defaultFeeBearer,
    });
  return out;
}

/**
 * Books what the PSP withdrew (once: the caller checked that nothing was booked yet). Returns false when no paid
 * order of ours matches the disputed payment: the dispute is marked unattributed and nothing is booked
 * (reconciliation reports it).
 */
export async function bookWithdrawal(
  db: Queryable,
  policy: { ports: DisputesPorts; defaultFeeBearer: FeeBearer },
  dispute: Dispute,
  moved: PspDisputeMovement,
): Promise<boolean> {
  const orders = await disputedOrders(db, policy.ports, policy.defaultFeeBearer, dispute);
  if (orders.length === 0 || moved.currency !== dispute.currency) {
    await markUnattributed(db, dispute.id);
    return false;
  }
  const sellers = [...new Set(orders.map((order) => order.sellerAccount))];
  const plans = await withSavepointRetry(db, async () => {
    const balances = await bucketsOf(db, sellers, dispute.currency);
    const planned = planWithdrawal(orders, moved.amountMinor, moved.feeMinor, balances);
    await postEntries(db, withdrawalEntries(dispute, moved, planned));
    return planned;
  });
  const bearers = new Set(orders.map((order) => order.feeBearer));
  await recordWithdrawal(db, dispute.id, {
    amountMinor: moved.amountMinor,
    feeMinor: moved.feeMinor,
    txn: moved.balanceTransactionId,
    feeBearer: bearers.size === 1 ? (orders[0]?.feeBearer ?? 'seller') : 'mixed',
  });
  await insertAllocations(db, dispute.id, plans.map(toStored));
  return true;
}

/** Books what the PSP gave back for a won dispute (once: the caller checked). */
export async function bookReinstatement(
  db: Queryable,
  dispute: Dispute,
  moved: PspDisputeMovement,
): Promise<void> {
  const allocations = await getAllocations(db, dispute.id);
  const sellers = [...new Set(allocations.map((allocation) => allocation.sellerAccount))];
  const feeReturned = moved.feeMinor < (dispute.feeMinor ?? 0n) ? moved.feeMinor : (dispute.feeMinor ?? 0n);
  await withSavepointRetry(db, async () => {
    const codes = sellers.map((seller) => sellerReceivable(seller, dispute.currency).code);
    const balances = await getBalances(db, codes);
    const receivables = new Map(
      sellers.map((seller) => [
        seller,
        balances.get(sellerReceivable(seller, dispute.currency).code)?.balanceMinor ?? 0n,
      ]),
    );
    const plan = planReinstatement(
      allocations,
      moved.amountMinor,
      feeReturned,
      dispute.feeMinor ?? 0n,
      receivables,
    );
    await postEntries(db, [
      disputeReinstated({
        disputeId: dispute.id,
        pspDisputeId: dispute.pspDisputeId,
        currency: dispute.currency,
        amountMinor: moved.amountMinor + feeReturned,
        gives: plan.gives.map((give) => ({ ...give, sellerId: give.sellerAccount })),
        platformFeeBackMinor: plan.platformFeeBackMinor,
      }),
    ]);
  });
  await recordReinstatement(db, dispute.id, {
    amountMinor: moved.amountMinor,
    feeReturnedMinor: feeReturned,
    txn: moved.balanceTransactionId,
  });
}
