import { Readable } from 'node:stream';
import { CsvError, Parser } from 'csv-parse';
import { AppError, isAppError } from '../../errors.ts';
import { assertCurrency, parseReportAmount } from '../../money/index.ts';
import type { ByteSource } from '../camt/types.ts';

/**
 * A streaming reader of the PSP's settlement report: the columns of Stripe's itemized balance-change report
 * (`balance_change_from_activity.itemized.3`) and payout-reconciliation report (`payout_reconciliation.itemized.5`),
 * one row per balance transaction, amounts in MAJOR units. It yields one typed line at a time, so a report of a
 * million lines is read in bounded memory. It is strict: a missing required column, a row of the wrong width, an
 * amount the money module refuses, a currency that is not ISO 4217, `net ≠ gross − fee`, or a timestamp that is
 * not one is refused with `reconciliation_file_malformed` naming the line and column. Columns it does not know are
 * ignored, so any column selection of those report types reads.
 */

export interface PspLine {
  /** 1-based line of the file (the header is line 1). */
  line: number;
  balanceTransactionId: string;
  /** charge, refund, dispute, payout, fee, adjustment, … (Stripe's reporting categories). */
  category: string;
  currency: string;
  /** Signed minor units: positive money in (charges), negative money out (refunds, disputes, payouts). */
  grossMinor: bigint;
  feeMinor: bigint;
  netMinor: bigint;
  createdAt: Date | undefined;
  availableOn: Date | undefined;
  sourceId: string | undefined;
  description: string | undefined;
  chargeId: string | undefined;
  paymentIntentId: string | undefined;
  /** The automatic payout that carried this transaction to the bank (`automatic_payout_id`). */
  payoutId: string | undefined;
  payoutEffectiveAt: Date | undefined;
  disputeReason: string | undefined;
  /** `payment_metadata[key]` columns (empty values left out). */
  metadata: Record<string, string>;
  /**
   * What the customer was charged (`customer_facing_amount` / `customer_facing_currency`), signed as gross. For a
   * converted charge it is in the presentment currency while `currency` and `gross` are the settlement side.
   */
  customerFacing?: { currency: string; amountMinor: bigint } | undefined;
}

const REQUIRED = ['balance_transaction_id', 'currency', 'gross', 'fee', 'net', 'reporting_category'] as const;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:Z|\+00:00)?$/;
const METADATA_COLUMN = /^payment_metadata\[(.+)\]$/;
/** A sane upper bound on a field; a longer one is refused rather than buffered. */
const MAX_FIELD_CHARS = 64 * 1024;

function malformedAt(line: number, column: string, what: string): AppError {
  return new AppError('reconciliation_file_malformed', `psp report: line ${line}, column ${column}: ${what}`);
}

function timestampOf(text: string, line: number, column: string, seen?: StampCache): Date | undefined {
  if (text === '') return undefined;
  // A report's timestamps repeat (a second's lines, a day's available_on): a text read before is that instant.
  const known = seen?.get(text);
  if (known !== undefined) return new Date(known);
  const match = TIMESTAMP.exec(text);
  if (match === null)
    throw malformedAt(line, column, `"${text}" is not a timestamp (YYYY-MM-DD HH:MM:SS, UTC)`);
  const date = new Date(`${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}Z`);
  if (Number.isNaN(date.getTime())) throw malformedAt(line, column, `"${text}" is not a valid date`);
  if (seen !== undefined) {
    if (seen.size >= STAMP_CACHE_SIZE) seen.clear();
    seen.set(text, date.getTime());
  }
  return date;
}

/** Valid timestamp texts already read, as epoch milliseconds (bounded: cleared when full). */
type StampCache = Map<string, number>;
const STAMP_CACHE_SIZE = 4096;

function toReadable(source: ByteSource): Readable {
  if (source instanceof Readable) return source;
  return Readable.from(source as AsyncIterable<Uint8Array | string>, { objectMode: false });
}

/** What the header row tells about every following row. */
interface ReportHeader {
  index: Map<string, number>;
  metadataColumns: Array<{ key: string; at: number }>;
  /** The timestamp columns this report uses (the `_utc` ones when present). */
  createdColumn: string;
  availableColumn: string;
  payoutAtColumn: string;
  /** Where each column a line reads is (-1: absent), resolved once rather than per line. */
  at: ColumnPositions;
  stamps: StampCache;
}

interface ColumnPositions {
  id: number;
  category: number;
  currency: number;
  gross: number;
  fee: number;
  net: number;
  created: number;
  available: number;
  payoutAt: number;
  sourceId: number;
  description: number;
  chargeId: number;
  paymentIntentId: number;
  payoutId: number;
  disputeReason: number;
  customerAmount: number;
  customerCurrency: number;
}

/** Reads the header row: every required column present, no column twice. */
export function readHeader(fields: string[], line: number): ReportHeader {
  const header = fields.map((name) => name.trim());
  const index = new Map(header.map((name, at) => [name, at]));
  for (const required of REQUIRED) {
    if (!index.has(required)) {
      throw malformedAt(line, required, `the header lacks the required column "${required}"`);
    }
  }
  if (index.size !== header.length) throw malformedAt(line, '(header)', 'a column name appears twice');
  const metadataColumns = header.flatMap((name, at) => {
    const match = METADATA_COLUMN.exec(name);
    return match?.[1] === undefined ? [] : [{ key: match[1], at }];
  });
  const createdColumn = index.has('created_utc') ? 'created_utc' : 'created';
  const availableColumn = index.has('available_on_utc') ? 'available_on_utc' : 'available_on';
  const payoutAtColumn = index.has('automatic_payout_effective_at_utc')
    ? 'automatic_payout_effective_at_utc'
    : 'automatic_payout_effective_at';
  const position = (column: string): number => index.get(column) ?? -1;
  return {
    index,
    metadataColumns,
    createdColumn,
    availableColumn,
    payoutAtColumn,
    at: {
      id: position('balance_transaction_id'),
      category: position('reporting_category'),
      currency: position('currency'),
      gross: position('gross'),
      fee: position('fee'),
      net: position('net'),
      created: position(createdColumn),
      available: position(availableColumn),
      payoutAt: position(payoutAtColumn),
      sourceId: position('source_id'),
      description: position('description'),
      chargeId: position('charge_id'),
      paymentIntentId: position('payment_intent_id'),
      payoutId: position('automatic_payout_id'),
      disputeReason: position('dispute_reason'),
      customerAmount: position('customer_facing_amount'),
      customerCurrency: position('customer_facing_currency'),
    },
    stamps: new Map(),
  };
}

/** The field at a column's position; '' for a column the report does not have. */
function fieldAt(fields: string[], at: number): string {
  return at < 0 ? '' : (fields[at] ?? '');
}

function optionalAt(fields: string[], at: number): string | undefined {
  const value = fieldAt(fields, at);
  return value === '' ? undefined : value;
}

function currencyOf(text: string, line: number, column = 'currency'): string {
  try {
    return assertCurrency(text.toUpperCase());
  } catch {
    throw malformedAt(line, column, `"${text}" is not an ISO 4217 currency`);
  }
}

function amountOf(text: string, currency: string, line: number, column: string): bigint {
  try {
    return parseReportAmount(text, currency);
  } catch (error) {
    if (!isAppError(error)) throw error;
    throw malformedAt(line, column, `"${text}" ${currency}: ${error.message} (${error.code})`);
  }
}

function metadataOf(header: ReportHeader, fields: string[]): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const { key, at } of header.metadataColumns) {
    const value = fields[at] ?? '';
    if (value !== '') metadata[key] = value;
  }
  return metadata;
}

/** The customer-facing amount and currency, when the report carries both; refused when only one is given. */
function customerFacingOf(
  header: ReportHeader,
  fields: string[],
  line: number,
): { currency: string; amountMinor: bigint } | undefined {
  const amount = fieldAt(fields, header.at.customerAmount);
  const code = fieldAt(fields, header.at.customerCurrency);
  if (amount === '' && code === '') return undefined;
  if (amount === '' || code === '')
    throw malformedAt(line, 'customer_facing_amount', 'customer_facing_amount and _currency go together');
  const currency = currencyOf(code, line, 'customer_facing_currency');
  return { currency, amountMinor: amountOf(amount, currency, line, 'customer_facing_amount') };
}

/** Reads one data row into a line: identity, currency, amounts (`net = gross − fee`), timestamps, references. */
export function readLine(header: ReportHeader, fields: string[], line: number): PspLine {
  const { at } = header;
  const id = fieldAt(fields, at.id);
  if (id === '') throw malformedAt(line, 'balance_transaction_id', 'empty');
  const category = fieldAt(fields, at.category);
  if (category === '') throw malformedAt(line, 'reporting_category', 'empty');
  const currency = currencyOf(fieldAt(fields, at.currency), line);
  const gross = fieldAt(fields, at.gross);
  const fee = fieldAt(fields, at.fee);
  const net = fieldAt(fields, at.net);
  const grossMinor = amountOf(gross, currency, line, 'gross');
  const feeMinor = amountOf(fee, currency, line, 'fee');
  const netMinor = amountOf(net, currency, line, 'net');
  if (netMinor !== grossMinor - feeMinor) {
    throw malformedAt(line, 'net', `net ${net} is not gross ${gross} − fee ${fee}`);
  }
  const { createdColumn, availableColumn, payoutAtColumn, stamps } = header;
  return {
    line,
    balanceTransactionId: id,
    category,
    currency,
    grossMinor,
    feeMinor,
    netMinor,
    createdAt: timestampOf(fieldAt(fields, at.created), line, createdColumn, stamps),
    availableOn: timestampOf(fieldAt(fields, at.available), line, availableColumn, stamps),
    sourceId: optionalAt(fields, at.sourceId),
    description: optionalAt(fields, at.description),
    chargeId: optionalAt(fields, at.chargeId),
    paymentIntentId: optionalAt(fields, at.paymentIntentId),
    payoutId: optionalAt(fields, at.payoutId),
    payoutEffectiveAt: timestampOf(fieldAt(fields, at.payoutAt), line, payoutAtColumn, stamps),
    disputeReason: optionalAt(fields, at.disputeReason),
    metadata: metadataOf(header, fields),
    customerFacing: customerFacingOf(header, fields, line),
  };
}

/** The parser's own refusals (row width, field size, quoting) in Bursar's words; anything else unchanged. */
function csvRefusal(error: unknown): unknown {
  if (!(error instanceof CsvError)) return error;
  const line = (error as CsvError & { lines?: number }).lines;
  return new AppError(
    'reconciliation_file_malformed',
    `psp report: ${line === undefined ? '' : `line ${line}: `}${error.message.replace(/^Invalid [^:]*: /, '')}`,
  );
}

/**
 * csv-parse's synchronous core, which its stream wraps (`Parser#api`): fed a chunk of bytes, it hands over each
 * record there and then, while `info.lines` is still that record's last line. Driving it directly instead of
 * iterating the stream saves a stream push, an async step and an info object per record (a third of the parse).
 */
interface CsvCore {
  parse(
    chunk: Buffer | undefined,
    end: boolean,
    push: (record: string[]) => void,
    close: () => void,
  ): Error | undefined;
  info: { lines: number };
}

function csvCore(): CsvCore {
  const parser = new Parser({
    bom: true,
    relax_column_count: false,
    skip_empty_lines: true,
    max_record_size: MAX_FIELD_CHARS,
  });
  const core = (parser as unknown as { api?: Partial<CsvCore> }).api;
  if (typeof core?.parse !== 'function' || typeof core.info?.lines !== 'number') {
    throw new Error('csv-parse no longer exposes its parser core (Parser#api): see psp-report/reader.ts');
  }
  return core as CsvCore;
}

function bytesOf(chunk: Uint8Array | string): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Reads a settlement report CSV; see the module comment. */
export async function* readPspReport(source: ByteSource): AsyncGenerator<PspLine> {
  const core = csvCore();
  const input = toReadable(source);
  // The records of one chunk of input, with the line each ends on: at most one read's worth is held.
  const records: string[][] = [];
  const lines: number[] = [];
  const push = (record: string[]): void => {
    records.push(record);
    lines.push(core.info.lines);
  };
  const close = (): void => undefined;
  let header: ReportHeader | undefined;
  try {
    let done = false;
    const chunks = input[Symbol.asyncIterator]();
    while (!done) {
      const next = (await chunks.next()) as IteratorResult<Uint8Array | string>;
      done = next.done === true;
      const refused = done
        ? core.parse(undefined, true, push, close)
        : core.parse(bytesOf(next.value), false, push, close);
      if (refused !== undefined) throw refused;
      for (let at = 0; at < records.length; at++) {
        const record = records[at] ?? [];
        const line = lines[at] ?? 0;
        if (header === undefined) header = readHeader(record, line);
        else yield readLine(header, record, line);
      }
      records.length = 0;
      lines.length = 0;
    }
  } catch (error) {
    throw csvRefusal(error);
  } finally {
    if (!input.destroyed) input.destroy();
  }
  if (header === undefined)
    throw new AppError('reconciliation_file_malformed', 'psp report: the file is empty');
}
