import type { PoolClient } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { forEachIsolated, loopGuard } from '../jobs/loops.ts';
import {
  getBalances,
  postEntry,
  pspFeeShare,
  refundPspFee,
  sellerAccount,
  splitClawback,
} from '../ledger/index.ts';
import { PspError } from '../psp/index.ts';
import type { RefundsRuntime } from './runtime.ts';
import { withBookingRetry } from './settle.ts';
import { getRefund, refundsWhere, updateRefund } from './store.ts';
import type { Refund } from './types.ts';

/**
 * The PSP's processing fee passed to the seller (policy `psp_fee: seller`, docs/refunds.md): the PSP keeps its fee
 * on a refunded charge, and the seller bears the refunded part of it — fee × refund / charge amount, rounded down.
 * The charge's fee is asked of the PSP outside any transaction, then booked (`refund.psp_fee`) in the transaction
 * that clears the refund's `psp_fee_due`. A failed look-up is tried again later, at most `pspFeeMaxAttempts` times.
 */
export async function followUpRefundPspFees(rt: RefundsRuntime): Promise<number> {
  const due = await refundsWhere(
    rt.ctx.pool,
    `r.psp_fee_due AND r.next_psp_fee_at <= now() ORDER BY r.next_psp_fee_at LIMIT $1`,
    [rt.config.batchSize],
  );
  await forEachIsolated(
    loopGuard(rt.ctx),
    'refund_psp_fees',
    due,
    (refund) => ({ refundId: refund.id }),
    async (refund) => {
      await followUpOne(rt, refund);
    },
  );
  return due.length;
}

async function followUpOne(rt: RefundsRuntime, refund: Refund): Promise<void> {
  let share: bigint;
  let feeCurrency: string;
  try {
    const charge = await rt.psp.retrieveCharge(refund.pspPaymentId);
    share = pspFeeShare(charge.feeMinor ?? 0n, charge.amountMinor, refund.amountMinor);
    feeCurrency = charge.feeCurrency ?? charge.currency;
  } catch (error) {
    if (!(error instanceof PspError)) throw error;
    await withTransaction(rt.ctx.pool, async (client) => {
      const attempts = await client.query<{ psp_fee_attempts: number }>(
        `UPDATE refunds.refunds SET psp_fee_attempts = psp_fee_attempts + 1,
           next_psp_fee_at = now() + make_interval(secs => $2::float8 / 1000), last_error = $3
         WHERE id = $1 RETURNING psp_fee_attempts`,
        [refund.id, rt.config.pspFeeRetryMs, `psp_fee: ${error.message}`.slice(0, 500)],
      );
      if ((attempts.rows[0]?.psp_fee_attempts ?? 0) >= rt.config.pspFeeMaxAttempts)
        await updateRefund(client, refund.id, { psp_fee_due: false, next_psp_fee_at: null });
    });
    return;
  }
  await withBookingRetry(rt.ctx.pool, (client) => bookPspFee(client, rt, refund.id, { share, feeCurrency }));
}

/**
 * Books the seller's part of the PSP fee, in the fee's currency. The seller bears it only when credited in that
 * currency: a converted order's seller is when the PSP settles in their currency; otherwise (the seller holds no
 * balance in the fee's currency) the platform keeps bearing it and nothing is booked.
 */
async function bookPspFee(
  client: PoolClient,
  rt: RefundsRuntime,
  refundId: string,
  fee: { share: bigint; feeCurrency: string },
): Promise<void> {
  const refund = await getRefund(client, refundId, { forUpdate: true });
  if (!refund || !refund.pspFeeDue || refund.pspRefundId === null || refund.status !== 'succeeded') return;
  const [order] = await rt.orders.byIds(client, [refund.paymentOrderId]);
  const sellerCurrency = order?.conversion?.settlementCurrency ?? refund.currency;
  const share = sellerCurrency === fee.feeCurrency ? fee.share : 0n;
  let entryId: string | null = null;
  if (share > 0n) {
    const codes = (['pending', 'available', 'reserved'] as const).map(
      (bucket) => sellerAccount(refund.sellerAccount, bucket, sellerCurrency).code,
    );
    const balances = await getBalances(client, codes);
    const of = (index: number) => balances.get(codes[index] ?? '')?.balanceMinor ?? 0n;
    const split = splitClawback({ pending: of(0), available: of(1), reserved: of(2) }, share);
    const posted = await postEntry(
      client,
      refundPspFee({
        refundId: refund.id,
        pspRefundId: refund.pspRefundId,
        paymentOrderId: refund.paymentOrderId,
        sellerId: refund.sellerAccount,
        currency: sellerCurrency,
        feeMinor: share,
        split,
      }),
    );
    entryId = posted.entryId;
  }
  await updateRefund(client, refund.id, {
    psp_fee_due: false,
    next_psp_fee_at: null,
    psp_fee_entry_id: entryId,
  });
}
