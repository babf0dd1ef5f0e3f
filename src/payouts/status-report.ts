import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import {
  readStatusReport,
  reasonText,
  type PaymentInfoStatus,
  type StatusReport,
  type TransactionStatus,
} from './iso20022/pain002.ts';
import { settlePayout } from './settle.ts';

/**
 * Applying a pain.002 payment status report to the payouts of the pain.001 file it answers (found by the report's
 * OrgnlMsgId). Each payout takes the most precise status the report gives it: its own transaction status, else
 * its payment information block's, else the group status. A group status of RJCT (the whole file refused) returns
 * every payout of the file, whatever else the report says.
 *   ACCP, ACSC, ACWC: accepted by the bank; recorded (payouts.bank_status and the status history), the payout
 *     stays in transit until the statement confirms it paid.
 *   RJCT: the payout is returned to the seller's available balance with the reason code (settlePayout), and the
 *     seller asked for new bank details when the transaction itself was refused.
 *   anything else (ACTC, ACSP, PDNG, RCVD, PART…): recorded only.
 * A report for a file Bursar never sent, or naming a payout not in that file, is handed back as `unknown` for the
 * caller to file for investigation. A report read before (same SHA-256) is skipped.
 */

export const ACCEPTED_STATUSES: ReadonlySet<string> = new Set(['ACCP', 'ACSC', 'ACWC']);
export const REJECTED_STATUS = 'RJCT';

export interface UnknownStatusItem {
  kind: 'file' | 'payout';
  /** The original MsgId (file) or EndToEndId / InstrId (payout). */
  reference: string;
  status: string | undefined;
  reason: string | undefined;
}

export interface StatusReportResult {
  sha256: string;
  /** True when this report was read before: nothing done. */
  duplicate: boolean;
  messageId: string | undefined;
  originalMessageId: string;
  payoutFileId: string | undefined;
  groupStatus: string | undefined;
  accepted: number;
  returned: number;
  recorded: number;
  unchanged: number;
  unknown: UnknownStatusItem[];
}

interface Verdict {
  status: string;
  reason: string | undefined;
  /** The refusal is the payout's own (its transaction), not the file's. */
  own: boolean;
}

/** The status each payout of the file takes from the report (absent: the report says nothing of it). */
export function verdictsFor(
  report: StatusReport,
  payoutIds: string[],
): { verdicts: Map<string, Verdict>; strangers: TransactionStatus[] } {
  const verdicts = new Map<string, Verdict>();
  const inFile = new Set(payoutIds);
  const strangers: TransactionStatus[] = [];
  const group = report.groupStatus;
  const groupVerdict = (): Verdict | undefined =>
    group === undefined ? undefined : { status: group, reason: reasonText(report.groupReasons), own: false };
  for (const id of payoutIds) {
    const v = groupVerdict();
    if (v !== undefined) verdicts.set(id, v);
  }
  if (group === REJECTED_STATUS) return { verdicts, strangers: [] };
  for (const payment of report.paymentInfos) applyPayment(payment, payoutIds, inFile, verdicts, strangers);
  return { verdicts, strangers };
}

function applyPayment(
  payment: PaymentInfoStatus,
  payoutIds: string[],
  inFile: Set<string>,
  verdicts: Map<string, Verdict>,
  strangers: TransactionStatus[],
): void {
  if (payment.status !== undefined) {
    const v: Verdict = { status: payment.status, reason: reasonText(payment.reasons), own: false };
    for (const id of payoutIds) verdicts.set(id, v);
  }
  for (const tx of payment.transactions) {
    const id = [tx.endToEndId, tx.instructionId].find((ref) => ref !== undefined && inFile.has(ref));
    if (id === undefined) {
      strangers.push(tx);
      continue;
    }
    const status = tx.status ?? payment.status;
    if (status !== undefined) {
      verdicts.set(id, { status, reason: reasonText(tx.reasons) ?? reasonText(payment.reasons), own: true });
    }
  }
}

async function recordBankStatus(
  client: PoolClient,
  payoutId: string,
  verdict: Verdict,
  sha256: string,
): Promise<boolean> {
  const result = await client.query(
    `INSERT INTO payouts.bank_status (payout_id, status, reason, report_sha256) VALUES ($1, $2, $3, $4)
     ON CONFLICT (payout_id) DO UPDATE SET status = EXCLUDED.status, reason = EXCLUDED.reason,
       report_sha256 = EXCLUDED.report_sha256, updated_at = now()
     WHERE payouts.bank_status.status IS DISTINCT FROM EXCLUDED.status`,
    [payoutId, verdict.status, verdict.reason ?? null, sha256],
  );
  return (result.rowCount ?? 0) > 0;
}

async function applyVerdict(
  pool: Pool,
  payoutId: string,
  verdict: Verdict,
  ctx: { sha256: string; sourceName: string },
): Promise<'accepted' | 'returned' | 'recorded' | 'unchanged'> {
  return await withTransaction(pool, async (client) => {
    const changed = await recordBankStatus(client, payoutId, verdict, ctx.sha256);
    const reference = `${ctx.sourceName}#${verdict.status}`;
    if (verdict.status === REJECTED_STATUS) {
      const result = await settlePayout(client, payoutId, {
        kind: 'returned',
        reason: `${REJECTED_STATUS} ${verdict.reason ?? 'rejected by the bank'}`,
        source: 'pain.002',
        reference,
        flagSeller: verdict.own,
      });
      return result.applied ? 'returned' : 'unchanged';
    }
    if (!changed) return 'unchanged';
    if (!ACCEPTED_STATUSES.has(verdict.status)) return 'recorded';
    await client.query(
      `INSERT INTO payouts.status_history (payout_id, from_status, to_status, reason, source, reference)
       SELECT id, status, status, $2, 'pain.002', $3 FROM payouts.payouts WHERE id = $1`,
      [payoutId, `accepted by the bank (${verdict.status})`, reference],
    );
    return 'accepted';
  });
}

function emptyResult(sha256: string, report: StatusReport): StatusReportResult {
  return {
    sha256,
    duplicate: false,
    messageId: report.messageId,
    originalMessageId: report.originalMessageId,
    payoutFileId: undefined,
    groupStatus: report.groupStatus,
    accepted: 0,
    returned: 0,
    recorded: 0,
    unchanged: 0,
    unknown: [],
  };
}

async function fileOf(
  pool: Pool,
  messageId: string,
): Promise<{ id: string; payoutIds: string[] } | undefined> {
  const file = await pool.query<{ id: string }>(
    `SELECT id FROM payouts.payout_files WHERE message_id = $1 AND status = 'complete'`,
    [messageId],
  );
  const id = file.rows[0]?.id;
  if (id === undefined) return undefined;
  const payouts = await pool.query<{ id: string }>(
    'SELECT id FROM payouts.payouts WHERE payout_file_id = $1 ORDER BY id',
    [id],
  );
  return { id, payoutIds: payouts.rows.map((row) => row.id) };
}

async function remember(pool: Pool, result: StatusReportResult, sourceName: string): Promise<void> {
  const { unknown, ...summary } = result;
  await pool.query(
    `INSERT INTO payouts.status_reports (sha256, message_id, original_message_id, payout_file_id, group_status,
       source_name, summary)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sha256) DO NOTHING`,
    [
      result.sha256,
      result.messageId ?? null,
      result.originalMessageId,
      result.payoutFileId ?? null,
      result.groupStatus ?? null,
      sourceName.slice(0, 500),
      JSON.stringify({ ...summary, unknown: unknown.length }),
    ],
  );
}

/** Reads and applies one pain.002 report; see the module comment. */
export async function settleFromStatusReport(
  pool: Pool,
  source: string | Buffer,
  sourceName: string,
): Promise<StatusReportResult> {
  const text = typeof source === 'string' ? source : source.toString('utf8');
  const sha256 = createHash('sha256').update(text).digest('hex');
  const report = readStatusReport(text);
  const result = emptyResult(sha256, report);
  const seen = await pool.query('SELECT 1 FROM payouts.status_reports WHERE sha256 = $1', [sha256]);
  if ((seen.rowCount ?? 0) > 0) return { ...result, duplicate: true };
  const file = await fileOf(pool, report.originalMessageId);
  if (file === undefined) {
    result.unknown.push({
      kind: 'file',
      reference: report.originalMessageId,
      status: report.groupStatus,
      reason: reasonText(report.groupReasons),
    });
  } else {
    result.payoutFileId = file.id;
    const { verdicts, strangers } = verdictsFor(report, file.payoutIds);
    for (const [payoutId, verdict] of verdicts) {
      const outcome = await applyVerdict(pool, payoutId, verdict, { sha256, sourceName });
      result[outcome]++;
    }
    for (const tx of strangers) {
      result.unknown.push({
        kind: 'payout',
        reference: tx.endToEndId ?? tx.instructionId ?? '?',
        status: tx.status,
        reason: reasonText(tx.reasons),
      });
    }
  }
  await remember(pool, result, sourceName);
  return result;
}
