import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from '../../db/pool.ts';
import { withTransaction } from '../../db/tx.ts';
import type { BankDetails } from '../bank.ts';
import { sellerNames } from '../../sellers/index.ts';
import { newPayoutFileId } from '../ids.ts';
import { BufferedBytes } from '../buffered-bytes.ts';
import { Spool } from '../spool.ts';
import { creditTransfer, documentClose, documentOpen, type Debtor, type PainVersion } from './pain001.ts';

/** Bytes gathered before a chunk row is written: big enough for few rows, small enough to keep memory flat. */
const CHUNK_BYTES = 256 * 1024;
/** Payouts read per query while streaming. */
const PAGE_ROWS = 2000;

/** Collects text into fixed-size byte chunks and stores each as a row, hashing as it goes. */
export class ChunkSink extends BufferedBytes {
  private seq = 0;
  size = 0;
  private readonly hash = createHash('sha256');
  constructor(
    private readonly client: PoolClient,
    private readonly fileId: string,
  ) {
    super(CHUNK_BYTES);
  }

  protected async emit(data: Buffer): Promise<void> {
    await this.store(data);
  }

  /** Stores `data` as the next chunk row as it is (bytes already gathered elsewhere, such as a spool). */
  async store(data: Buffer): Promise<void> {
    this.hash.update(data);
    this.size += data.length;
    await this.client.query(
      'INSERT INTO payouts.payout_file_chunks (file_id, seq, data) VALUES ($1, $2, $3)',
      [this.fileId, this.seq++, data],
    );
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

export interface WrittenFile {
  id: string;
  currency: string;
  txCount: number;
  ctrlSumMinor: bigint;
  sizeBytes: number;
  sha256: string;
}

interface Row {
  id: string;
  amount_minor: bigint;
  currency: string;
  destination: BankDetails;
  seller_account: string;
}

type FileOptions = {
  runDate: string;
  debtor: Debtor;
  version: PainVersion;
  createdAt: Date;
  pageRows: number;
};
type FileGroup = { currency: string; count: number; sum: bigint };

/** Stores the file's header row (status `writing` until `completeFile`). */
async function insertFileRow(
  client: PoolClient,
  id: string,
  options: FileOptions,
  group: FileGroup,
): Promise<void> {
  await client.query(
    `INSERT INTO payouts.payout_files (id, run_date, format, message_id, debtor_iban, debtor_bic, debtor_name, currency)
     VALUES ($1, $2, $3, $1, $4, $5, $6, $7)`,
    [
      id,
      options.runDate,
      options.version,
      options.debtor.iban,
      options.debtor.bic,
      options.debtor.name,
      group.currency,
    ],
  );
}

/** The document's opening: group header and payment information, with the totals the header promises. */
function openingOf(id: string, options: FileOptions, group: FileGroup): string {
  return documentOpen({
    version: options.version,
    messageId: id,
    createdAt: options.createdAt,
    currency: group.currency,
    txCount: group.count,
    ctrlSumMinor: group.sum,
    executionDate: options.runDate,
    debtor: options.debtor,
  });
}

/** Streams every pending payout of the currency into the file, a page at a time; returns the count and sum written. */
async function writeTransfers(
  client: PoolClient,
  sink: { write(text: string): Promise<void> },
  options: FileOptions,
  currency: string,
): Promise<{ written: number; sum: bigint }> {
  let after = '';
  let written = 0;
  let sum = 0n;
  for (;;) {
    const page = await client.query<Row>(
      `SELECT p.id, p.amount_minor, p.currency, p.destination, p.seller_account
       FROM payouts.payouts p
       WHERE p.status = 'pending' AND p.provider = 'iso20022' AND p.currency = $1 AND p.id > $2
       ORDER BY p.id LIMIT $3`,
      [currency, after, options.pageRows],
    );
    // The seller's name (the creditor when the bank details name no holder) is the sellers module's to give.
    const names = await sellerNames(
      client,
      page.rows.map((row) => row.seller_account),
    );
    for (const row of page.rows) {
      const creditorName = row.destination.holderName ?? names.get(row.seller_account) ?? row.seller_account;
      await sink.write(
        creditTransfer(options.version, {
          payoutId: row.id,
          amountMinor: row.amount_minor,
          currency: row.currency,
          creditorName,
          destination: row.destination,
        }),
      );
      written++;
      sum += row.amount_minor;
      after = row.id;
    }
    if (page.rows.length < options.pageRows) break;
  }
  return { written, sum };
}

/** Moves the currency's pending payouts to in_transit in file `id`, with their history. */
async function moveToInTransit(client: PoolClient, id: string, currency: string): Promise<void> {
  await client.query(
    `UPDATE payouts.payouts SET payout_file_id = $1, status = 'in_transit', updated_at = now()
     WHERE status = 'pending' AND provider = 'iso20022' AND currency = $2`,
    [id, currency],
  );
  await client.query(
    `INSERT INTO payouts.status_history (payout_id, from_status, to_status, reason, source, reference)
     SELECT id, 'pending', 'in_transit', 'written to a pain.001 file', 'iso20022', $1
     FROM payouts.payouts WHERE payout_file_id = $1 ORDER BY id`,
    [id],
  );
}

/** Completes the file's row with what was written. */
async function completeFile(
  client: PoolClient,
  id: string,
  totals: { written: number; sum: bigint; size: number; sha256: string },
): Promise<void> {
  await client.query(
    `UPDATE payouts.payout_files SET status = 'complete', completed_at = now(), tx_count = $2, ctrl_sum_minor = $3,
       size_bytes = $4, sha256 = $5 WHERE id = $1`,
    [id, totals.written, totals.sum, totals.size, totals.sha256],
  );
}

/**
 * Formats the whole document into a spool, reading the payouts on a connection of its own under `snapshot` (the
 * writing transaction's, exported): exactly the pending payouts that transaction is moving, read while it moves
 * them. Read-only; the spool is the caller's to close.
 */
async function spoolDocument(
  pool: Pool,
  snapshot: string,
  id: string,
  options: FileOptions,
  group: FileGroup,
): Promise<{ spool: Spool; written: number; sum: bigint }> {
  const spool = await Spool.open();
  try {
    const totals = await withTransaction(
      pool,
      async (reader) => {
        await spool.write(openingOf(id, options, group));
        const written = await writeTransfers(reader, spool, options, group.currency);
        await spool.write(documentClose());
        await spool.flush();
        return written;
      },
      { isolation: 'repeatable read', readOnly: true, snapshot, retries: 0 },
    );
    return { spool, ...totals };
  } catch (error) {
    await spool.close();
    throw error;
  }
}

/**
 * One currency's file. The payouts are moved to in_transit by the writing transaction while the document is
 * formatted from the same snapshot on a second connection (the move and the formatting each keep a core busy);
 * then the spooled bytes are stored as the file's chunks in the writing transaction.
 */
async function writeOne(
  pool: Pool,
  client: PoolClient,
  snapshot: string,
  options: FileOptions,
  group: FileGroup,
): Promise<WrittenFile> {
  const id = newPayoutFileId();
  await insertFileRow(client, id, options, group);
  // Both are awaited before either's failure is thrown: nothing is left running behind an error.
  const [spooled, moved] = await Promise.allSettled([
    spoolDocument(pool, snapshot, id, options, group),
    moveToInTransit(client, id, group.currency),
  ]);
  if (moved.status === 'rejected') {
    // The writing transaction's failure comes first. A serialization failure there (a concurrent writer moved
    // these payouts and committed first) is retried by withTransaction on a fresh snapshot. The same failure
    // also ended the exported snapshot, so the reader may have failed only because of it.
    if (spooled.status === 'fulfilled') await spooled.value.spool.close();
    throw moved.reason;
  }
  if (spooled.status === 'rejected') throw spooled.reason;
  const { spool, written, sum } = spooled.value;
  try {
    // The header promised these; the snapshot guarantees them, and a file whose sums disagree is never stored.
    if (written !== group.count || sum !== group.sum) {
      throw new Error(`payout file ${id}: header says ${group.count}/${group.sum}, wrote ${written}/${sum}`);
    }
    const sink = new ChunkSink(client, id);
    for await (const piece of spool.pieces(CHUNK_BYTES)) await sink.store(piece);
    const sha256 = sink.digest();
    await completeFile(client, id, { written, sum, size: sink.size, sha256 });
    return {
      id,
      currency: group.currency,
      txCount: written,
      ctrlSumMinor: sum,
      sizeBytes: sink.size,
      sha256,
    };
  } finally {
    await spool.close();
  }
}

/**
 * Writes one pain.001 file per currency (each currency has its debtor account) holding every pending payout of
 * the iso20022 provider, and moves them to in_transit with `payout_file_id` set — all in one REPEATABLE READ
 * transaction, so the header's count and control sum, the transactions written and the payouts marked are the
 * same set (the document is formatted on a second, read-only connection under this transaction's exported
 * snapshot while the move runs; its bytes are stored by this transaction). Concurrent writers are serialised by
 * an advisory lock; one that raced is retried on a fresh snapshot and finds nothing left. Memory stays flat:
 * payouts are read a page at a time, and the bytes go through a temporary file (src/payouts/spool.ts) into
 * chunks.
 */
export async function writePayoutFiles(
  pool: Pool,
  options: {
    runDate: string;
    debtorFor: (currency: string) => Debtor;
    version: PainVersion;
    createdAt: Date;
    /** Payouts read per page while streaming; tests make it small to see several pages. */
    pageRows?: number;
  },
): Promise<WrittenFile[]> {
  const pageRows = options.pageRows ?? PAGE_ROWS;
  return await withTransaction(
    pool,
    async (client) => {
      await client.query("SELECT pg_advisory_xact_lock(hashtext('bursar:payout-files'))");
      const groups = await client.query<{ currency: string; count: bigint; sum: bigint }>(
        `SELECT currency, count(*)::int8 AS count, sum(amount_minor)::int8 AS sum FROM payouts.payouts
         WHERE status = 'pending' AND provider = 'iso20022' GROUP BY currency ORDER BY currency`,
      );
      // Exported before this transaction writes: the formatting connections read exactly what it decided on.
      const exported = await client.query<{ snapshot: string }>('SELECT pg_export_snapshot() AS snapshot');
      const snapshot = exported.rows[0]?.snapshot;
      if (snapshot === undefined) throw new Error('pg_export_snapshot returned no row');
      const files: WrittenFile[] = [];
      for (const group of groups.rows) {
        files.push(
          await writeOne(
            pool,
            client,
            snapshot,
            { ...options, pageRows, debtor: options.debtorFor(group.currency) },
            { currency: group.currency, count: Number(group.count), sum: group.sum },
          ),
        );
      }
      return files;
    },
    { isolation: 'repeatable read' },
  );
}
