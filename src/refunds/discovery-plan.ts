import type { PspRefundFacts } from '../psp/index.ts';
import type { RefundStatus } from './types.ts';

/**
 * The pure part of refund discovery (docs/refunds.md, "Discovery"): of the refunds the PSP lists, which ones Bursar
 * must act on. No I/O here; `discovery.ts` reads, lists and applies.
 */

/** How far back discovery looks: a refund made longer ago has had many looks to be found. */
export const REFUND_DISCOVERY_WINDOW_MS = 72 * 3600 * 1000;

/** The `created[gte]` of a discovery at `now` (Unix seconds, rounded down). */
export function discoverySinceUnix(now: Date, windowMs = REFUND_DISCOVERY_WINDOW_MS): number {
  return Math.floor((now.getTime() - windowMs) / 1000);
}

/** One of our refunds as discovery needs it. */
export interface KnownRefund {
  id: string;
  pspRefundId: string | null;
  status: RefundStatus;
}

/**
 * Whether what the PSP says of a refund changes anything Bursar holds, i.e. what its lost webhook would have done:
 * - still pending at the PSP: nothing yet (the poller or a later look settles it);
 * - a refund we do not hold: booked when it succeeded (made in the PSP's dashboard), otherwise nothing;
 * - ours, still pending with us: its final state (succeeded, failed, canceled) settles it;
 * - ours, succeeded with us and failed at the PSP: the reversal;
 * - anything else is already what the PSP says.
 */
export function needsApplying(facts: PspRefundFacts, ours: KnownRefund | undefined): boolean {
  if (facts.state === 'pending') return false;
  if (ours === undefined) return facts.state === 'succeeded';
  if (ours.status === 'pending') return true;
  return ours.status === 'succeeded' && facts.state === 'failed';
}

/**
 * The listed refunds to apply, each once (the first listing of a PSP refund id wins), given the refunds Bursar
 * holds; ours are found by the refund id in the PSP refund's metadata first, then by the PSP refund id, as the
 * webhook path finds them.
 */
export function refundsToApply(listed: PspRefundFacts[], known: KnownRefund[]): PspRefundFacts[] {
  const byId = new Map(known.map((refund) => [refund.id, refund]));
  const byPspId = new Map(
    known.flatMap((refund) => (refund.pspRefundId === null ? [] : [[refund.pspRefundId, refund] as const])),
  );
  const seen = new Set<string>();
  return listed.filter((facts) => {
    if (seen.has(facts.refundId)) return false;
    seen.add(facts.refundId);
    const ours =
      (facts.bursarRefundId === undefined ? undefined : byId.get(facts.bursarRefundId)) ??
      byPspId.get(facts.refundId);
    return needsApplying(facts, ours);
  });
}
