/**
 * NACHA record layouts (pure): every record is 94 characters; alphanumeric fields are upper case, left-justified
 * and space-filled; numeric fields right-justified and zero-filled. docs/payouts.md "NACHA ACH" has the fields.
 */

export const RECORD_LENGTH = 94;
export const BLOCKING_FACTOR = 10;
/** Service class 220: credits only (Bursar only pays out). */
export const SERVICE_CLASS_CREDITS = '220';

export type SecCode = 'CCD' | 'PPD';

/** Letters without accents, upper case; anything outside printable ASCII becomes a space; cut or padded. */
export function alpha(value: string, length: number): string {
  const ascii = value
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toUpperCase()
    .replace(/[^\x20-\x7e]/g, ' ');
  return ascii.slice(0, length).padEnd(length, ' ');
}

/** A non-negative integer, zero-filled; refuses a value that does not fit (never silently cut). */
export function num(value: bigint | number | string, length: number): string {
  const text = String(value);
  if (!/^[0-9]+$/.test(text) || text.length > length) {
    throw new RangeError(`NACHA numeric field of ${length} digits cannot hold ${text}`);
  }
  return text.padStart(length, '0');
}

/** The rightmost `length` digits (entry hashes and the like). */
export function rightmost(value: bigint, length: number): string {
  return String(value).padStart(length, '0').slice(-length);
}

function yymmdd(date: string): string {
  return `${date.slice(2, 4)}${date.slice(5, 7)}${date.slice(8, 10)}`;
}

function record(text: string): string {
  if (text.length !== RECORD_LENGTH) throw new Error(`NACHA record of ${text.length} characters: ${text}`);
  return text;
}

export interface FileHeader {
  /** 9-digit routing number of the ODFI or ACH operator receiving the file. */
  immediateDestination: string;
  /** 10 characters: usually the company id or ' ' + the ODFI routing number. */
  immediateOrigin: string;
  createdAt: Date;
  fileIdModifier: string;
  immediateDestinationName: string;
  immediateOriginName: string;
  referenceCode: string;
}

export function fileHeader(h: FileHeader): string {
  const iso = h.createdAt.toISOString();
  return record(
    '101' +
      ` ${h.immediateDestination}`.padStart(10, ' ') +
      alpha(h.immediateOrigin.padStart(10, ' '), 10) +
      yymmdd(iso.slice(0, 10)) +
      iso.slice(11, 13) +
      iso.slice(14, 16) +
      h.fileIdModifier +
      '094' +
      '10' +
      '1' +
      alpha(h.immediateDestinationName, 23) +
      alpha(h.immediateOriginName, 23) +
      alpha(h.referenceCode, 8),
  );
}

export interface BatchHeader {
  companyName: string;
  discretionaryData: string;
  companyId: string;
  secCode: SecCode;
  entryDescription: string;
  /** The date the receiver sees beside the description (YYYY-MM-DD: the run date). */
  descriptiveDate: string;
  effectiveDate: string;
  odfi: string;
  batchNumber: number;
}

export function batchHeader(b: BatchHeader): string {
  return record(
    '5' +
      SERVICE_CLASS_CREDITS +
      alpha(b.companyName, 16) +
      alpha(b.discretionaryData, 20) +
      alpha(b.companyId, 10) +
      b.secCode +
      alpha(b.entryDescription, 10) +
      yymmdd(b.descriptiveDate) +
      yymmdd(b.effectiveDate) +
      '   ' + // settlement date: inserted by the ACH operator
      '1' +
      num(b.odfi, 8) +
      num(b.batchNumber, 7),
  );
}

export interface EntryDetail {
  /** 22: checking credit, 32: savings credit. */
  transactionCode: '22' | '32';
  routingNumber: string;
  accountNumber: string;
  amountMinor: bigint;
  identification: string;
  receiverName: string;
  traceNumber: string;
}

export function entryDetail(e: EntryDetail): string {
  return record(
    '6' +
      e.transactionCode +
      e.routingNumber.slice(0, 8) +
      e.routingNumber.slice(8, 9) +
      alpha(e.accountNumber, 17) +
      num(e.amountMinor, 10) +
      alpha(e.identification, 15) +
      alpha(e.receiverName, 22) +
      '  ' +
      '0' +
      num(e.traceNumber, 15),
  );
}

export interface Totals {
  entryCount: number;
  /** Sum of the receiving DFI identifications (first 8 digits of each routing number). */
  hashSum: bigint;
  creditMinor: bigint;
}

export function batchControl(t: Totals, b: { companyId: string; odfi: string; batchNumber: number }): string {
  return record(
    '8' +
      SERVICE_CLASS_CREDITS +
      num(t.entryCount, 6) +
      rightmost(t.hashSum, 10) +
      num(0, 12) +
      num(t.creditMinor, 12) +
      alpha(b.companyId, 10) +
      ' '.repeat(19) +
      ' '.repeat(6) +
      num(b.odfi, 8) +
      num(b.batchNumber, 7),
  );
}

/** The number of records a file of `records` records (file control included) has once blocked by 10. */
export function blockCount(records: number): number {
  return Math.ceil(records / BLOCKING_FACTOR);
}

export function fileControl(t: Totals & { batchCount: number; blockCount: number }): string {
  return record(
    '9' +
      num(t.batchCount, 6) +
      num(t.blockCount, 6) +
      num(t.entryCount, 8) +
      rightmost(t.hashSum, 10) +
      num(0, 12) +
      num(t.creditMinor, 12) +
      ' '.repeat(39),
  );
}

/** The `9` records filling the last block up to a multiple of 10 records. */
export function filler(recordsWritten: number): string[] {
  const missing = (BLOCKING_FACTOR - (recordsWritten % BLOCKING_FACTOR)) % BLOCKING_FACTOR;
  return Array.from({ length: missing }, () => '9'.repeat(RECORD_LENGTH));
}
