import type { Queryable } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import type { Finding } from './domain/types.ts';
import { fileAll } from './filing.ts';
import type { RunCounters } from './report.ts';
import type { ReconRuntime } from './runtime.ts';

/** A refund of ours that succeeded, as reconciliation asks the PSP's report about it (docs/refunds.md). */
export interface SucceededRefund {
  refundId: string;
  pspRefundId: string;
  paymentOrderId: string;
  amountMinor: bigint;
  currency: string;
  succeededAt: Date;
}

/** What reconciliation needs of the refunds module (wired in src/compose.ts). */
export interface RefundSide {
  /** Refunds still succeeded that succeeded in [from, before), oldest first, at most `limit`. */
  succeededBetween(db: Queryable, from: Date, before: Date, limit: number): Promise<SucceededRefund[]>;
}

/**
 * Refunds of ours the PSP never reported (`refund_missing_at_psp`, investigation), once the settlement window has
 * passed: a succeeded refund with no `refund` line of its PSP refund id in any imported report, asked about only
 * inside the span the imported reports cover. Filed once per refund.
 */
export async function checkMissingPspRefunds(
  rt: ReconRuntime,
  runId: string,
  counters: RunCounters,
): Promise<void> {
  const refunds = rt.refunds;
  if (refunds === undefined) return;
  const cutoff = new Date(rt.clock.now().getTime() - rt.settlementWindowHours * 3_600_000);
  const coverage = await rt.pool.query<{ start: Date | null }>(
    `SELECT min(interval_start) AS start FROM recon.imports WHERE source = 'psp' AND status = 'applied'`,
  );
  const start = coverage.rows[0]?.start ?? null;
  if (start === null) return;
  const found = await refunds.succeededBetween(rt.pool, start, cutoff, 10_000);
  if (found.length === 0) return;
  const known = await rt.pool.query<{ id: string }>(
    `SELECT l.source_id AS id FROM recon.psp_lines l WHERE l.category = 'refund' AND l.source_id = ANY($1::text[])
     UNION
     SELECT r.id FROM unnest($1::text[]) AS r(id)
      WHERE EXISTS (SELECT 1 FROM recon.exceptions x WHERE x.dedupe_key = 'refund_missing_at_psp:' || r.id)`,
    [found.map((refund) => refund.pspRefundId)],
  );
  const skip = new Set(known.rows.map((row) => row.id));
  const findings: Finding[] = found
    .filter((refund) => !skip.has(refund.pspRefundId))
    .map((refund) => ({
      kind: 'refund_missing_at_psp',
      cause: `refund ${refund.refundId} (${refund.pspRefundId}) of order ${refund.paymentOrderId} succeeded at ${refund.succeededAt.toISOString()} but no PSP report line accounts for it ${rt.settlementWindowHours} h later`,
      dedupeKey: `refund_missing_at_psp:${refund.pspRefundId}`,
      evidence: {
        refund_id: refund.refundId,
        psp_refund_id: refund.pspRefundId,
        payment_order_id: refund.paymentOrderId,
        amount_minor: refund.amountMinor.toString(),
        currency: refund.currency,
      },
      currency: refund.currency,
      amountMinor: refund.amountMinor,
    }));
  if (findings.length === 0) return;
  await withTransaction(rt.pool, async (client) => fileAll(rt, client, runId, findings, counters));
}
