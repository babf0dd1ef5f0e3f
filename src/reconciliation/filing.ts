import type { PoolClient } from '../db/pool.ts';
import { afterCommit, withTransaction } from '../db/tx.ts';
import { classOf, type Finding } from './domain/types.ts';
import { fileFindings, fileOne } from './exceptions-store.ts';
import { applyFix, FixNotNeeded } from './fixes.ts';
import { countException, type RunCounters } from './report.ts';
import type { ReconRuntime } from './runtime.ts';

/** Files findings without a cure in the caller's transaction, counting only those filed for the first time. */
export async function fileAll(
  rt: ReconRuntime,
  client: PoolClient,
  runId: string,
  findings: Finding[],
  counters: RunCounters,
): Promise<void> {
  const created = await fileFindings(client, runId, findings);
  for (const { kind } of created) {
    const cls = classOf(kind);
    countException(counters, cls, kind);
    afterCommit(client, () => rt.metrics.exceptions.inc({ class: cls, kind }));
  }
}

/**
 * Files a finding with a known cure and applies the cure, in one transaction: the exception (status `fixed`), the
 * cure through the normal flow's code, and the audit row naming the exception commit together or not at all. A
 * cure the normal flow has made unnecessary meanwhile (the webhook arrived) files nothing. A cure that fails rolls
 * back and the difference is filed for investigation instead, with the error as its cause.
 */
export async function cureFinding(
  rt: ReconRuntime,
  runId: string,
  finding: Finding,
  effectiveAt: Date | undefined,
  counters: RunCounters,
): Promise<void> {
  const fix = finding.fix;
  if (fix === undefined) throw new Error('cureFinding needs a finding with a fix');
  try {
    const filed = await withTransaction(rt.pool, async (client) => {
      const id = await fileOne(client, runId, finding, { class: 'auto_fixed', status: 'fixed', fix });
      if (id === undefined) return false;
      await applyFix(client, rt.fix, id, fix, effectiveAt);
      await client.query(
        `INSERT INTO recon.exception_events (exception_id, action, actor) VALUES ($1, 'auto_fixed', 'reconciliation')`,
        [id],
      );
      return true;
    });
    if (filed) {
      countException(counters, 'auto_fixed', finding.kind);
      rt.metrics.exceptions.inc({ class: 'auto_fixed', kind: finding.kind });
    }
  } catch (error) {
    if (error instanceof FixNotNeeded) return;
    rt.log.warn(
      { err: error, kind: finding.kind, dedupeKey: finding.dedupeKey },
      'reconciliation auto-fix failed',
    );
    const failed: Finding = {
      kind: 'auto_fix_failed',
      cause: `${finding.cause}; the automatic cure failed: ${(error as Error).message}`,
      dedupeKey: `auto_fix_failed:${finding.dedupeKey}`,
      evidence: { ...finding.evidence, intended_kind: finding.kind, intended_fix: fix },
      currency: finding.currency,
      amountMinor: finding.amountMinor,
    };
    await withTransaction(rt.pool, async (client) => fileAll(rt, client, runId, [failed], counters));
  }
}
