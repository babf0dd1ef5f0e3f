import type { Queryable } from '../db/pool.ts';
import { forEachIsolated, loopGuard } from '../jobs/loops.ts';
import type { PspRefundFacts } from '../psp/index.ts';
import { discoverySinceUnix, refundsToApply, type KnownRefund } from './discovery-plan.ts';
import { applyPspRefundFacts } from './psp-events.ts';
import type { RefundsRuntime } from './runtime.ts';
import { withBookingRetry } from './settle.ts';
import type { RefundStatus } from './types.ts';

/** The refunds Bursar holds among these ids (ours by refund id, or by PSP refund id). */
async function knownRefunds(db: Queryable, listed: PspRefundFacts[]): Promise<KnownRefund[]> {
  if (listed.length === 0) return [];
  const ids = listed.flatMap((facts) => (facts.bursarRefundId === undefined ? [] : [facts.bursarRefundId]));
  const found = await db.query<{ id: string; psp_refund_id: string | null; status: RefundStatus }>(
    `SELECT id, psp_refund_id, status FROM refunds.refunds
      WHERE id = ANY($1::text[]) OR psp_refund_id = ANY($2::text[])`,
    [ids, listed.map((facts) => facts.refundId)],
  );
  return found.rows.map((row) => ({ id: row.id, pspRefundId: row.psp_refund_id, status: row.status }));
}

/**
 * Discovery (the worker's `refund_discover` step, every `discoverEveryMs`): lists the refunds the PSP made in the
 * last 72 hours and applies, each in its own transaction, every one whose webhooks Bursar missed, exactly as the
 * webhook would have (`applyPspRefundFacts`): a refund made in the PSP's dashboard is booked once; one of ours whose
 * final state never came is settled (or reversed when it failed after succeeding). A PSP without `listRefunds`
 * leaves this to the poller and reconciliation.
 */
export async function discoverRefundsOnce(rt: RefundsRuntime): Promise<{ listed: number; applied: number }> {
  const { ctx, psp } = rt;
  if (psp.listRefunds === undefined) return { listed: 0, applied: 0 };
  const listed = await psp.listRefunds(discoverySinceUnix(ctx.clock.now()));
  const due = refundsToApply(listed, await knownRefunds(ctx.pool, listed));
  const failures = await forEachIsolated(
    loopGuard(ctx),
    'refund_discover',
    due,
    (facts) => ({ pspRefundId: facts.refundId }),
    async (facts) => {
      const outcome = await withBookingRetry(ctx.pool, (client) =>
        applyPspRefundFacts(client, rt, facts, 'discovery'),
      );
      // A webhook may have come meanwhile (`already …`); an unmatched refund is seen again at every look.
      const quiet = /^(already|ignored|unmatched)/.test(outcome);
      ctx.log[quiet ? 'debug' : 'warn'](
        { pspRefundId: facts.refundId, refundId: facts.bursarRefundId, outcome },
        'refund discovered by listing the PSP: its webhooks never came',
      );
    },
  );
  return { listed: listed.length, applied: due.length - failures };
}
