import type { Pool } from '../../src/db/pool.ts';
import { withTransaction } from '../../src/db/tx.ts';
import {
  clawbackDebits,
  getBalances,
  lockBalances,
  payinSucceeded,
  postEntry,
  pspClearing,
  sellerAccount,
  sellerReceivable,
  splitClawback,
  type ClawbackSplit,
} from '../../src/ledger/index.ts';
import { recordPayinHold } from '../../src/payouts/holds.ts';
import type { PayoutProvider } from '../../src/payouts/index.ts';
import { registerSellerWithSettings } from '../../src/sellers/settings-service.ts';
import { ibanWithCheckDigits } from '../../src/payouts/bank.ts';

/**
 * Money going back, modelled directly on the ledger for the debt tests: a refund or dispute takes the seller's
 * share with `splitClawback` (pending → available → reserved → receivable) as the refunds and disputes modules do,
 * without those modules.
 */

/** A seller paid daily, with SEPA bank details. */
export async function registerDailySeller(pool: Pool, sellerAccount: string, currency: string, n: number) {
  await registerSellerWithSettings(
    pool,
    { sellerAccount, name: sellerAccount, currency, metadata: {} },
    {
      iban: ibanWithCheckDigits('DE', `37040044${String(n).padStart(10, '0')}`),
      bic: 'COBADEFFXXX',
      schedule: { interval: 'daily' },
    },
    undefined,
    null,
  );
}

/** A successful pay-in: the ledger entry and its hold (available `holdDays` after today), in one transaction. */
export async function bookPayin(
  pool: Pool,
  payin: {
    paymentOrderId: string;
    sellerId: string;
    currency: string;
    grossMinor: bigint;
    feeMinor?: bigint;
    holdDays?: number;
  },
): Promise<void> {
  const fee = payin.feeMinor ?? 0n;
  await withTransaction(pool, async (client) => {
    await postEntry(
      client,
      payinSucceeded({
        currency: payin.currency,
        paymentOrderId: payin.paymentOrderId,
        sellerId: payin.sellerId,
        grossMinor: payin.grossMinor,
        platformFeeMinor: fee,
      }),
    );
    await recordPayinHold(client, {
      paymentOrderId: payin.paymentOrderId,
      sellerAccount: payin.sellerId,
      currency: payin.currency,
      amountMinor: payin.grossMinor - fee,
      holdDays: payin.holdDays ?? 0,
    });
  });
}

/**
 * A refund (kind `refund`) or a dispute's withdrawal (kind `chargeback`) borne by the seller: split over the
 * seller's balances read under their locks, the rest debited to the receivable; the PSP pays it from clearing.
 */
export async function bookClawback(
  pool: Pool,
  clawback: {
    id: string;
    kind: 'refund' | 'chargeback';
    sellerId: string;
    currency: string;
    amountMinor: bigint;
  },
): Promise<ClawbackSplit> {
  const { sellerId, currency } = clawback;
  return withTransaction(pool, async (client) => {
    const codes = (['pending', 'available', 'reserved'] as const).map(
      (bucket) => sellerAccount(sellerId, bucket, currency).code,
    );
    // Every account the entry posts to, in one call (the ledger's code order): as a claw-back must, so it never
    // holds one while waiting for another.
    const locked = await lockBalances(client, [
      pspClearing(currency).code,
      ...codes,
      sellerReceivable(sellerId, currency).code,
    ]);
    const [pending, available, reserved] = codes.map((code) => locked.get(code)?.balanceMinor ?? 0n);
    const split = splitClawback(
      { pending: pending ?? 0n, available: available ?? 0n, reserved: reserved ?? 0n },
      clawback.amountMinor,
    );
    await postEntry(client, {
      reference: `${clawback.kind}:${clawback.id}`,
      kind: clawback.kind,
      description: `${clawback.kind} ${clawback.id} (test model)`,
      postings: [
        ...clawbackDebits(sellerId, currency, split).filter((p) => p.amountMinor > 0n),
        { account: pspClearing(currency), direction: 'credit', amountMinor: clawback.amountMinor },
      ],
      metadata: { sellerId },
    });
    return split;
  });
}

/** A seller's balances by bucket (receivable included), minor units. */
export async function sellerBalances(pool: Pool, sellerId: string, currency: string) {
  const buckets = ['pending', 'available', 'reserved', 'in_transit'] as const;
  const codes = [
    ...buckets.map((b) => sellerAccount(sellerId, b, currency).code),
    sellerReceivable(sellerId, currency).code,
  ];
  const found = await getBalances(pool, codes);
  const of = (code: string) => found.get(code)?.balanceMinor ?? 0n;
  return {
    pending: of(sellerAccount(sellerId, 'pending', currency).code),
    available: of(sellerAccount(sellerId, 'available', currency).code),
    reserved: of(sellerAccount(sellerId, 'reserved', currency).code),
    inTransit: of(sellerAccount(sellerId, 'in_transit', currency).code),
    receivable: of(sellerReceivable(sellerId, currency).code),
  };
}

/** A payout provider that takes nothing (payouts stay pending, in transit on the ledger). */
export const idleProvider: PayoutProvider = {
  name: 'iso20022',
  submitPending: () => Promise.resolve({ submitted: 0, files: [], failed: 0 }),
};
