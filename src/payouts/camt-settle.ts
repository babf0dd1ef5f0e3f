import type { Pool } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { camtEntries, type CamtEntry, type CamtTransaction } from '../reconciliation/index.ts';
import { settlePayout } from './settle.ts';

/**
 * Settling payouts from a camt.053 statement or camt.054 notification of the platform's bank account (the
 * reconciliation module's reader parses it; see docs/reconciliation.md). Only booked entries count. A debit whose
 * transaction carries a payout's id as EndToEndId confirms it paid; a credit with return information (`RtrInf`),
 * a reversal, or the bank transaction code of a returned transfer (`…/RRTN`) returns it with the reason code.
 * The amount must be the payout's: a line that differs is left for reconciliation. Each settlement is its own
 * transaction through `settlePayout`, so replaying a file changes nothing.
 */

export interface CamtSettleReport {
  entries: number;
  paid: number;
  returned: number;
  /** Matched a payout already in that state (a replayed file). */
  unchanged: number;
  /** No payout by that EndToEndId, or another amount: for reconciliation. */
  unmatched: number;
}

function isReturn(entry: CamtEntry, tx: CamtTransaction): boolean {
  if (tx.returnInfo !== undefined) return true;
  if (entry.creditDebit === 'CRDT' && entry.reversal) return true;
  return entry.creditDebit === 'CRDT' && (entry.bankTransactionCode ?? '').endsWith('RRTN');
}

function reasonOf(tx: CamtTransaction): string {
  const info = tx.returnInfo;
  if (!info) return 'returned by the bank';
  return (
    [info.code ?? info.proprietary, ...info.additionalInfo]
      .filter((part) => part !== undefined && part !== '')
      .join(' ') || 'returned by the bank'
  );
}

export async function settleFromCamt(
  pool: Pool,
  source: string | Buffer,
  sourceName: string,
): Promise<CamtSettleReport> {
  const report: CamtSettleReport = { entries: 0, paid: 0, returned: 0, unchanged: 0, unmatched: 0 };
  for await (const entry of camtEntries([source])) {
    report.entries++;
    if (entry.status !== 'BOOK') continue;
    const messageType = entry.statement.messageType;
    for (const [index, tx] of entry.transactions.entries()) {
      const payoutId = tx.endToEndId;
      if (payoutId === undefined || !/^po_[a-z0-9]{1,32}$/.test(payoutId)) {
        report.unmatched++;
        continue;
      }
      const returned = isReturn(entry, tx);
      if (!returned && entry.creditDebit !== 'DBIT') {
        report.unmatched++;
        continue;
      }
      const amount = tx.amountMinor ?? (entry.transactions.length === 1 ? entry.amountMinor : undefined);
      const currency = tx.currency ?? entry.currency;
      const reference = `${entry.statement.id}:${entry.acctSvcrRef ?? entry.entryRef ?? entry.index}:${index + 1}`;
      const outcome = await withTransaction(pool, async (client) => {
        const row = await client.query<{ amount_minor: bigint; currency: string }>(
          'SELECT amount_minor, currency FROM payouts.payouts WHERE id = $1',
          [payoutId],
        );
        const payout = row.rows[0];
        if (
          !payout ||
          payout.currency !== currency ||
          (amount !== undefined && amount !== payout.amount_minor)
        ) {
          return 'unmatched' as const;
        }
        const result = await settlePayout(client, payoutId, {
          kind: returned ? 'returned' : 'paid',
          ...(returned ? { reason: reasonOf(tx) } : {}),
          source: messageType,
          reference: `${sourceName}#${reference}`,
        });
        if (!result.applied) return 'unchanged' as const;
        return returned ? ('returned' as const) : ('paid' as const);
      });
      report[outcome]++;
    }
  }
  return report;
}
