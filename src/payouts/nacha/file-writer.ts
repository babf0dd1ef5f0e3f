import type { Pool, PoolClient } from '../../db/pool.ts';
import { withTransaction } from '../../db/tx.ts';
import { luhnValid } from '../../http/card-guard.ts';
import { sellerNames } from '../../sellers/index.ts';
import type { BankDetails } from '../bank.ts';
import { newPayoutFileId } from '../ids.ts';
import { ChunkSink } from '../iso20022/file-writer.ts';
import type { IsoDate } from '../settings.ts';
import { effectiveEntryDate, SAME_DAY_LIMIT_MINOR } from './calendar.ts';
import type { AchSettings } from './config.ts';
import {
  batchControl,
  batchHeader,
  blockCount,
  entryDetail,
  fileControl,
  fileHeader,
  filler,
  type SecCode,
  type Totals,
} from './records.ts';

/**
 * Writes one NACHA ACH credit file per run holding every pending payout of the `nacha` provider that ACH can
 * carry (USD, account + routing number, at most $99,999,999.99), in one REPEATABLE READ transaction under the
 * payout-files lock: batches per SEC code (CCD for companies, PPD for individuals) and effective entry date, a
 * trace number per entry kept on the payout, each batch registered in `payouts.ach_batches`, the payouts moved to
 * in_transit. Payouts ACH cannot carry stay pending and are counted as failed. Stored like pain.001 files: chunks
 * written once, never rewritten (triggers of migrations/0050_payouts.sql).
 */

const PAGE_ROWS = 2000;
/** The largest amount the 10-digit entry amount field holds. */
export const MAX_ENTRY_MINOR = 9_999_999_999n;
const MODIFIERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Which pending nacha payouts ACH can carry. */
const ELIGIBLE = `p.status = 'pending' AND p.provider = 'nacha' AND p.currency = 'USD'
  AND p.destination->>'kind' = 'ach' AND p.amount_minor <= ${MAX_ENTRY_MINOR}`;
const SEC_OF = `CASE WHEN p.destination->>'holderType' = 'individual' THEN 'PPD' ELSE 'CCD' END`;

export interface AchRunOptions {
  runDate: IsoDate;
  sameDay: boolean;
  createdAt: Date;
  settings: AchSettings;
}

export interface WrittenAchFile {
  id: string;
  txCount: number;
  creditMinor: bigint;
  sizeBytes: number;
  batches: number;
}

interface Batch {
  secCode: SecCode;
  /** Same-day runs: whether the batch holds the entries within the same-day limit; null: all of its SEC code. */
  small: boolean | null;
  effectiveDate: IsoDate;
  number: number;
}

interface Row {
  id: string;
  amount_minor: bigint;
  destination: BankDetails;
  seller_account: string;
}

/** Counts and Hash of what has been written so far. */
class Tally implements Totals {
  entryCount = 0;
  hashSum = 0n;
  creditMinor = 0n;
  add(row: Row, routing: string): void {
    this.entryCount++;
    this.hashSum += BigInt(routing.slice(0, 8));
    this.creditMinor += row.amount_minor;
  }
}

/** The batches the pending payouts fall in: SEC code × effective date (a same-day run splits by the limit). */
async function planBatches(client: PoolClient, options: AchRunOptions): Promise<Batch[]> {
  const groups = await client.query<{ sec: SecCode; small: boolean }>(
    `SELECT ${SEC_OF} AS sec, (p.amount_minor <= $1) AS small FROM payouts.payouts p WHERE ${ELIGIBLE}
     GROUP BY 1, 2 ORDER BY 1, 2 DESC`,
    [SAME_DAY_LIMIT_MINOR],
  );
  const batches: Batch[] = [];
  for (const group of groups.rows) {
    const effectiveDate = effectiveEntryDate(
      options.runDate,
      options.sameDay,
      group.small ? 0n : SAME_DAY_LIMIT_MINOR + 1n,
    );
    const same = batches.find((b) => b.secCode === group.sec && b.effectiveDate === effectiveDate);
    // Both amount groups of a SEC code share a batch when their effective dates agree (always, next-day).
    if (same !== undefined) same.small = null;
    else batches.push({ secCode: group.sec, small: group.small, effectiveDate, number: 0 });
  }
  batches.forEach((batch, index) => (batch.number = index + 1));
  return batches;
}

function accountOf(destination: BankDetails): { routing: string; account: string; code: '22' | '32' } {
  if (destination.kind !== 'ach') throw new Error('an ACH entry needs account and routing numbers');
  return {
    routing: destination.routingNumber,
    account: destination.accountNumber,
    code: destination.accountType === 'savings' ? '32' : '22',
  };
}

/**
 * `count` trace numbers: the ODFI identification and the next 7-digit sequence values, skipping those whose 15
 * digits pass the Luhn check — the log scrubber would mask them as card numbers, and a trace number must stay
 * traceable.
 */
async function traceNumbers(client: PoolClient, odfi: string, count: number): Promise<string[]> {
  const traces: string[] = [];
  while (traces.length < count) {
    const want = count - traces.length;
    const seq = await client.query<{ n: string }>(
      "SELECT nextval('payouts.ach_trace_seq')::text AS n FROM generate_series(1, $1)",
      [want + Math.ceil(want / 8)],
    );
    for (const row of seq.rows) {
      const trace = `${odfi}${row.n.padStart(7, '0')}`;
      if (!luhnValid(trace) && traces.length < count) traces.push(trace);
    }
  }
  return traces;
}

/** Writes one batch's entries a page at a time, moving each page's payouts to in_transit with its trace numbers. */
async function writeEntries(
  client: PoolClient,
  sink: ChunkSink,
  ctx: { fileId: string; options: AchRunOptions; batch: Batch },
): Promise<Tally> {
  const tally = new Tally();
  const { batch, options } = ctx;
  let after = '';
  for (;;) {
    const page = await client.query<Row>(
      `SELECT p.id, p.amount_minor, p.destination, p.seller_account FROM payouts.payouts p
       WHERE ${ELIGIBLE} AND ${SEC_OF} = $1 AND ($2::boolean IS NULL OR (p.amount_minor <= $3) = $2) AND p.id > $4
       ORDER BY p.id LIMIT $5`,
      [batch.secCode, batch.small, SAME_DAY_LIMIT_MINOR, after, PAGE_ROWS],
    );
    if (page.rows.length === 0) break;
    const names = await sellerNames(
      client,
      page.rows.map((row) => row.seller_account),
    );
    const numbers = await traceNumbers(client, options.settings.odfi, page.rows.length);
    const traces: string[] = [];
    for (const [index, row] of page.rows.entries()) {
      const { routing, account, code } = accountOf(row.destination);
      const trace = numbers[index] ?? '';
      const receiverName = row.destination.holderName ?? names.get(row.seller_account) ?? row.seller_account;
      await sink.write(
        `${entryDetail({
          transactionCode: code,
          routingNumber: routing,
          accountNumber: account,
          amountMinor: row.amount_minor,
          identification: row.seller_account,
          receiverName,
          traceNumber: trace,
        })}\n`,
      );
      tally.add(row, routing);
      traces.push(trace);
      after = row.id;
    }
    await markPage(client, ctx.fileId, batch.number, page.rows, traces);
    if (page.rows.length < PAGE_ROWS) break;
  }
  return tally;
}

async function markPage(
  client: PoolClient,
  fileId: string,
  batchNumber: number,
  rows: Row[],
  traces: string[],
): Promise<void> {
  await client.query(
    `UPDATE payouts.payouts p SET payout_file_id = $1, status = 'in_transit', provider_reference = x.trace,
       ach_batch_number = $2, updated_at = now()
     FROM unnest($3::text[], $4::text[]) AS x(id, trace) WHERE p.id = x.id AND p.status = 'pending'`,
    [fileId, batchNumber, rows.map((row) => row.id), traces],
  );
  await client.query(
    `INSERT INTO payouts.status_history (payout_id, from_status, to_status, reason, source, reference)
     SELECT x.id, 'pending', 'in_transit', 'written to a NACHA ACH file, trace ' || x.trace, 'nacha', $1
     FROM unnest($2::text[], $3::text[]) AS x(id, trace) ORDER BY x.id`,
    [fileId, rows.map((row) => row.id), traces],
  );
}

/** The next free file id modifier (A–Z, 0–9) for the run date and company. */
async function nextModifier(client: PoolClient, options: AchRunOptions): Promise<string> {
  const used = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM payouts.payout_files
     WHERE format = 'nacha' AND run_date = $1 AND ach_company_id = $2`,
    [options.runDate, options.settings.companyId],
  );
  const modifier = MODIFIERS[used.rows[0]?.n ?? 0];
  if (modifier === undefined) throw new Error(`36 ACH files were written for ${options.runDate} already`);
  return modifier;
}

async function openFile(client: PoolClient, id: string, options: AchRunOptions): Promise<ChunkSink> {
  const modifier = await nextModifier(client, options);
  const { settings } = options;
  await client.query(
    `INSERT INTO payouts.payout_files (id, run_date, format, message_id, debtor_name, currency, ach_company_id,
       ach_file_id_modifier, ach_same_day)
     VALUES ($1, $2, 'nacha', $1, $3, 'USD', $4, $5, $6)`,
    [id, options.runDate, settings.companyName, settings.companyId, modifier, options.sameDay],
  );
  const sink = new ChunkSink(client, id);
  await sink.write(
    `${fileHeader({
      immediateDestination: settings.immediateDestination,
      immediateOrigin: settings.immediateOrigin,
      createdAt: options.createdAt,
      fileIdModifier: modifier,
      immediateDestinationName: settings.immediateDestinationName,
      immediateOriginName: settings.immediateOriginName,
      referenceCode: id.slice(3, 11),
    })}\n`,
  );
  return sink;
}

async function writeBatch(
  client: PoolClient,
  sink: ChunkSink,
  ctx: { fileId: string; options: AchRunOptions; batch: Batch },
): Promise<Tally> {
  const { settings, runDate } = ctx.options;
  const { batch } = ctx;
  const ids = { companyId: settings.companyId, odfi: settings.odfi, batchNumber: batch.number };
  await sink.write(
    `${batchHeader({
      companyName: settings.companyName,
      discretionaryData: ctx.fileId,
      companyId: settings.companyId,
      secCode: batch.secCode,
      entryDescription: settings.entryDescription,
      descriptiveDate: runDate,
      effectiveDate: batch.effectiveDate,
      odfi: settings.odfi,
      batchNumber: batch.number,
    })}\n`,
  );
  const tally = await writeEntries(client, sink, ctx);
  await sink.write(`${batchControl(tally, ids)}\n`);
  await client.query(
    `INSERT INTO payouts.ach_batches (file_id, batch_number, sec_code, effective_date, entry_count, total_credit_minor)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [ctx.fileId, batch.number, batch.secCode, batch.effectiveDate, tally.entryCount, tally.creditMinor],
  );
  return tally;
}

async function writeFile(
  client: PoolClient,
  options: AchRunOptions,
  batches: Batch[],
): Promise<WrittenAchFile> {
  const id = newPayoutFileId();
  const sink = await openFile(client, id, options);
  const total = new Tally();
  let records = 1;
  for (const batch of batches) {
    const tally = await writeBatch(client, sink, { fileId: id, options, batch });
    total.entryCount += tally.entryCount;
    total.hashSum += tally.hashSum;
    total.creditMinor += tally.creditMinor;
    records += tally.entryCount + 2;
  }
  records += 1;
  const blocks = blockCount(records);
  await sink.write(`${fileControl({ ...total, batchCount: batches.length, blockCount: blocks })}\n`);
  for (const line of filler(records)) await sink.write(`${line}\n`);
  await sink.flush();
  const sha256 = sink.digest();
  await client.query(
    `UPDATE payouts.payout_files SET status = 'complete', completed_at = now(), tx_count = $2, ctrl_sum_minor = $3,
       size_bytes = $4, sha256 = $5 WHERE id = $1`,
    [id, total.entryCount, total.creditMinor, sink.size, sha256],
  );
  return {
    id,
    txCount: total.entryCount,
    creditMinor: total.creditMinor,
    sizeBytes: sink.size,
    batches: batches.length,
  };
}

/** Writes the run's ACH file (none when nothing is pending); returns it and how many payouts ACH cannot carry. */
export async function writeAchFile(
  pool: Pool,
  options: AchRunOptions,
): Promise<{ file: WrittenAchFile | undefined; ineligible: number }> {
  return await withTransaction(
    pool,
    async (client) => {
      await client.query("SELECT pg_advisory_xact_lock(hashtext('bursar:payout-files'))");
      const left = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM payouts.payouts p
         WHERE p.status = 'pending' AND p.provider = 'nacha' AND NOT (${ELIGIBLE})`,
      );
      const ineligible = left.rows[0]?.n ?? 0;
      const batches = await planBatches(client, options);
      if (batches.length === 0) return { file: undefined, ineligible };
      return { file: await writeFile(client, options, batches), ineligible };
    },
    { isolation: 'repeatable read' },
  );
}
