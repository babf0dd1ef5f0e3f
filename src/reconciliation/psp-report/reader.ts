import { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
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

function timestampOf(text: string, line: number, column: string): Date | undefined {
  if (text === '') return undefined;
  const match = TIMESTAMP.exec(text);
  if (match === null)
    throw malformedAt(line, column, `"${text}" is not a timestamp (YYYY-MM-DD HH:MM:SS, UTC)`);
  const date = new Date(`${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}Z`);
  if (Number.isNaN(date.getTime())) throw malformedAt(line, column, `"${text}" is not a valid date`);
  return date;
}

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
  return {
    index,
    metadataColumns,
    createdColumn: index.has('created_utc') ? 'created_utc' : 'created',
    availableColumn: index.has('available_on_utc') ? 'available_on_utc' : 'available_on',
    payoutAtColumn: index.has('automatic_payout_effective_at_utc')
      ? 'automatic_payout_effective_at_utc'
      : 'automatic_payout_effective_at',
  };
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
  get: (column: string) => string,
  line: number,
): { currency: string; amountMinor: bigint } | undefined {
  const amount = get('customer_facing_amount');
  const code = get('customer_facing_currency');
  if (amount === '' && code === '') return undefined;
  if (amount === '' || code === '')
    throw malformedAt(line, 'customer_facing_amount', 'customer_facing_amount and _currency go together');
  const currency = currencyOf(code, line, 'customer_facing_currency');
  return { currency, amountMinor: amountOf(amount, currency, line, 'customer_facing_amount') };
}

/** Reads one data row into a line: identity, currency, amounts (`net = gross − fee`), timestamps, references. */
export function readLine(header: ReportHeader, fields: string[], line: number): PspLine {
  const get = (column: string): string => {
    const at = header.index.get(column);
    return at === undefined ? '' : (fields[at] ?? '');
  };
  const optional = (column: string): string | undefined => {
    const value = get(column);
    return value === '' ? undefined : value;
  };
  const id = get('balance_transaction_id');
  if (id === '') throw malformedAt(line, 'balance_transaction_id', 'empty');
  const category = get('reporting_category');
  if (category === '') throw malformedAt(line, 'reporting_category', 'empty');
  const currency = currencyOf(get('currency'), line);
  const grossMinor = amountOf(get('gross'), currency, line, 'gross');
  const feeMinor = amountOf(get('fee'), currency, line, 'fee');
  const netMinor = amountOf(get('net'), currency, line, 'net');
  if (netMinor !== grossMinor - feeMinor) {
    throw malformedAt(line, 'net', `net ${get('net')} is not gross ${get('gross')} − fee ${get('fee')}`);
  }
  const { createdColumn, availableColumn, payoutAtColumn } = header;
  return {
    line,
    balanceTransactionId: id,
    category,
    currency,
    grossMinor,
    feeMinor,
    netMinor,
    createdAt: timestampOf(get(createdColumn), line, createdColumn),
    availableOn: timestampOf(get(availableColumn), line, availableColumn),
    sourceId: optional('source_id'),
    description: optional('description'),
    chargeId: optional('charge_id'),
    paymentIntentId: optional('payment_intent_id'),
    payoutId: optional('automatic_payout_id'),
    payoutEffectiveAt: timestampOf(get(payoutAtColumn), line, payoutAtColumn),
    disputeReason: optional('dispute_reason'),
    metadata: metadataOf(header, fields),
    customerFacing: customerFacingOf(get, line),
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

/** Reads a settlement report CSV; see the module comment. */
export async function* readPspReport(source: ByteSource): AsyncGenerator<PspLine> {
  const parser = parse({
    bom: true,
    info: true,
    relax_column_count: false,
    skip_empty_lines: true,
    max_record_size: MAX_FIELD_CHARS,
  });
  const input = toReadable(source);
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);

  let header: ReportHeader | undefined;
  try {
    for await (const record of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (header === undefined) header = readHeader(record.record, record.info.lines);
      else yield readLine(header, record.record, record.info.lines);
    }
  } catch (error) {
    throw csvRefusal(error);
  } finally {
    input.unpipe(parser);
    if (!input.destroyed) input.destroy();
  }
  if (header === undefined)
    throw new AppError('reconciliation_file_malformed', 'psp report: the file is empty');
}
