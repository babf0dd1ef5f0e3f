import type { Queryable } from '../db/pool.ts';
import { findPayoutsForBatch } from './batches.ts';

/**
 * Payout batches a bank may book as one statement line: a pain.001 file (by its MsgId, or its payment information
 * id `MsgId-CCY`), an ACH file or batch (`pf_…`, `pf_…/N`), and other rails' batches registered with
 * `registerPayoutBatchFinder`. Reconciliation asks for the batches a debit's references name, and settles each
 * payout of a batch whose total is the line's amount.
 */

export interface PayoutBatch {
  /** What the bank line named (the file's MsgId, its PmtInfId, an ACH batch number…). */
  reference: string;
  /** `pain.001`, `ach`, … */
  kind: string;
  amountMinor: bigint;
  currency: string;
  payoutIds: string[];
}

export type PayoutBatchFinder = (db: Queryable, references: string[]) => Promise<PayoutBatch[]>;

/** The pain.001 files Bursar wrote, by MsgId or PmtInfId. */
export const pain001BatchFinder: PayoutBatchFinder = async (db, references) => {
  if (references.length === 0) return [];
  const found = await db.query<{ reference: string; amount_minor: bigint; currency: string; ids: string[] }>(
    `SELECT CASE WHEN f.message_id = ANY($1::text[]) THEN f.message_id ELSE f.message_id || '-' || f.currency END
              AS reference,
            f.ctrl_sum_minor AS amount_minor, f.currency, array_agg(p.id ORDER BY p.id) AS ids
       FROM payouts.payout_files f JOIN payouts.payouts p ON p.payout_file_id = f.id
      WHERE f.status = 'complete'
        AND (f.message_id = ANY($1::text[]) OR f.message_id || '-' || f.currency = ANY($1::text[]))
      GROUP BY f.id`,
    [references],
  );
  return found.rows.map((row) => ({
    reference: row.reference,
    kind: 'pain.001',
    amountMinor: BigInt(row.amount_minor),
    currency: row.currency,
    payoutIds: row.ids,
  }));
};

/** The ACH files and batches Bursar wrote, by `pf_…`, `pf_…/N` or the 20-character prefix in the batch header. */
export const achBatchFinder: PayoutBatchFinder = async (db, references) => {
  const batches: PayoutBatch[] = [];
  for (const reference of references) {
    const found = await findPayoutsForBatch(db, reference);
    if (found === undefined || found.format !== 'nacha') continue;
    batches.push({
      reference,
      kind: 'ach',
      amountMinor: found.totalMinor,
      currency: found.currency,
      payoutIds: found.payouts.map((payout) => payout.id),
    });
  }
  return batches;
};

const finders: PayoutBatchFinder[] = [pain001BatchFinder, achBatchFinder];

/** Adds a finder for another rail's batches (called once at start-up, e.g. by the ACH provider's wiring). */
export function registerPayoutBatchFinder(finder: PayoutBatchFinder): void {
  if (!finders.includes(finder)) finders.push(finder);
}

/** Every batch any registered finder knows by one of `references`. */
export async function findPayoutBatches(db: Queryable, references: string[]): Promise<PayoutBatch[]> {
  const batches: PayoutBatch[] = [];
  for (const finder of finders) batches.push(...(await finder(db, references)));
  return batches;
}
