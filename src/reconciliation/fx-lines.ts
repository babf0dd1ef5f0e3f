import type { PoolClient } from '../db/pool.ts';
import { fxSettlementDifference, postEntry } from '../ledger/index.ts';
import type { FxLineOutcome } from './domain/classify-fx.ts';
import type { RunCounters } from './report.ts';

/** A converted line's outcome, with where it was read and when it happened. */
export type FxLineRecord = FxLineOutcome & { line: number; effectiveAt: Date | undefined };

/**
 * Records the chunk's converted lines in `recon.fx_lines`, in the chunk's transaction, and books each
 * difference within the tolerance with the ledger's `fxSettlementDifference` (reference
 * `fx_difference:<balance transaction>`, so a re-applied chunk books nothing twice). The exceptions of the other
 * outcomes are filed by the caller with the chunk's other findings.
 */
export async function recordFxLines(
  client: PoolClient,
  at: { runId: string; importId: string },
  records: FxLineRecord[],
  counters: RunCounters,
): Promise<void> {
  if (records.length === 0) return;
  for (const record of records) {
    if (record.bookMinor === undefined) continue;
    await postEntry(
      client,
      fxSettlementDifference({
        balanceTransactionId: record.balanceTransactionId,
        presentmentCurrency: record.presentmentCurrency,
        settlementCurrency: record.settlementCurrency,
        differenceMinor: record.bookMinor,
        ...(record.effectiveAt === undefined ? {} : { effectiveAt: record.effectiveAt }),
        metadata: {
          reportedMinor: record.reportedMinor.toString(),
          bookedMinor: record.bookedMinor?.toString(),
          toleranceBps: record.toleranceBps,
          importId: at.importId,
        },
      }),
    );
  }
  const col = <T>(pick: (r: FxLineRecord) => T): T[] => records.map(pick);
  const inserted = await client.query<{ kind: string }>(
    `INSERT INTO recon.fx_lines (balance_transaction_id, import_id, line, run_id, kind, presentment_currency,
       presentment_minor, settlement_currency, reported_minor, booked_minor, difference_minor, tolerance_bps,
       entry_reference, reporting_category)
     SELECT t, $1, l, $2, k, pc, pm, sc, rm, bm, dm, tb, er, rc
       FROM unnest($3::text[], $4::int[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::bigint[],
                   $10::bigint[], $11::bigint[], $12::int[], $13::text[], $14::text[])
         AS u(t, l, k, pc, pm, sc, rm, bm, dm, tb, er, rc)
     ON CONFLICT (balance_transaction_id) DO NOTHING
     RETURNING kind`,
    [
      at.importId,
      at.runId,
      col((r) => r.balanceTransactionId),
      col((r) => r.line),
      col((r) => r.kind),
      col((r) => r.presentmentCurrency),
      col((r) => r.presentmentMinor.toString()),
      col((r) => r.settlementCurrency),
      col((r) => r.reportedMinor.toString()),
      col((r) => r.bookedMinor?.toString() ?? null),
      col((r) => r.differenceMinor?.toString() ?? null),
      col((r) => r.toleranceBps),
      col((r) => (r.bookMinor === undefined ? null : `fx_difference:${r.balanceTransactionId}`)),
      col((r) => r.category),
    ],
  );
  for (const row of inserted.rows) counters.fxLines[row.kind] = (counters.fxLines[row.kind] ?? 0) + 1;
}
