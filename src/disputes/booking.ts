import type { Queryable } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import {
  disputeFeeCharged,
  disputeReinstated,
  disputeReinstatedConverted,
  disputeWithdrawn,
  fxSettled,
  fxSettledOut,
  getBalances,
  postEntries,
  realisedOnShare,
  sellerAccount,
  sellerReceivable,
  type EntryInput,
  type SellerBuckets,
} from '../ledger/index.ts';
import type { PspDisputeMovement } from '../psp/index.ts';
import {
  bucketsKey,
  planReinstatement,
  planWithdrawal,
  type AllocationPlan,
  type DisputedOrder,
  type FeeBearer,
  type GiveBackPlan,
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

/**
 * The buckets of each seller of `orders`, by `bucketsKey`: in the dispute's currency, or for a converted order in
 * the seller's currency.
 */
async function convertedBucketsOf(
  db: Queryable,
  orders: DisputedOrder[],
  currency: string,
): Promise<Map<string, SellerBuckets>> {
  const wanted = new Map<string, { seller: string; currency: string }>();
  for (const order of orders) {
    const converted = order.conversion?.currency;
    wanted.set(bucketsKey(order.sellerAccount, converted), {
      seller: order.sellerAccount,
      currency: converted ?? currency,
    });
  }
  const code = (w: { seller: string; currency: string }, purpose: 'pending' | 'available' | 'reserved') =>
    sellerAccount(w.seller, purpose, w.currency).code;
  const purposes = ['pending', 'available', 'reserved'] as const;
  const balances = await getBalances(
    db,
    [...wanted.values()].flatMap((w) => purposes.map((purpose) => code(w, purpose))),
  );
  const of = (w: { seller: string; currency: string }, purpose: (typeof purposes)[number]) =>
    balances.get(code(w, purpose))?.balanceMinor ?? 0n;
  return new Map(
    [...wanted].map(([key, w]) => [
      key,
      { pending: of(w, 'pending'), available: of(w, 'available'), reserved: of(w, 'reserved') },
    ]),
  );
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
    ...(plan.converted === undefined ? {} : { converted: plan.converted }),
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
      ...(order.conversion === undefined
        ? {}
        : { conversion: { currency: order.conversion.settlementCurrency, rate: order.conversion.rate } }),
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
  if (orders.length === 0) {
    await markUnattributed(db, dispute.id);
    return false;
  }
  if (moved.currency !== dispute.currency || orders.some((order) => order.conversion !== undefined)) {
    await bookConvertedWithdrawal(db, dispute, moved, orders);
    return true;
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
  const converted =
    moved.currency !== dispute.currency ||
    dispute.feeCurrency !== null ||
    allocations.some((allocation) => allocation.converted !== undefined);
  if (converted) {
    await bookConvertedReinstatement(db, dispute, moved, allocations);
    return;
  }
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

/**
 * A dispute on a converted charge (docs/currencies.md "Refunds and disputes"): the PSP withdrew it in its own
 * settlement currency (`moved.currency`), and orders may have been credited to their sellers in other currencies.
 * The whole disputed amount comes off PSP clearing in the dispute's currency; each converted order's share is taken
 * from its seller at the order's own rate, in the seller's currency, through the FX positions; the fee is booked in
 * the PSP's currency, borne by a seller only when credited in it; and what the PSP really took is its conversion
 * (`fxSettledOut` under `fx_settled:<withdrawal>`), realising gain or loss on the sellers credited in it.
 */
async function bookConvertedWithdrawal(
  db: Queryable,
  dispute: Dispute,
  moved: PspDisputeMovement,
  orders: DisputedOrder[],
): Promise<void> {
  const atPsp = moved.currency !== dispute.currency;
  // The PSP takes the whole disputed amount; in its own currency the movement says what that cost.
  const amount = atPsp ? dispute.amountMinor : moved.amountMinor;
  const currencies = { dispute: dispute.currency, fee: moved.currency };
  const plans = await withSavepointRetry(db, async () => {
    const balances = await convertedBucketsOf(db, orders, dispute.currency);
    const planned = planWithdrawal(orders, amount, moved.feeMinor, balances, currencies);
    await postEntries(db, convertedWithdrawalEntries(dispute, moved, planned, amount));
    return planned;
  });
  // Who really bore the fee: a seller by their policy, unless the fee is in a currency they are not credited in.
  const bearers = new Set<FeeBearer>(
    plans.map((plan, index) =>
      orders[index]?.feeBearer === 'seller' && plan.sellerFeeMinor === plan.feeShareMinor
        ? 'seller'
        : 'platform',
    ),
  );
  const [only] = bearers;
  await recordWithdrawal(db, dispute.id, {
    amountMinor: amount,
    feeMinor: moved.feeMinor,
    txn: moved.balanceTransactionId,
    feeBearer: bearers.size === 1 && only !== undefined ? only : 'mixed',
    feeCurrency: moved.currency === dispute.currency ? undefined : moved.currency,
  });
  await insertAllocations(db, dispute.id, plans.map(toStored));
}

function convertedWithdrawalEntries(
  dispute: Dispute,
  moved: PspDisputeMovement,
  plans: AllocationPlan[],
  amount: bigint,
): EntryInput[] {
  const ids = { disputeId: dispute.id, pspDisputeId: dispute.pspDisputeId };
  const entries = [
    disputeWithdrawn({
      ...ids,
      currency: dispute.currency,
      amountMinor: amount,
      parts: plans.map((plan) => ({
        sellerId: plan.sellerAccount,
        split: plan.amountSplit,
        converted:
          plan.converted === undefined
            ? undefined
            : { currency: plan.converted.currency, presentmentMinor: plan.amountMinor },
      })),
    }),
  ];
  if (moved.feeMinor > 0n)
    entries.push(
      disputeFeeCharged({
        ...ids,
        currency: moved.currency,
        feeMinor: moved.feeMinor,
        balanceTransactionId: moved.balanceTransactionId,
        sellerParts: plans
          .filter((plan) => plan.sellerFeeMinor > 0n)
          .map((plan) => ({ sellerId: plan.sellerAccount, split: plan.feeSplit })),
      }),
    );
  if (moved.currency !== dispute.currency) {
    const credited = plans.filter((plan) => plan.converted?.currency === moved.currency);
    entries.push(
      fxSettledOut({
        ...pspConversion(dispute, moved, amount),
        realisedMinor: realisedOnShare({
          direction: 'out',
          settledMinor: moved.amountMinor,
          totalMinor: amount,
          shareMinor: credited.reduce((sum, plan) => sum + plan.amountMinor, 0n),
          bookedMinor: credited.reduce((sum, plan) => sum + (plan.converted?.bookedMinor ?? 0n), 0n),
        }),
      }),
    );
  }
  return entries;
}

/** The PSP's conversion of a dispute's movement, for `fxSettledOut` / `fxSettled` (its realised result aside). */
function pspConversion(dispute: Dispute, moved: PspDisputeMovement, amount: bigint) {
  return {
    settlementId: moved.balanceTransactionId,
    presentmentCurrency: dispute.currency,
    amountMinor: amount,
    settlementCurrency: moved.currency,
    settledMinor: moved.amountMinor,
    exchangeRate: moved.exchangeRate ?? 'not given',
    metadata: {
      disputeId: dispute.id,
      pspDisputeId: dispute.pspDisputeId,
      presentmentCurrency: dispute.currency,
      settlementCurrency: moved.currency,
    },
  };
}

/**
 * A won dispute on a converted charge: exactly what the withdrawal took comes back, in the same currencies (each
 * converted order's share in its seller's currency, through the FX positions), the fee returned in the PSP's
 * currency to who bore it, and what the PSP gave back in its own currency is booked as its conversion (`fxSettled`
 * under `fx_settled:<reinstatement>`).
 */
async function bookConvertedReinstatement(
  db: Queryable,
  dispute: Dispute,
  moved: PspDisputeMovement,
  allocations: StoredAllocation[],
): Promise<void> {
  const atPsp = moved.currency !== dispute.currency;
  // The PSP gives a won dispute back whole: in the dispute's currency that is what it withdrew.
  const amount = atPsp ? (dispute.withdrawnMinor ?? dispute.amountMinor) : moved.amountMinor;
  const feeCurrency = dispute.feeCurrency ?? dispute.currency;
  const feeReturned = moved.feeMinor < (dispute.feeMinor ?? 0n) ? moved.feeMinor : (dispute.feeMinor ?? 0n);
  await withSavepointRetry(db, async () => {
    const keys = new Map(
      allocations.map((a) => [
        bucketsKey(a.sellerAccount, a.converted?.currency),
        sellerReceivable(a.sellerAccount, a.converted?.currency ?? dispute.currency).code,
      ]),
    );
    const balances = await getBalances(db, [...keys.values()]);
    const receivables = new Map(
      [...keys].map(([key, code]) => [key, balances.get(code)?.balanceMinor ?? 0n]),
    );
    const plan = planReinstatement(allocations, amount, feeReturned, dispute.feeMinor ?? 0n, receivables);
    const entries = [
      disputeReinstatedConverted({
        disputeId: dispute.id,
        pspDisputeId: dispute.pspDisputeId,
        currency: dispute.currency,
        amountMinor: amount,
        gives: plan.gives.map((give) => ({
          ...give,
          sellerId: give.sellerAccount,
          converted:
            give.converted === undefined
              ? undefined
              : { currency: give.converted.currency, presentmentMinor: give.presentmentMinor },
        })),
        fee: {
          currency: feeCurrency,
          returnedMinor: feeReturned,
          platformFeeBackMinor: plan.platformFeeBackMinor,
        },
      }),
    ];
    if (atPsp)
      entries.push(
        fxSettled({
          ...pspConversion(dispute, moved, amount),
          realisedMinor: realisedIn(moved, amount, plan.gives),
        }),
      );
    await postEntries(db, entries);
  });
  await recordReinstatement(db, dispute.id, {
    amountMinor: amount,
    feeReturnedMinor: feeReturned,
    txn: moved.balanceTransactionId,
  });
}

/** The realised result of a reinstatement's conversion, on the sellers credited in the PSP's currency. */
function realisedIn(moved: PspDisputeMovement, amount: bigint, gives: GiveBackPlan[]): bigint {
  const credited = gives.filter((give) => give.converted?.currency === moved.currency);
  const back = (give: GiveBackPlan) =>
    give.toReceivable + give.toPending + give.toAvailable + give.toReserved - give.feeBackMinor;
  return realisedOnShare({
    direction: 'in',
    settledMinor: moved.amountMinor,
    totalMinor: amount,
    shareMinor: credited.reduce((sum, give) => sum + give.presentmentMinor, 0n),
    bookedMinor: credited.reduce((sum, give) => sum + back(give), 0n),
  });
}
