import { open } from 'node:fs/promises';
import type { Finding } from './domain/types.ts';
import { fileFindings } from './exceptions-store.ts';
import { newRunId } from './ids.ts';
import type { StatusReportOutcome } from './payouts-port.ts';
import type { ReconRuntime } from './runtime.ts';

/**
 * pain.002 payment status reports met by reconciliation (the bank directory of the daily run, or
 * `bursar payouts settle-status`): applied by the payouts module, and whatever they name that Bursar never sent
 * (a file, a payout) filed as a `status_report_unknown` exception for investigation, in a run of its own
 * (kind `bank`, trigger `pain.002:<file name>`).
 */

function findingsOf(outcome: StatusReportOutcome, name: string): Finding[] {
  return outcome.unknown.map((item) => ({
    kind: 'status_report_unknown',
    cause:
      item.kind === 'file'
        ? `the status report ${name} answers payout file ${item.reference}, which Bursar never sent`
        : `the status report ${name} names payout ${item.reference}, which is not in file ${outcome.originalMessageId}`,
    dedupeKey: `status_report_unknown:${outcome.originalMessageId}:${item.kind}:${item.reference}`,
    evidence: {
      source: 'pain.002',
      file: name,
      original_message_id: outcome.originalMessageId,
      reference: item.reference,
      ...(item.status === undefined ? {} : { status: item.status }),
      ...(item.reason === undefined ? {} : { reason: item.reason }),
    },
  }));
}

/** Applies one pain.002 report and files its unknowns in a run of its own (none for a report read before). */
export async function applyStatusReport(
  rt: ReconRuntime,
  text: string,
  name: string,
): Promise<{ runId: string | undefined; outcome: StatusReportOutcome; filed: number }> {
  const apply = rt.fix.payouts.applyStatusReport;
  if (apply === undefined)
    throw new Error('this deployment reads no pain.002 status reports (no payouts module)');
  const outcome = await apply(rt.pool, text, name);
  // A report read before did nothing: no run (the daily run meets the same file in the bank directory every day).
  if (outcome.duplicate) return { runId: undefined, outcome, filed: 0 };
  const runId = newRunId();
  await rt.pool.query('INSERT INTO recon.runs (id, kind, trigger) VALUES ($1, $2, $3)', [
    runId,
    'bank',
    `pain.002:${name}`.slice(0, 500),
  ]);
  const filed = await fileFindings(rt.pool, runId, findingsOf(outcome, name));
  const report = { runId, kind: 'bank', statusReport: { ...outcome, exceptionsFiled: filed.length } };
  await rt.pool.query(
    `UPDATE recon.runs SET status = 'succeeded', report = $2, finished_at = now() WHERE id = $1`,
    [runId, JSON.stringify(report)],
  );
  rt.log.info(
    { runId, file: name, outcome: { ...outcome, unknown: outcome.unknown.length } },
    'pain.002 status report applied',
  );
  return { runId, outcome, filed: filed.length };
}

/** A bank directory's file that is a pain.002 status report (by its root namespace). */
export async function isStatusReportFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0);
    const head = buffer.subarray(0, bytesRead).toString('utf8');
    return /urn:iso:std:iso:20022:tech:xsd:pain\.002\.001\./.test(head);
  } finally {
    await handle.close();
  }
}
