import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from '../../db/pool.ts';
import { withTransaction } from '../../db/tx.ts';
import { AppError } from '../../errors.ts';
import { recordBankCorrection } from '../../sellers/index.ts';
import { settlePayout } from '../settle.ts';
import {
  AchFileError,
  readAchReturnFile,
  type AchNoc,
  type AchReturn,
  type AchReturnFile,
} from './returns.ts';

/**
 * `bursar payouts settle-ach <file>`: applies an ACH return/NOC file (docs/payouts.md "NACHA ACH").
 *   return (addenda 99): the payout named by the original trace number is returned — its money back to the
 *     seller's available balance (`payout.returned[_after_paid]`), the reason `R03 No account/…` on the payout,
 *     the seller flagged to give new bank details — through `settlePayout`, like any other return;
 *   NOC (addenda 98): the corrected details are kept for the operator to confirm or dismiss (sellers'
 *     bank corrections); the payout itself went through and is not changed.
 * Each item is its own transaction, so replaying a file changes nothing. Items naming no ACH payout, or with
 * another amount, are reported as unmatched (with the trace numbers and amount the line carries) for the caller
 * to file for investigation (reconciliation's `ach_return_unmatched`). A file that breaks the record rules is
 * refused whole with `payout_ach_file_malformed`, naming the line.
 */

/** A line of a return/NOC file that settled nothing: what it says, for an operator to investigate. */
export interface AchUnmatched {
  line: number;
  reason: string;
  /** `return` (addenda 99), `noc` (addenda 98), or `entry` (no addenda, an unknown code). */
  kind: 'return' | 'noc' | 'entry';
  code?: string;
  originalTrace?: string;
  traceNumber?: string;
  amountMinor?: bigint;
}

export interface AchSettleReport {
  entries: number;
  returned: number;
  corrections: number;
  /** Matched, but already in that state (a replayed file). */
  unchanged: number;
  unmatched: AchUnmatched[];
  /** SHA-256 of the file's text: the same file read again is recognised. */
  sha256: string;
}

interface PayoutRow {
  id: string;
  seller_account: string;
  amount_minor: bigint;
}

async function payoutByTrace(client: PoolClient, trace: string): Promise<PayoutRow | undefined> {
  const found = await client.query<PayoutRow>(
    `SELECT id, seller_account, amount_minor FROM payouts.payouts
     WHERE provider = 'nacha' AND provider_reference = $1`,
    [trace],
  );
  return found.rows[0];
}

async function applyReturn(
  client: PoolClient,
  item: AchReturn,
  sourceName: string,
): Promise<'returned' | 'unchanged' | string> {
  const payout = await payoutByTrace(client, item.originalTrace);
  if (!payout) return `return ${item.code}: no ACH payout has the original trace number`;
  if (payout.amount_minor !== item.amountMinor) {
    return `return ${item.code} for ${payout.id}: amount ${item.amountMinor} is not the payout's ${payout.amount_minor}`;
  }
  const result = await settlePayout(client, payout.id, {
    kind: 'returned',
    reason: `${item.code} ${item.description}`,
    source: 'nacha_return',
    reference: `${sourceName}#line ${item.line}`,
  });
  return result.applied ? 'returned' : 'unchanged';
}

async function applyNoc(
  client: PoolClient,
  item: AchNoc,
  sourceName: string,
): Promise<'corrections' | 'unchanged' | string> {
  const payout = await payoutByTrace(client, item.originalTrace);
  if (!payout) return `NOC ${item.code}: no ACH payout has the original trace number`;
  const recorded = await recordBankCorrection(client, {
    sellerAccount: payout.seller_account,
    payoutId: payout.id,
    changeCode: item.code,
    correctedData: item.correctedData,
    corrected: item.corrected,
    source: `${sourceName}#line ${item.line}`,
  });
  return recorded.created ? 'corrections' : 'unchanged';
}

/** The file read, or `payout_ach_file_malformed` naming the line: nothing of a broken file is applied. */
function readOrRefuse(text: string, sourceName: string): AchReturnFile {
  try {
    return readAchReturnFile(text);
  } catch (error) {
    if (!(error instanceof AchFileError)) throw error;
    throw new AppError('payout_ach_file_malformed', `ACH ${sourceName}: ${error.message}`, { cause: error });
  }
}

function unmatchedOf(item: AchReturn | AchNoc, reason: string): AchUnmatched {
  return {
    line: item.line,
    reason,
    kind: item.kind,
    code: item.code,
    originalTrace: item.originalTrace,
    traceNumber: item.traceNumber,
    ...(item.kind === 'return' ? { amountMinor: item.amountMinor } : {}),
  };
}

export async function settleFromAch(pool: Pool, text: string, sourceName: string): Promise<AchSettleReport> {
  const file = readOrRefuse(text, sourceName);
  const report: AchSettleReport = {
    entries: file.items.length + file.unknown.length,
    returned: 0,
    corrections: 0,
    unchanged: 0,
    unmatched: file.unknown.map((u) => ({ ...u, kind: 'entry' })),
    sha256: createHash('sha256').update(text).digest('hex'),
  };
  for (const item of file.items) {
    const outcome = await withTransaction(pool, (client) =>
      item.kind === 'return' ? applyReturn(client, item, sourceName) : applyNoc(client, item, sourceName),
    );
    if (outcome === 'returned' || outcome === 'corrections' || outcome === 'unchanged') report[outcome]++;
    else report.unmatched.push(unmatchedOf(item, outcome));
  }
  report.unmatched.sort((a, b) => a.line - b.line);
  return report;
}
