import type { Pool, PoolClient } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { isAppError } from '../errors.ts';
import { recordEvent } from '../events/index.ts';
import type { PspRefundState } from '../psp/index.ts';
import { bookRefund, reverseRefund } from './booking.ts';
import { bookRefundFx, type RefundMovements } from './fx-settle.ts';
import type { RefundsRuntime } from './runtime.ts';
import { adjustRefundable, getRefund, insertHistory, updateRefund } from './store.ts';
import type { Refund, RefundStatus } from './types.ts';
import { refundToWire } from './wire.ts';

/** What the PSP says about one of our refunds (with its balance transactions when it answered them expanded). */
export interface PspRefundAnswer extends RefundMovements {
  pspRefundId: string;
  state: PspRefundState;
  failureReason?: string | undefined;
}

const EVENT_OF: Record<RefundStatus, string> = {
  pending: 'refund.updated',
  succeeded: 'refund.succeeded',
  failed: 'refund.failed',
  canceled: 'refund.updated',
};

/** Moves a refund's status (the trigger refuses any other move than pending → final and succeeded → failed). */
async function move(
  client: PoolClient,
  refund: Refund,
  to: RefundStatus,
  why: string,
  details: Record<string, unknown>,
  set: Record<string, unknown> = {},
): Promise<void> {
  await updateRefund(client, refund.id, { status: to, ...set });
  await insertHistory(client, refund.id, refund.status, to, why, details);
  const after = await getRefund(client, refund.id);
  if (after) await recordEvent(client, EVENT_OF[to], refundToWire(after));
}

/**
 * Applies the PSP's answer to a refund locked by the caller, in the caller's transaction: pending at the PSP →
 * polled until final; succeeded → booked; failed or canceled → the amount is refundable again; failed after
 * succeeding → the entry is reversed. Repeated answers change nothing; a contradicting one is ignored and said.
 */
export async function applyPspAnswer(
  client: PoolClient,
  rt: RefundsRuntime,
  refund: Refund,
  answer: PspRefundAnswer,
  via: string,
): Promise<string> {
  const idSet =
    refund.pspRefundId === null && answer.pspRefundId !== '' ? { psp_refund_id: answer.pspRefundId } : {};
  const current: Refund = {
    ...refund,
    pspRefundId: refund.pspRefundId ?? (answer.pspRefundId === '' ? null : answer.pspRefundId),
  };
  const details = { via, psp_refund_id: answer.pspRefundId };
  if (answer.state === 'pending') {
    if (refund.status !== 'pending') return `already ${refund.status}`;
    const nextPoll = new Date(Date.now() + rt.config.pollAfterMs);
    await updateRefund(client, refund.id, { ...idSet, next_attempt_at: null, next_poll_at: nextPoll });
    return 'pending at the PSP';
  }
  if (answer.state === 'succeeded') {
    if (refund.status === 'succeeded') return await alreadyFinal(client, rt, current, answer);
    if (refund.status !== 'pending') return `ignored: succeeded after ${refund.status}`;
    await move(client, refund, 'succeeded', 'psp_succeeded', details, {
      ...idSet,
      next_attempt_at: null,
      next_poll_at: null,
    });
    const { booked, order } = await bookRefund(client, rt, { ...current, status: 'succeeded' });
    await bookRefundFx(client, rt, booked, answer, order);
    return 'succeeded: booked';
  }
  const to: RefundStatus = answer.state === 'canceled' ? 'canceled' : 'failed';
  const reason = answer.failureReason ?? (to === 'canceled' ? 'canceled' : 'psp_failed');
  if (refund.status === 'pending') {
    await move(client, refund, to, reason, details, {
      ...idSet,
      failure_reason: reason,
      next_attempt_at: null,
      next_poll_at: null,
    });
    await adjustRefundable(client, refund.paymentOrderId, { refunded: -refund.amountMinor });
    return `${to}: nothing booked`;
  }
  if (refund.status === 'succeeded' && to === 'failed') {
    await move(client, refund, 'failed', `failed_after_succeeding: ${reason}`, details, {
      failure_reason: reason,
    });
    const reversal = await reverseRefund(client, rt, current);
    if (reversal) await bookRefundFx(client, rt, reversal.reversed, answer, reversal.order);
    return 'failed after succeeding: reversed';
  }
  if (refund.status === 'failed') return await alreadyFinal(client, rt, current, answer);
  return `already ${refund.status}`;
}

/**
 * A repeated answer about a final refund changes nothing, except that one carrying the balance transactions the
 * refund's PSP conversion still waits for (`fx_due`) books it.
 */
async function alreadyFinal(
  client: PoolClient,
  rt: RefundsRuntime,
  refund: Refund,
  answer: PspRefundAnswer,
): Promise<string> {
  if (!refund.fxDue || (answer.settlement === undefined && answer.failureSettlement === undefined))
    return `already ${refund.status}`;
  const outcome = await bookRefundFx(client, rt, refund, answer);
  return `already ${refund.status}; FX settlement ${outcome}`;
}

/**
 * Runs `work` in a transaction, again (up to 3 times) when the ledger refused it with `account_limit_exceeded`:
 * a seller balance read for the claw-back split changed before the post, and the next run reads it afresh.
 */
export async function withBookingRetry<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(pool, work);
    } catch (error) {
      if (attempt < 3 && isAppError(error) && error.code === 'account_limit_exceeded') continue;
      throw error;
    }
  }
}

/** `applyPspAnswer` in its own transaction, with the refund locked. */
export async function settleRefund(
  rt: RefundsRuntime,
  refundId: string,
  answer: PspRefundAnswer,
  via: string,
): Promise<string> {
  return await withBookingRetry(rt.ctx.pool, async (client) => {
    const refund = await getRefund(client, refundId, { forUpdate: true });
    if (!refund) return 'not_found';
    return await applyPspAnswer(client, rt, refund, answer, via);
  });
}
