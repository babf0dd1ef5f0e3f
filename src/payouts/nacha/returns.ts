import {
  CHANGE_CODES,
  isReturnCode,
  parseCorrectedData,
  returnDescription,
  type CorrectedDetails,
} from './codes.ts';
import { RECORD_LENGTH } from './records.ts';

/**
 * Reads an ACH return/NOC file (pure): the entries the receiving banks sent back, each with its addenda. Addenda
 * type 99 is a return (reason R01–R85, the original entry's trace number); addenda type 98 a notification of
 * change (change code C01–C13, corrected data). A record that is not 94 characters, or an addenda without its
 * entry, is refused with its line number.
 */

export interface AchReturn {
  kind: 'return';
  line: number;
  code: string;
  description: string;
  originalTrace: string;
  amountMinor: bigint;
  /** The return entry's own trace number. */
  traceNumber: string;
  addendaInformation: string;
}

export interface AchNoc {
  kind: 'noc';
  line: number;
  code: string;
  description: string;
  originalTrace: string;
  correctedData: string;
  corrected: CorrectedDetails;
  traceNumber: string;
}

export interface AchReturnFile {
  items: Array<AchReturn | AchNoc>;
  /** Entries without a return or NOC addenda (or with a code Bursar does not know): left for investigation. */
  unknown: Array<{ line: number; reason: string }>;
}

export class AchFileError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

interface Entry {
  line: number;
  amountMinor: bigint;
  traceNumber: string;
}

function field(record: string, from: number, to: number): string {
  return record.slice(from - 1, to);
}

function addenda(record: string, line: number, entry: Entry): AchReturn | AchNoc | string {
  const type = field(record, 2, 3);
  const code = field(record, 4, 6);
  const originalTrace = field(record, 7, 21);
  if (!/^[0-9]{15}$/.test(originalTrace)) return `addenda ${type}: original trace number is not 15 digits`;
  if (type === '99') {
    if (!isReturnCode(code)) return `addenda 99: unknown return reason code "${code}"`;
    return {
      kind: 'return',
      line,
      code,
      description: returnDescription(code),
      originalTrace,
      amountMinor: entry.amountMinor,
      traceNumber: entry.traceNumber,
      addendaInformation: field(record, 36, 79).trim(),
    };
  }
  if (type === '98') {
    const description = CHANGE_CODES[code];
    if (description === undefined) return `addenda 98: unknown change code "${code}"`;
    const correctedData = field(record, 36, 64);
    return {
      kind: 'noc',
      line,
      code,
      description,
      originalTrace,
      correctedData: correctedData.trimEnd(),
      corrected: parseCorrectedData(code, correctedData),
      traceNumber: entry.traceNumber,
    };
  }
  return `addenda type ${type} is neither a return (99) nor a notification of change (98)`;
}

function entryOf(record: string, line: number): Entry {
  const amount = field(record, 30, 39);
  if (!/^[0-9]{10}$/.test(amount)) throw new AchFileError(line, 'entry amount is not 10 digits');
  return { line, amountMinor: BigInt(amount), traceNumber: field(record, 80, 94) };
}

export function readAchReturnFile(text: string): AchReturnFile {
  const result: AchReturnFile = { items: [], unknown: [] };
  let entry: (Entry & { answered: boolean }) | undefined;
  const close = (): void => {
    if (entry && !entry.answered) result.unknown.push({ line: entry.line, reason: 'entry without addenda' });
    entry = undefined;
  };
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = index + 1;
    if (raw === '' && index === lines.length - 1) break;
    if (raw.length !== RECORD_LENGTH) {
      throw new AchFileError(line, `a NACHA record is ${RECORD_LENGTH} characters, this one ${raw.length}`);
    }
    const type = raw[0];
    if (type === '6') {
      close();
      entry = { ...entryOf(raw, line), answered: false };
    } else if (type === '7') {
      if (!entry) throw new AchFileError(line, 'an addenda record without its entry detail');
      const item = addenda(raw, line, entry);
      if (typeof item === 'string') result.unknown.push({ line, reason: item });
      else result.items.push(item);
      entry.answered = true;
    } else if (type === '1' || type === '5' || type === '8' || type === '9') {
      close();
    } else {
      throw new AchFileError(line, `unknown record type "${type ?? ''}"`);
    }
  }
  close();
  return result;
}
