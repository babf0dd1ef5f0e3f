import type { Pool, PoolClient } from '../../db/pool.ts';
import { withTransaction } from '../../db/tx.ts';
import { recordBankCorrection } from '../../sellers/index.ts';
import { settlePayout } from '../settle.ts';
import { readAchReturnFile, type AchNoc, type AchReturn } from './returns.ts';

/**
 * `bursar payouts settle-ach <file>`: applies an ACH return/NOC file (docs/payouts.md "NACHA ACH").
 *   return (addenda 99): the payout named by the original trace number is returned — its money back to the
 *     seller's available balance (`payout.returned[_after_paid]`), the reason `R03 No account/…` on the payout,
 *     the seller flagged to give new bank details — through `settlePayout`, like any other return;
 *   NOC (addenda 98): the corrected details are kept for the operator to confirm or dismiss (sellers'
 *     bank corrections); the payout itself went through and is not changed.
 * Each item is its own transaction, so replaying a file changes nothing. Items naming no ACH payout, or with
 * another amount, are reported as unmatched for investigation.
 */

export interface AchSettleReport {
  entries: number;
  returned: number;
  corrections: number;
  /** Matched, but already in that state (a replayed file). */
  unchanged: number;
  unmatched: Array<{ line: number; reason: string }>;
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

export async function settleFromAch(pool: Pool, text: string, sourceName: string): Promise<AchSettleReport> {
  const file = readAchReturnFile(text);
  const report: AchSettleReport = {
    entries: file.items.length + file.unknown.length,
    returned: 0,
    corrections: 0,
    unchanged: 0,
    unmatched: [...file.unknown],
  };
  for (const item of file.items) {
    const outcome = await withTransaction(pool, (client) =>
      item.kind === 'return' ? applyReturn(client, item, sourceName) : applyNoc(client, item, sourceName),
    );
    if (outcome === 'returned' || outcome === 'corrections' || outcome === 'unchanged') report[outcome]++;
    else report.unmatched.push({ line: item.line, reason: outcome });
  }
  return report;
}
