import type { Queryable } from '../db/pool.ts';
import type { PayoutStatus } from './types.ts';

/**
 * Batch lookup for bank-statement reconciliation: a statement line of the platform's bank account that books a
 * whole payout file or ACH batch (one debit of its total) is matched against the payouts it carries. The
 * reference is what the bank shows of the batch (docs/payouts.md "Batches on the bank statement"):
 *   `pf_…`           a payout file: the pain.001 MsgId / PmtInfId, or a whole ACH file;
 *   `pf_…/N`         batch N of an ACH file;
 *   a 17–23 character prefix of either, any case: the ACH batch header's company discretionary data (20
 *                    characters, upper case) carries the file id cut to its first 20 characters.
 * Undefined when no complete file matches (or a prefix matches several).
 */

export interface PayoutBatch {
  fileId: string;
  format: string;
  batchNumber: number | null;
  currency: string;
  totalMinor: bigint;
  payouts: Array<{ id: string; amountMinor: bigint; currency: string; status: PayoutStatus }>;
}

export async function findPayoutsForBatch(
  db: Queryable,
  reference: string,
): Promise<PayoutBatch | undefined> {
  const match = /^(pf_[a-z0-9]{17,24})(?:[/:]([0-9]{1,7}))?$/.exec(reference.trim().toLowerCase());
  const prefix = match?.[1];
  if (prefix === undefined) return undefined;
  const batchNumber = match?.[2] === undefined ? null : Number(match[2]);
  const files = await db.query<{ id: string; format: string; currency: string; ctrl_sum_minor: bigint }>(
    `SELECT id, format, currency, ctrl_sum_minor FROM payouts.payout_files
     WHERE status = 'complete' AND (id = $1 OR ($2 AND left(id, length($1)) = $1)) LIMIT 2`,
    [prefix, prefix.length < 27],
  );
  const [file, other] = files.rows;
  if (file === undefined || other !== undefined) return undefined;
  let totalMinor = file.ctrl_sum_minor;
  if (batchNumber !== null) {
    const batch = await db.query<{ total_credit_minor: bigint }>(
      'SELECT total_credit_minor FROM payouts.ach_batches WHERE file_id = $1 AND batch_number = $2',
      [file.id, batchNumber],
    );
    const row = batch.rows[0];
    if (row === undefined) return undefined;
    totalMinor = row.total_credit_minor;
  }
  const payouts = await db.query<{
    id: string;
    amount_minor: bigint;
    currency: string;
    status: PayoutStatus;
  }>(
    `SELECT id, amount_minor, currency, status FROM payouts.payouts
     WHERE payout_file_id = $1 AND ($2::int IS NULL OR ach_batch_number = $2) ORDER BY id`,
    [file.id, batchNumber],
  );
  return {
    fileId: file.id,
    format: file.format,
    batchNumber,
    currency: file.currency,
    totalMinor,
    payouts: payouts.rows.map((row) => ({
      id: row.id,
      amountMinor: row.amount_minor,
      currency: row.currency,
      status: row.status,
    })),
  };
}
