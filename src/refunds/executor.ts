import { withTransaction } from '../db/tx.ts';
import { canRetry, retryDelayMs } from '../jobs/backoff.ts';
import { insertDeadLetter } from '../jobs/dead-letters.ts';
import { PspError, REFUND_METADATA_KEY, type PspRefund } from '../psp/index.ts';
import { refundIdempotencyKey } from './ids.ts';
import { REFUND_DEAD_LETTER_QUEUE, type RefundsRuntime } from './runtime.ts';
import { settleRefund, withBookingRetry, applyPspAnswer } from './settle.ts';
import { getRefund, refundsWhere, updateRefund } from './store.ts';
import type { Refund } from './types.ts';

export type RefundExecution =
  | { outcome: 'settled'; status: string }
  | { outcome: 'retry_scheduled'; attempt: number; delayMs: number }
  | { outcome: 'dead_lettered'; attempt: number }
  | { outcome: 'skipped'; why: string };

/**
 * Claims refunds due for an attempt, in one short transaction: API refunds still pending without a PSP refund id,
 * whose next attempt is due (a new refund, a retry after backoff, or one whose previous attempt's lease ran out
 * because its process died). Each gets one more attempt and a lease; `SKIP LOCKED` lets workers share the work.
 */
export async function claimDueRefunds(rt: RefundsRuntime, limit: number): Promise<Refund[]> {
  return await withTransaction(rt.ctx.pool, async (client) => {
    const due = await refundsWhere(
      client,
      `r.status = 'pending' AND r.source = 'api' AND r.psp_refund_id IS NULL AND NOT r.needs_attention
         AND r.next_attempt_at <= now() ORDER BY r.next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    for (const refund of due) {
      await updateRefund(client, refund.id, {
        attempts: refund.attempts + 1,
        next_attempt_at: new Date(Date.now() + rt.config.leaseMs),
      });
    }
    return due.map((refund) => ({ ...refund, attempts: refund.attempts + 1 }));
  });
}

function metadataOf(refund: Refund): Record<string, string> {
  return {
    ...refund.metadata,
    [REFUND_METADATA_KEY]: refund.id,
    payment_order_id: refund.paymentOrderId,
  };
}

async function findQuietly(rt: RefundsRuntime, refund: Refund): Promise<PspRefund | undefined> {
  try {
    return await rt.psp.findRefund(refund.pspPaymentId, { [REFUND_METADATA_KEY]: refund.id });
  } catch {
    return undefined;
  }
}

/**
 * One attempt at one claimed refund, the pay-in executor's discipline: the intent is recorded (the refund row,
 * pending); the PSP is called outside any transaction with the key `bursar:rf:<refund id>` (identical on every
 * attempt, so the PSP refunds at most once); the answer is recorded in a second transaction. An attempt after an
 * earlier one whose outcome is unknown (a lost answer, a process that died) first asks the PSP (`findRefund`).
 */
export async function executeRefund(rt: RefundsRuntime, claimed: Refund): Promise<RefundExecution> {
  let answer: PspRefund | undefined;
  if (claimed.attempts > 1) answer = await findQuietly(rt, claimed);
  try {
    answer ??= await rt.psp.refund({
      idempotencyKey: refundIdempotencyKey(claimed.id),
      paymentId: claimed.pspPaymentId,
      amountMinor: claimed.amountMinor,
      metadata: metadataOf(claimed),
      reason: claimed.reason ?? undefined,
    });
  } catch (error) {
    if (!(error instanceof PspError)) throw error;
    if (error.failureClass === 'hard_decline') return await refuse(rt, claimed, error);
    if (error.failureClass === 'unknown') answer = await findQuietly(rt, claimed);
    if (answer === undefined) return await scheduleRetry(rt, claimed, error);
  }
  const outcome = await settleRefund(
    rt,
    claimed.id,
    {
      pspRefundId: answer.refundId,
      state: answer.state,
      failureReason: answer.failureReason,
      settlement: answer.settlement,
      failureSettlement: answer.failureSettlement,
    },
    'executor',
  );
  rt.ctx.log.info({ refundId: claimed.id, pspRefundId: answer.refundId, outcome }, 'refund executed');
  return { outcome: 'settled', status: answer.state };
}

/** The PSP refused the refund for good (already refunded, charge disputed…): failed, the amount released. */
async function refuse(rt: RefundsRuntime, refund: Refund, error: PspError): Promise<RefundExecution> {
  const reason = error.pspCode ?? error.declineCode ?? 'psp_refused';
  rt.ctx.log.warn({ refundId: refund.id, reason }, 'refund refused by the PSP');
  await withBookingRetry(rt.ctx.pool, async (client) => {
    const locked = await getRefund(client, refund.id, { forUpdate: true });
    if (!locked || locked.status !== 'pending') return;
    await applyPspAnswer(
      client,
      rt,
      locked,
      { pspRefundId: locked.pspRefundId ?? '', state: 'failed', failureReason: reason },
      'executor',
    );
  });
  return { outcome: 'settled', status: 'failed' };
}

/** A transient failure: the next attempt after backoff with jitter (honouring Retry-After), or the DLQ. */
async function scheduleRetry(rt: RefundsRuntime, refund: Refund, error: PspError): Promise<RefundExecution> {
  const lastError = `${error.failureClass}: ${error.message}`.slice(0, 500);
  const attempt = refund.attempts;
  if (!canRetry(attempt, rt.config.retry)) {
    await withTransaction(rt.ctx.pool, async (client) => {
      await updateRefund(client, refund.id, {
        needs_attention: true,
        next_attempt_at: null,
        last_error: lastError,
      });
      await insertDeadLetter(client, {
        queue: REFUND_DEAD_LETTER_QUEUE,
        subject: refund.id,
        payload: { refundId: refund.id },
        reason: lastError,
        attempts: attempt,
      });
    });
    rt.ctx.log.warn({ refundId: refund.id, attempt }, 'refund attempts exhausted: dead-lettered');
    return { outcome: 'dead_lettered', attempt };
  }
  const delayMs = retryDelayMs(attempt, rt.config.retry, {
    ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
  });
  await updateRefund(rt.ctx.pool, refund.id, {
    next_attempt_at: new Date(Date.now() + delayMs),
    last_error: lastError,
  });
  rt.ctx.log.warn({ refundId: refund.id, attempt, delayMs }, 'refund attempt failed; retry scheduled');
  return { outcome: 'retry_scheduled', attempt, delayMs };
}

/**
 * A dead letter's replay (`bursar dlq replay`): fresh attempts, due now, in the replay's transaction.
 */
export async function resetRefundForReplay(
  client: Parameters<typeof updateRefund>[0],
  refundId: string,
): Promise<void> {
  await client.query(
    `UPDATE refunds.refunds SET attempts = 0, needs_attention = false, next_attempt_at = now(), updated_at = now()
      WHERE id = $1 AND status = 'pending' AND psp_refund_id IS NULL`,
    [refundId],
  );
}
