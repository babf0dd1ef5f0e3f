import { withTransaction } from '../db/tx.ts';
import { forEachIsolated, loopGuard } from '../jobs/loops.ts';
import { PspError } from '../psp/index.ts';
import type { RefundsRuntime } from './runtime.ts';
import { settleRefund } from './settle.ts';
import { refundsWhere, updateRefund } from './store.ts';
import type { Refund } from './types.ts';

/**
 * Polling of refunds the PSP holds as pending when no webhook settles them: each is asked about (`retrieveRefund`)
 * once its `next_poll_at` is due; a final answer settles it, otherwise the next look is scheduled on a doubling
 * delay (capped). The claim moves `next_poll_at` first, so two workers never poll one refund at once.
 */
export async function pollPendingRefunds(rt: RefundsRuntime): Promise<number> {
  const due = await withTransaction(rt.ctx.pool, async (client) => {
    const found = await refundsWhere(
      client,
      `r.status = 'pending' AND r.psp_refund_id IS NOT NULL AND r.next_poll_at <= now()
        ORDER BY r.next_poll_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [rt.config.batchSize],
    );
    for (const refund of found) {
      await updateRefund(client, refund.id, {
        poll_count: refund.pollCount + 1,
        next_poll_at: new Date(Date.now() + nextPollDelayMs(rt, refund.pollCount + 1)),
      });
    }
    return found;
  });
  await forEachIsolated(
    loopGuard(rt.ctx),
    'refund_poll',
    due,
    (refund) => ({ refundId: refund.id }),
    async (refund) => {
      await pollOne(rt, refund);
    },
  );
  return due.length;
}

function nextPollDelayMs(rt: RefundsRuntime, polls: number): number {
  let delay = rt.config.pollAfterMs;
  for (let i = 1; i < polls && delay < rt.config.pollMaxDelayMs; i++) delay *= 2;
  return Math.min(delay, rt.config.pollMaxDelayMs);
}

async function pollOne(rt: RefundsRuntime, refund: Refund): Promise<void> {
  if (refund.pspRefundId === null) return;
  try {
    const answer = await rt.psp.retrieveRefund(refund.pspRefundId);
    await settleRefund(
      rt,
      refund.id,
      {
        pspRefundId: answer.refundId,
        state: answer.state,
        failureReason: answer.failureReason,
        settlement: answer.settlement,
        failureSettlement: answer.failureSettlement,
      },
      'poller',
    );
  } catch (error) {
    if (!(error instanceof PspError)) throw error;
    await updateRefund(rt.ctx.pool, refund.id, { last_error: `poll: ${error.message}`.slice(0, 500) });
  }
}
