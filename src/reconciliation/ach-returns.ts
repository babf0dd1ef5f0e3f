import { open } from 'node:fs/promises';
import type { Finding } from './domain/types.ts';
import { fileFindings } from './exceptions-store.ts';
import { newRunId } from './ids.ts';
import type { AchReturnsOutcome } from './payouts-port.ts';
import type { ReconRuntime } from './runtime.ts';

/**
 * ACH return and notification-of-change files met by reconciliation (the bank directory of the daily run, or
 * `bursar payouts settle-ach`): applied by the payouts module (returns settle payouts, NOCs become bank
 * corrections to confirm), and every line that settled nothing — no ACH payout has its original trace number,
 * the amount is not the payout's, no 98/99 addenda or an unknown code — filed as an `ach_return_unmatched`
 * exception (class investigation) in a run of its own (kind `bank`, trigger `ach:<file name>`): a return that
 * matches nothing never vanishes. Each file is remembered by its SHA-256 (`recon.ach_files`); the daily run reads a
 * file once, the CLI applies it again on request (which changes nothing already applied).
 */

export interface AchReturnFileResult {
  runId: string;
  outcome: AchReturnsOutcome;
  /** Exceptions filed now (a line filed before, by this file read earlier, is not filed again). */
  filed: number;
}

function findingsOf(outcome: AchReturnsOutcome, name: string): Finding[] {
  return outcome.unmatched.map((item) => ({
    kind: 'ach_return_unmatched',
    cause: `line ${item.line} of the ACH file ${name} settled nothing: ${item.reason}`,
    dedupeKey: `ach_return_unmatched:${outcome.sha256}:${item.line}`,
    evidence: {
      source: 'nacha',
      file: name,
      sha256: outcome.sha256,
      line: item.line,
      item: item.kind,
      ...(item.code === undefined ? {} : { code: item.code }),
      ...(item.originalTrace === undefined ? {} : { original_trace: item.originalTrace }),
      ...(item.traceNumber === undefined ? {} : { trace_number: item.traceNumber }),
      ...(item.amountMinor === undefined ? {} : { amount_minor: item.amountMinor.toString() }),
    },
    ...(item.amountMinor === undefined ? {} : { currency: 'USD', amountMinor: item.amountMinor }),
  }));
}

/** True when a file with this SHA-256 was read before (by the daily run or the CLI). */
export async function achFileSeen(rt: ReconRuntime, sha256: string): Promise<boolean> {
  const seen = await rt.pool.query('SELECT 1 FROM recon.ach_files WHERE sha256 = $1', [sha256]);
  return (seen.rowCount ?? 0) > 0;
}

/** Applies one ACH return/NOC file and files its unmatched lines; refused whole when malformed. */
export async function applyAchReturnFile(
  rt: ReconRuntime,
  text: string,
  name: string,
): Promise<AchReturnFileResult> {
  const apply = rt.fix.payouts.applyAchReturns;
  if (apply === undefined) throw new Error('this deployment reads no ACH return files (no payouts module)');
  const outcome = await apply(rt.pool, text, name);
  const runId = newRunId();
  await rt.pool.query('INSERT INTO recon.runs (id, kind, trigger) VALUES ($1, $2, $3)', [
    runId,
    'bank',
    `ach:${name}`.slice(0, 500),
  ]);
  const filed = await fileFindings(rt.pool, runId, findingsOf(outcome, name));
  const { unmatched, ...counts } = outcome;
  const report = {
    runId,
    kind: 'bank',
    achReturns: { ...counts, unmatched: unmatched.length, exceptionsFiled: filed.length },
  };
  await rt.pool.query(
    `UPDATE recon.runs SET status = 'succeeded', report = $2, finished_at = now() WHERE id = $1`,
    [runId, JSON.stringify(report)],
  );
  await rt.pool.query(
    `INSERT INTO recon.ach_files (sha256, name, run_id, entries, unmatched) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (sha256) DO NOTHING`,
    [outcome.sha256, name.slice(0, 500), runId, outcome.entries, unmatched.length],
  );
  rt.log.info(
    { runId, file: name, outcome: { ...counts, unmatched: unmatched.length }, filed: filed.length },
    'ACH return file applied',
  );
  return { runId, outcome, filed: filed.length };
}

/** A bank directory's file that is a NACHA file: its first record a 94-character file header (`101`). */
export async function isAchFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(96), 0, 96, 0);
    const first = buffer.subarray(0, bytesRead).toString('latin1').split(/\r?\n/)[0] ?? '';
    return first.length === 94 && first.startsWith('101');
  } finally {
    await handle.close();
  }
}
