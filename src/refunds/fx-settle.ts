import type { PoolClient } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { isAppError } from '../errors.ts';
import { forEachIsolated, loopGuard } from '../jobs/loops.ts';
import { fxSettled, fxSettledOut, postEntry, realisedOnShare } from '../ledger/index.ts';
import { PspError, type PspBalanceMovement } from '../psp/index.ts';
import type { RefundsRuntime } from './runtime.ts';
import { getRefund, refundsWhere, updateRefund } from './store.ts';
import type { Refund, RefundableOrder } from './types.ts';

/**
 * The PSP's own conversion of a refund (docs/currencies.md "Refunds and disputes"). A refund of a charge the PSP
 * settled in the platform's settlement currency leaves the PSP balance in that currency, at the PSP's rate: its
 * balance transaction says how much and at which rate. The refund entry took the buyer's amount off PSP clearing
 * in the presentment currency and the seller's share at the order's rate onto the FX position; this books what the
 * PSP really took (`fxSettledOut`, reference `fx_settled:<balance transaction>`), and on a seller credited in the
 * settlement currency the difference to what the seller gave back is realised FX gain or loss. A refund that
 * failed after succeeding got its money back by another balance transaction, booked the other way (`fxSettled`).
 * Each once: the reference is the balance transaction's.
 */

/** What the PSP moved for a refund, when it said so (an answer with the balance transactions expanded). */
export interface RefundMovements {
  settlement?: PspBalanceMovement | undefined;
  failureSettlement?: PspBalanceMovement | undefined;
}

function sellerShareMinor(refund: Refund): bigint {
  const booking = refund.booking;
  if (booking === null) return 0n;
  const { split } = booking;
  return split.pending + split.available + split.reserved + split.receivable + booking.platformFeeBackMinor;
}

/** Posts one conversion, or says there is nothing to convert (the PSP moved the refund's own currency). */
async function postConversion(
  client: PoolClient,
  rt: RefundsRuntime,
  refund: Refund,
  order: RefundableOrder | undefined,
  movement: PspBalanceMovement,
  direction: 'in' | 'out',
): Promise<void> {
  if (movement.currency === refund.currency) return;
  const settled = movement.amountMinor < 0n ? -movement.amountMinor : movement.amountMinor;
  if (settled === 0n) return;
  // Realised only on a seller credited in the settlement currency: what they gave back is what is booked there.
  const booked = order?.conversion?.settlementCurrency === movement.currency ? sellerShareMinor(refund) : 0n;
  const realised = realisedOnShare({
    direction,
    settledMinor: settled,
    totalMinor: refund.amountMinor,
    shareMinor: booked > 0n ? refund.amountMinor : 0n,
    bookedMinor: booked,
  });
  const input = {
    settlementId: movement.balanceTransactionId,
    presentmentCurrency: refund.currency,
    amountMinor: refund.amountMinor,
    settlementCurrency: movement.currency,
    settledMinor: settled,
    realisedMinor: realised,
    exchangeRate: movement.exchangeRate ?? 'not given',
    metadata: {
      refundId: refund.id,
      pspRefundId: refund.pspRefundId,
      paymentOrderId: refund.paymentOrderId,
      checkoutId: refund.checkoutId,
      presentmentCurrency: refund.currency,
      settlementCurrency: movement.currency,
      ...(booked > 0n ? { bookedMinor: booked.toString() } : {}),
    },
  };
  try {
    await postEntry(client, direction === 'out' ? fxSettledOut(input) : fxSettled(input));
  } catch (error) {
    if (!(isAppError(error) && error.code === 'ledger_reference_conflict')) throw error;
    rt.ctx.log.warn(
      { refundId: refund.id, balanceTransactionId: movement.balanceTransactionId },
      "the PSP's conversion of this refund is booked already with other amounts; left to reconciliation",
    );
  }
}

/**
 * Books the PSP's conversion of `refund` (locked by the caller, in its transaction) from what the PSP said, and
 * keeps `fx_due` in step: cleared once everything the refund moved is booked (or needed no conversion), set when
 * a converted order's refund still waits for a balance transaction the answer did not carry. An unconverted
 * order's refund without the facts is left to reconciliation (`fx_settlement_unbooked`) rather than asked about.
 */
export async function bookRefundFx(
  client: PoolClient,
  rt: RefundsRuntime,
  refund: Refund,
  movements: RefundMovements,
  knownOrder?: RefundableOrder,
): Promise<'booked' | 'due' | 'left'> {
  if (refund.pspRefundId === null) return 'left';
  const order = knownOrder ?? (await rt.orders.byIds(client, [refund.paymentOrderId]))[0];
  let complete = true;
  const needs: Array<[PspBalanceMovement | undefined, 'in' | 'out']> = [];
  if (refund.ledgerEntryId !== null) needs.push([movements.settlement, 'out']);
  if (refund.reversalEntryId !== null) needs.push([movements.failureSettlement, 'in']);
  for (const [movement, direction] of needs) {
    if (movement === undefined) complete = false;
    else await postConversion(client, rt, refund, order, movement, direction);
  }
  const due = !complete && order?.conversion !== undefined;
  if (due !== refund.fxDue)
    await updateRefund(client, refund.id, due ? { fx_due: true, next_fx_at: new Date() } : { fx_due: false });
  return due ? 'due' : complete ? 'booked' : 'left';
}

/**
 * The refund worker's FX follow-up: refunds whose PSP conversion is due are asked of the PSP (their balance
 * transactions expanded) outside any transaction, then booked in one that locks the refund. A PSP that cannot
 * say yet is asked again after `pspFeeRetryMs`, at most `pspFeeMaxAttempts` times; then the refund is left to
 * reconciliation, which files what it finds unbooked.
 */
export async function followUpRefundFx(rt: RefundsRuntime): Promise<number> {
  const due = await withTransaction(rt.ctx.pool, async (client) => {
    const found = await refundsWhere(
      client,
      `r.fx_due AND r.next_fx_at <= now() ORDER BY r.next_fx_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [rt.config.batchSize],
    );
    // Claimed: the next look is pushed back before the PSP is asked, so two workers never ask at once.
    for (const refund of found)
      await client.query(
        `UPDATE refunds.refunds SET fx_attempts = fx_attempts + 1,
           next_fx_at = now() + make_interval(secs => $2::float8 / 1000) WHERE id = $1`,
        [refund.id, rt.config.pspFeeRetryMs],
      );
    return found;
  });
  await forEachIsolated(
    loopGuard(rt.ctx),
    'refund_fx',
    due,
    (refund) => ({ refundId: refund.id }),
    async (refund) => {
      await followUpOne(rt, refund);
    },
  );
  return due.length;
}

async function followUpOne(rt: RefundsRuntime, claimed: Refund): Promise<void> {
  if (claimed.pspRefundId === null) return;
  let movements: RefundMovements | undefined;
  let why = '';
  try {
    const answer = await rt.psp.retrieveRefund(claimed.pspRefundId);
    movements = { settlement: answer.settlement, failureSettlement: answer.failureSettlement };
  } catch (error) {
    if (!(error instanceof PspError)) throw error;
    why = `fx: ${error.message}`;
  }
  await withTransaction(rt.ctx.pool, async (client) => {
    const refund = await getRefund(client, claimed.id, { forUpdate: true });
    if (!refund?.fxDue) return;
    const outcome = movements === undefined ? 'due' : await bookRefundFx(client, rt, refund, movements);
    if (outcome !== 'due') return;
    const attempts = await client.query<{ fx_attempts: number }>(
      'SELECT fx_attempts FROM refunds.refunds WHERE id = $1',
      [refund.id],
    );
    const exhausted = (attempts.rows[0]?.fx_attempts ?? 0) >= rt.config.pspFeeMaxAttempts;
    await updateRefund(client, refund.id, {
      ...(why === '' ? {} : { last_error: why.slice(0, 500) }),
      ...(exhausted ? { fx_due: false } : {}),
    });
    if (exhausted)
      rt.ctx.log.warn(
        { refundId: refund.id, pspRefundId: refund.pspRefundId },
        "the PSP's conversion of this refund is still unknown; left to reconciliation",
      );
  });
}
