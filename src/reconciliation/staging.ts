import type { Pool, PoolClient } from '../db/pool.ts';
import { sqlState, withTransaction } from '../db/tx.ts';
import { AppError } from '../errors.ts';
import { readCamt } from './camt/reader.ts';
import type { CamtEntry } from './camt/types.ts';
import { openCopy, type CopyValue } from './copy-rows.ts';
import { newImportId } from './ids.ts';
import { fingerprintOf, type FileInput } from './input.ts';
import { readPspReport, type PspLine } from './psp-report/reader.ts';

/**
 * Importing a file: fingerprint it (a file seen before is refused with `reconciliation_file_duplicate`), then read
 * it to the end, staging every line in one transaction. A malformed file rolls that transaction back, so nothing
 * of it is stored, let alone applied; matching only ever reads fully staged files.
 */

export const STAGE_BATCH = 2000;

export type ImportOrigin = 'file' | 'api' | 'psp_fetch';

export interface StagedImport {
  importId: string;
  source: 'psp' | 'bank';
  format: string;
  lines: number;
}

async function refuseDuplicate(
  pool: Pool,
  source: 'psp' | 'bank',
  fingerprint: Buffer,
  name: string,
): Promise<void> {
  const found = await pool.query<{ id: string; name: string; created_at: Date }>(
    'SELECT id, name, created_at FROM recon.imports WHERE source = $1 AND fingerprint = $2',
    [source, fingerprint],
  );
  const row = found.rows[0];
  if (row !== undefined) {
    throw new AppError(
      'reconciliation_file_duplicate',
      `${name} was imported before as ${row.id} ("${row.name}", ${row.created_at.toISOString()}); it is not applied twice`,
    );
  }
}

function duplicateOnRace(error: unknown, name: string): never {
  if (sqlState(error) === '23505') {
    throw new AppError(
      'reconciliation_file_duplicate',
      `${name} was imported at the same time by another run`,
    );
  }
  throw error;
}

const PSP_LINE_COLUMNS = [
  'import_id',
  'line',
  'balance_transaction_id',
  'category',
  'currency',
  'gross_minor',
  'fee_minor',
  'net_minor',
  'created_at',
  'available_on',
  'source_id',
  'charge_id',
  'payment_intent_id',
  'payout_id',
  'payout_effective_at',
  'description',
  'dispute_reason',
  'metadata',
  'customer_facing_currency',
  'customer_facing_minor',
] as const;

function pspLineFields(importId: string, l: PspLine): CopyValue[] {
  return [
    importId,
    l.line,
    l.balanceTransactionId,
    l.category,
    l.currency,
    l.grossMinor,
    l.feeMinor,
    l.netMinor,
    l.createdAt,
    l.availableOn,
    l.sourceId,
    l.chargeId,
    l.paymentIntentId,
    l.payoutId,
    l.payoutEffectiveAt,
    l.description,
    l.disputeReason,
    JSON.stringify(l.metadata),
    l.customerFacing?.currency,
    l.customerFacing?.amountMinor,
  ];
}

interface StagedPspLines {
  lines: number;
  first: Date | undefined;
  last: Date | undefined;
}

/**
 * Streams every line of the report into `recon.psp_lines` with one COPY, parsing while PostgreSQL stores. A
 * malformed line aborts the COPY (and the caller's transaction); nothing of the file is kept.
 */
async function copyPspLines(client: PoolClient, importId: string, input: FileInput): Promise<StagedPspLines> {
  const copy = openCopy(client, 'recon.psp_lines', PSP_LINE_COLUMNS);
  const staged: StagedPspLines = { lines: 0, first: undefined, last: undefined };
  try {
    for await (const line of readPspReport(input.open())) {
      staged.lines += 1;
      if (line.createdAt !== undefined) {
        if (staged.first === undefined || line.createdAt < staged.first) staged.first = line.createdAt;
        if (staged.last === undefined || line.createdAt > staged.last) staged.last = line.createdAt;
      }
      await copy.write(pspLineFields(importId, line));
    }
  } catch (error) {
    await copy.abort(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
  await copy.end();
  return staged;
}

/** Imports a PSP settlement report (CSV); see the module comment. */
export async function stagePspReport(
  pool: Pool,
  input: FileInput,
  options: { origin: ImportOrigin; intervalStart?: Date; intervalEnd?: Date },
): Promise<StagedImport> {
  const fingerprint = await fingerprintOf(input);
  await refuseDuplicate(pool, 'psp', fingerprint, input.name);
  const importId = newImportId();
  try {
    return await withTransaction(
      pool,
      async (client) => {
        await client.query(
          `INSERT INTO recon.imports (id, source, format, fingerprint, name, origin) VALUES ($1, 'psp', 'psp_csv', $2, $3, $4)`,
          [importId, fingerprint, input.name.slice(0, 200), options.origin],
        );
        const { lines, first, last } = await copyPspLines(client, importId, input);
        await client.query(
          'UPDATE recon.imports SET lines = $2, interval_start = $3, interval_end = $4 WHERE id = $1',
          [importId, lines, options.intervalStart ?? first ?? null, options.intervalEnd ?? last ?? null],
        );
        return { importId, source: 'psp' as const, format: 'psp_csv', lines };
      },
      { retries: 0 },
    );
  } catch (error) {
    return duplicateOnRace(error, input.name);
  }
}

interface BankRow {
  seq: number;
  line: number;
  messageType: string;
  statementId: string;
  account: string | null;
  entryIndex: number;
  txIndex: number;
  amountMinor: bigint;
  currency: string;
  creditDebit: string;
  reversal: boolean;
  status: string;
  bookingDate: string | null;
  entryRef: string | null;
  acctSvcrRef: string | null;
  endToEndId: string | null;
  bankCode: string | null;
  returnCode: string | null;
  returnInfo: string | null;
  remittance: string | null;
  seenKey: string;
}

function remittanceOf(parts: string[]): string | null {
  return parts.length === 0 ? null : parts.join(' | ').slice(0, 2000);
}

/**
 * An entry becomes one row per transaction when it is a batch whose transactions each carry their amount (a
 * batch-booked payout file), else one row with the entry's amount and its first transaction's references.
 */
export function bankRowsOf(entry: CamtEntry, nextSeq: () => number): BankRow[] {
  const statement = entry.statement;
  const txs = entry.transactions;
  const split = txs.length > 1 && txs.every((tx) => tx.amountMinor !== undefined);
  const parts = split ? txs.map((tx, at) => ({ tx, at })) : [{ tx: txs[0], at: 0 }];
  return parts.map(({ tx, at }) => {
    const acctSvcrRef = tx?.acctSvcrRef ?? entry.acctSvcrRef;
    const account = statement.accountIban ?? statement.accountOther ?? null;
    // What makes a bank line the same line when seen again: the bank's own reference when it gives one.
    const identity =
      acctSvcrRef !== undefined
        ? `ref:${acctSvcrRef}`
        : entry.entryRef !== undefined
          ? `ntry:${entry.entryRef}`
          : `stmt:${statement.id}:${entry.index}`;
    return {
      seq: nextSeq(),
      line: entry.line,
      messageType: statement.messageType,
      statementId: statement.id,
      account,
      entryIndex: entry.index,
      txIndex: at,
      amountMinor: split && tx?.amountMinor !== undefined ? tx.amountMinor : entry.amountMinor,
      currency: split && tx?.currency !== undefined ? tx.currency : entry.currency,
      creditDebit: split && tx?.creditDebit !== undefined ? tx.creditDebit : entry.creditDebit,
      reversal: entry.reversal,
      status: entry.status,
      bookingDate: entry.bookingDate?.slice(0, 10) ?? null,
      entryRef: entry.entryRef ?? null,
      acctSvcrRef: acctSvcrRef ?? null,
      endToEndId: tx?.endToEndId ?? null,
      bankCode: entry.bankTransactionCode ?? null,
      returnCode: tx?.returnInfo?.code ?? tx?.returnInfo?.proprietary ?? null,
      returnInfo: tx?.returnInfo === undefined ? null : tx.returnInfo.additionalInfo.join(' ') || null,
      // A row for the whole entry also carries its batch's references (the file a batch-booked line names).
      remittance: remittanceOf([...(tx?.remittance ?? []), ...(split ? [] : entry.batchReferences)]),
      // A camt.054 notification and the camt.053 statement carry the same movement: each channel is keyed apart.
      seenKey: `${statement.messageType}:${account ?? ''}:${identity}:${split ? at : 0}`,
    };
  });
}

async function insertBankBatch(client: PoolClient, importId: string, batch: BankRow[]): Promise<void> {
  const col = <T>(pick: (row: BankRow) => T): T[] => batch.map(pick);
  await client.query(
    `INSERT INTO recon.bank_lines (import_id, seq, line, message_type, statement_id, account, entry_index, tx_index,
       amount_minor, currency, credit_debit, reversal, status, booking_date, entry_ref, acct_svcr_ref, end_to_end_id,
       bank_code, return_code, return_info, remittance, seen_key)
     SELECT $1, * FROM unnest($2::int[], $3::int[], $4::text[], $5::text[], $6::text[], $7::int[], $8::int[],
       $9::bigint[], $10::text[], $11::text[], $12::boolean[], $13::text[], $14::text[], $15::text[], $16::text[],
       $17::text[], $18::text[], $19::text[], $20::text[], $21::text[], $22::text[])`,
    [
      importId,
      col((r) => r.seq),
      col((r) => r.line),
      col((r) => r.messageType),
      col((r) => r.statementId),
      col((r) => r.account),
      col((r) => r.entryIndex),
      col((r) => r.txIndex),
      col((r) => r.amountMinor.toString()),
      col((r) => r.currency),
      col((r) => r.creditDebit),
      col((r) => r.reversal),
      col((r) => r.status),
      col((r) => r.bookingDate),
      col((r) => r.entryRef),
      col((r) => r.acctSvcrRef),
      col((r) => r.endToEndId),
      col((r) => r.bankCode),
      col((r) => r.returnCode),
      col((r) => r.returnInfo),
      col((r) => r.remittance),
      col((r) => r.seenKey),
    ],
  );
}

/** Imports a bank statement or notification (camt.053 / camt.054); see the module comment. */
export async function stageBankStatement(
  pool: Pool,
  input: FileInput,
  options: { origin: ImportOrigin },
): Promise<StagedImport> {
  const fingerprint = await fingerprintOf(input);
  await refuseDuplicate(pool, 'bank', fingerprint, input.name);
  const importId = newImportId();
  try {
    return await withTransaction(
      pool,
      async (client) => {
        await client.query(
          `INSERT INTO recon.imports (id, source, format, fingerprint, name, origin) VALUES ($1, 'bank', 'camt', $2, $3, $4)`,
          [importId, fingerprint, input.name.slice(0, 200), options.origin],
        );
        let seq = 0;
        const nextSeq = (): number => ++seq;
        let format = 'camt';
        let batch: BankRow[] = [];
        for await (const item of readCamt(input.open())) {
          if (item.kind === 'end') format = item.messageType;
          if (item.kind !== 'entry') continue;
          batch.push(...bankRowsOf(item.entry, nextSeq));
          if (batch.length >= STAGE_BATCH) {
            await insertBankBatch(client, importId, batch);
            batch = [];
          }
        }
        if (batch.length > 0) await insertBankBatch(client, importId, batch);
        await client.query('UPDATE recon.imports SET lines = $2, format = $3 WHERE id = $1', [
          importId,
          seq,
          format,
        ]);
        return { importId, source: 'bank' as const, format, lines: seq };
      },
      { retries: 0 },
    );
  } catch (error) {
    return duplicateOnRace(error, input.name);
  }
}
