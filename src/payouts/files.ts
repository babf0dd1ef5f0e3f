import { Readable } from 'node:stream';
import type { Pool, Queryable } from '../db/pool.ts';

/** Reading stored payout files (`payouts.payout_files` and their chunks). */

export interface PayoutFile {
  id: string;
  runDate: string;
  format: string;
  messageId: string;
  debtorIban: string | null;
  currency: string;
  txCount: number;
  ctrlSumMinor: bigint;
  sizeBytes: bigint;
  sha256: string | null;
  createdAt: Date;
}

interface Row {
  id: string;
  run_date: string;
  format: string;
  message_id: string;
  debtor_iban: string | null;
  currency: string;
  tx_count: number;
  ctrl_sum_minor: bigint;
  size_bytes: bigint;
  sha256: string | null;
  created_at: Date;
}

const COLUMNS = `id, run_date::text AS run_date, format, message_id, debtor_iban, currency, tx_count, ctrl_sum_minor,
  size_bytes, sha256, created_at`;

function toFile(row: Row): PayoutFile {
  return {
    id: row.id,
    runDate: row.run_date,
    format: row.format,
    messageId: row.message_id,
    debtorIban: row.debtor_iban,
    currency: row.currency,
    txCount: row.tx_count,
    ctrlSumMinor: row.ctrl_sum_minor,
    sizeBytes: row.size_bytes,
    sha256: row.sha256,
    createdAt: row.created_at,
  };
}

/** Complete files, newest first. */
export async function listPayoutFiles(
  db: Queryable,
  options: { limit: number; startingAfter?: string },
): Promise<PayoutFile[]> {
  const result = await db.query<Row>(
    `SELECT ${COLUMNS} FROM payouts.payout_files
     WHERE status = 'complete'
       AND ($1::text IS NULL OR (created_at, id) < (SELECT created_at, id FROM payouts.payout_files WHERE id = $1))
     ORDER BY created_at DESC, id DESC LIMIT $2`,
    [options.startingAfter ?? null, options.limit],
  );
  return result.rows.map(toFile);
}

export async function getPayoutFile(db: Queryable, id: string): Promise<PayoutFile | undefined> {
  const result = await db.query<Row>(
    `SELECT ${COLUMNS} FROM payouts.payout_files WHERE id = $1 AND status = 'complete'`,
    [id],
  );
  const row = result.rows[0];
  return row ? toFile(row) : undefined;
}

/** The file's bytes as a stream, one stored chunk at a time (memory does not grow with the file). */
export function payoutFileStream(pool: Pool, id: string): Readable {
  let seq = 0;
  return new Readable({
    async read() {
      try {
        const result = await pool.query<{ data: Buffer }>(
          'SELECT data FROM payouts.payout_file_chunks WHERE file_id = $1 AND seq = $2',
          [id, seq],
        );
        const row = result.rows[0];
        seq++;
        this.push(row ? row.data : null);
      } catch (error) {
        this.destroy(error as Error);
      }
    },
  });
}

/** The whole file as text (tests, small files). */
export async function readPayoutFile(db: Queryable, id: string): Promise<string> {
  const result = await db.query<{ data: Buffer }>(
    'SELECT data FROM payouts.payout_file_chunks WHERE file_id = $1 ORDER BY seq',
    [id],
  );
  return Buffer.concat(result.rows.map((row) => row.data)).toString('utf8');
}
