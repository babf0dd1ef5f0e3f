import { withTransaction } from '../db/tx.ts';
import { forEachIsolated, loopGuard } from '../jobs/loops.ts';
import type { PspCharge } from '../psp/index.ts';
import { claimDueFees, clearFeePending, noteFeeAttemptFailed, type PendingFee } from './fee-store.ts';
import { bookChargeFxSettlement } from './fx-settle.ts';
import { lookUpCharge, type FeeSubject } from './psp-fee.ts';
import type { PayinsRuntime } from './runtime.ts';
import { transitionDeps } from './service.ts';
import { feeOfCharge, postPspFeeOnce } from './settle.ts';
import { getOrder, getOrders } from './store.ts';

/** Pending fees claimed per tick. */
export const FEE_FOLLOW_UP_BATCH = 50;

function subjectOf(pending: PendingFee): FeeSubject {
  const paymentId = pending.pspPaymentId ?? undefined;
  if (pending.pspSessionId !== null)
    return { subject: 'session', sessionId: pending.pspSessionId, paymentId };
  return { subject: 'order', paymentOrderId: pending.paymentOrderId ?? '', paymentId };
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The pay-in worker's `psp_fees` step: the PSP fees of successes that settled without them (the PSP failed
 * transiently when asked; settle.ts marked them pending in the settling transaction). Each due fee is claimed
 * (its attempt counted and the next one scheduled by the backoff, so two workers never ask twice at once), asked
 * of the PSP outside any transaction, and booked — the ledger's `pspFeeCharged` recipe under
 * `psp_fee:<balance transaction>`, the reference settle.ts and reconciliation book under, so a fee booked
 * meanwhile is not booked again — in the transaction that clears the mark, with the charge's conversion into the
 * settlement currency when the PSP converted it (`fx_settled:<balance transaction>`, fx-settle.ts). After `feeMaxAttempts` the mark is
 * flagged `gave_up_at`, logged at warn, and the fee left to reconciliation. Each fee fails on its own.
 */
export async function followUpPspFees(runtime: PayinsRuntime, limit = FEE_FOLLOW_UP_BATCH): Promise<number> {
  const { config } = runtime;
  const due = await claimDueFees(runtime.ctx.pool, {
    limit,
    baseMs: config.feeRetryBaseMs,
    maxMs: config.feeRetryMaxMs,
  });
  await forEachIsolated(
    loopGuard(runtime.ctx),
    'psp_fees',
    due,
    (pending) => ({ feeSubject: pending.subject, checkoutId: pending.checkoutId }),
    async (pending) => {
      await followUpOne(runtime, pending);
    },
  );
  return due.length;
}

/** Asks the PSP for one pending fee and books it; a failure is recorded on the mark (then flagged after the last). */
async function followUpOne(runtime: PayinsRuntime, pending: PendingFee): Promise<void> {
  let charge: PspCharge | undefined;
  try {
    charge = await lookUpCharge(runtime, subjectOf(pending));
  } catch (error) {
    await failed(runtime, pending, describeError(error));
    return;
  }
  const paymentMatches =
    charge !== undefined && (pending.pspPaymentId === null || charge.paymentId === pending.pspPaymentId);
  const fee = charge !== undefined && paymentMatches ? feeOfCharge(charge) : undefined;
  if (charge === undefined || fee === undefined) {
    // The PSP answered without the charge's balance transaction (not there yet): asked again, within the bound.
    await failed(runtime, pending, 'the PSP answered without the charge’s fee');
    return;
  }
  const deps = transitionDeps(runtime);
  const booked = await withTransaction(runtime.ctx.pool, async (client) => {
    const result =
      fee.feeMinor > 0n
        ? await postPspFeeOnce(client, deps, {
            balanceTransactionId: fee.balanceTransactionId,
            currency: fee.currency,
            feeMinor: fee.feeMinor,
            pspPaymentId: charge.paymentId,
            pspChargeId: charge.chargeId ?? null,
            checkoutId: pending.checkoutId,
            paymentOrderId: pending.paymentOrderId,
          })
        : { created: false };
    // The charge's conversion, which its first answer could not say either (docs/currencies.md "Settlement").
    const paid =
      pending.paymentOrderId === null
        ? await getOrders(client, pending.checkoutId)
        : [await getOrder(client, pending.paymentOrderId)].flatMap((order) => (order ? [order] : []));
    await bookChargeFxSettlement(client, deps, fee, paid);
    await clearFeePending(client, pending.subject);
    return result.created;
  });
  runtime.ctx.log.info(
    {
      feeSubject: pending.subject,
      checkoutId: pending.checkoutId,
      balanceTransactionId: fee.balanceTransactionId,
      attempts: pending.feeAttempts,
      booked,
    },
    booked ? 'pending PSP fee booked' : 'pending PSP fee found booked already (or zero); mark cleared',
  );
}

async function failed(runtime: PayinsRuntime, pending: PendingFee, why: string): Promise<void> {
  const giveUp = pending.feeAttempts >= runtime.config.feeMaxAttempts;
  await noteFeeAttemptFailed(runtime.ctx.pool, pending.subject, why, giveUp);
  const ids = {
    feeSubject: pending.subject,
    checkoutId: pending.checkoutId,
    paymentOrderId: pending.paymentOrderId,
    pspPaymentId: pending.pspPaymentId,
    attempts: pending.feeAttempts,
    lastError: why,
  };
  if (giveUp)
    runtime.ctx.log.warn(ids, 'PSP fee follow-up attempts exhausted; the fee is left to reconciliation');
  else runtime.ctx.log.info(ids, 'PSP fee still unavailable; asked again later');
}
