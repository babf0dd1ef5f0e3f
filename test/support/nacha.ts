/**
 * An independent NACHA reader and checker for the tests, written from the NACHA Operating Rules' record layouts
 * (Appendix Three) — it shares no code with the writer in src/payouts/nacha. It reads a file record by record and
 * reports every rule it breaks: record length (94), record order, batch and file control counts and totals,
 * entry hashes (the sum of the 8-digit receiving DFI identifications, rightmost 10 digits), the block count and
 * the blocking factor of 10 with all-`9` filler records, routing check digits, and ascending trace numbers.
 * It also builds return and NOC files to the rules, as a receiving bank would send them.
 */

export interface CheckedEntry {
  transactionCode: string;
  routing: string;
  account: string;
  amountCents: bigint;
  identification: string;
  name: string;
  trace: string;
}

export interface CheckedBatch {
  serviceClass: string;
  companyName: string;
  discretionary: string;
  companyId: string;
  sec: string;
  description: string;
  effectiveDate: string;
  odfi: string;
  number: number;
  entries: CheckedEntry[];
}

export interface CheckedFile {
  immediateDestination: string;
  immediateOrigin: string;
  fileIdModifier: string;
  batches: CheckedBatch[];
  totalCreditCents: bigint;
  entryCount: number;
  errors: string[];
}

const cut = (record: string, from: number, to: number): string => record.slice(from - 1, to);

function abaValid(nine: string): boolean {
  if (!/^[0-9]{9}$/.test(nine)) return false;
  const d = [...nine].map(Number);
  const sum =
    3 * ((d[0] ?? 0) + (d[3] ?? 0) + (d[6] ?? 0)) +
    7 * ((d[1] ?? 0) + (d[4] ?? 0) + (d[7] ?? 0)) +
    ((d[2] ?? 0) + (d[5] ?? 0) + (d[8] ?? 0));
  return sum % 10 === 0;
}

function yymmddToIso(text: string): string {
  return `20${text.slice(0, 2)}-${text.slice(2, 4)}-${text.slice(4, 6)}`;
}

interface State {
  file: CheckedFile;
  batch: CheckedBatch | undefined;
  batchHash: bigint;
  batchCredit: bigint;
  fileHash: bigint;
  records: number;
  lastTrace: string;
  fileControlSeen: boolean;
}

function readEntry(s: State, r: string, at: string): void {
  if (!s.batch) return void s.file.errors.push(`${at}: entry outside a batch`);
  const routing = cut(r, 4, 11) + cut(r, 12, 12);
  if (!abaValid(routing)) s.file.errors.push(`${at}: routing ${routing} fails its check digit`);
  const amount = cut(r, 30, 39);
  if (!/^[0-9]{10}$/.test(amount)) s.file.errors.push(`${at}: amount not numeric`);
  const trace = cut(r, 80, 94);
  if (!/^[0-9]{15}$/.test(trace)) s.file.errors.push(`${at}: trace not 15 digits`);
  if (cut(trace, 1, 8) !== s.batch.odfi) s.file.errors.push(`${at}: trace does not start with the ODFI id`);
  if (trace <= s.lastTrace) s.file.errors.push(`${at}: trace numbers not ascending`);
  s.lastTrace = trace;
  if (!['22', '32'].includes(cut(r, 2, 3))) s.file.errors.push(`${at}: not a credit transaction code`);
  if (cut(r, 79, 79) !== '0') s.file.errors.push(`${at}: addenda indicator set without addenda`);
  s.batchHash += BigInt(cut(r, 4, 11));
  s.batchCredit += BigInt(amount);
  s.batch.entries.push({
    transactionCode: cut(r, 2, 3),
    routing,
    account: cut(r, 13, 29).trimEnd(),
    amountCents: BigInt(amount),
    identification: cut(r, 40, 54).trimEnd(),
    name: cut(r, 55, 76).trimEnd(),
    trace,
  });
}

function readBatchControl(s: State, r: string, at: string): void {
  const b = s.batch;
  if (!b) return void s.file.errors.push(`${at}: batch control without a batch`);
  const errors = s.file.errors;
  if (cut(r, 2, 4) !== b.serviceClass) errors.push(`${at}: service class differs from the header`);
  if (Number(cut(r, 5, 10)) !== b.entries.length) errors.push(`${at}: entry count ${cut(r, 5, 10)} wrong`);
  if (cut(r, 11, 20) !== String(s.batchHash % 10_000_000_000n).padStart(10, '0'))
    errors.push(`${at}: entry hash ${cut(r, 11, 20)} wrong`);
  if (BigInt(cut(r, 21, 32)) !== 0n) errors.push(`${at}: debit total not zero`);
  if (BigInt(cut(r, 33, 44)) !== s.batchCredit) errors.push(`${at}: credit total ${cut(r, 33, 44)} wrong`);
  if (cut(r, 45, 54) !== b.companyId.padEnd(10)) errors.push(`${at}: company id differs from the header`);
  if (cut(r, 80, 87) !== b.odfi || Number(cut(r, 88, 94)) !== b.number)
    errors.push(`${at}: ODFI/batch number differ from the header`);
  s.fileHash += s.batchHash;
  s.file.totalCreditCents += s.batchCredit;
  s.file.entryCount += b.entries.length;
  s.file.batches.push(b);
  s.batch = undefined;
}

function readBatchHeader(s: State, r: string, at: string): void {
  if (s.batch) s.file.errors.push(`${at}: batch header inside a batch`);
  const number = Number(cut(r, 88, 94));
  if (number !== s.file.batches.length + 1) s.file.errors.push(`${at}: batch numbers not 1, 2, …`);
  if (!['CCD', 'PPD'].includes(cut(r, 51, 53))) s.file.errors.push(`${at}: SEC code ${cut(r, 51, 53)}`);
  if (cut(r, 79, 79) !== '1') s.file.errors.push(`${at}: originator status code not 1`);
  s.batch = {
    serviceClass: cut(r, 2, 4),
    companyName: cut(r, 5, 20).trimEnd(),
    discretionary: cut(r, 21, 40).trimEnd(),
    companyId: cut(r, 41, 50).trimEnd(),
    sec: cut(r, 51, 53),
    description: cut(r, 54, 63).trimEnd(),
    effectiveDate: yymmddToIso(cut(r, 70, 75)),
    odfi: cut(r, 80, 87),
    number,
    entries: [],
  };
  s.batchHash = 0n;
  s.batchCredit = 0n;
}

function readFileControl(s: State, r: string, at: string, totalRecords: number): void {
  const errors = s.file.errors;
  s.fileControlSeen = true;
  if (s.batch) errors.push(`${at}: file control inside a batch`);
  if (Number(cut(r, 2, 7)) !== s.file.batches.length) errors.push(`${at}: batch count wrong`);
  if (Number(cut(r, 8, 13)) !== totalRecords / 10) errors.push(`${at}: block count ${cut(r, 8, 13)} wrong`);
  if (Number(cut(r, 14, 21)) !== s.file.entryCount) errors.push(`${at}: entry/addenda count wrong`);
  if (cut(r, 22, 31) !== String(s.fileHash % 10_000_000_000n).padStart(10, '0'))
    errors.push(`${at}: file entry hash wrong`);
  if (BigInt(cut(r, 32, 43)) !== 0n) errors.push(`${at}: file debit total not zero`);
  if (BigInt(cut(r, 44, 55)) !== s.file.totalCreditCents) errors.push(`${at}: file credit total wrong`);
  if (cut(r, 56, 94).trim() !== '') errors.push(`${at}: reserved not blank`);
}

function readFileHeader(s: State, r: string, at: string): void {
  if (s.records !== 1) s.file.errors.push(`${at}: file header is not the first record`);
  if (cut(r, 2, 3) !== '01') s.file.errors.push(`${at}: priority code`);
  if (!abaValid(cut(r, 5, 13))) s.file.errors.push(`${at}: immediate destination fails its check digit`);
  if (cut(r, 35, 37) !== '094' || cut(r, 38, 39) !== '10' || cut(r, 40, 40) !== '1')
    s.file.errors.push(`${at}: record size / blocking factor / format code`);
  if (!/^[A-Z0-9]$/.test(cut(r, 34, 34))) s.file.errors.push(`${at}: file id modifier`);
  s.file.immediateDestination = cut(r, 5, 13);
  s.file.immediateOrigin = cut(r, 14, 23);
  s.file.fileIdModifier = cut(r, 34, 34);
}

/** Reads and checks a whole ACH file; `errors` is empty for a file that keeps every rule checked. */
export function checkNachaFile(text: string): CheckedFile {
  const file: CheckedFile = {
    immediateDestination: '',
    immediateOrigin: '',
    fileIdModifier: '',
    batches: [],
    totalCreditCents: 0n,
    entryCount: 0,
    errors: [],
  };
  if (!text.endsWith('\n')) file.errors.push('the file does not end with a line break');
  const records = text.replace(/\n$/, '').split('\n');
  if (records.length % 10 !== 0) file.errors.push(`${records.length} records: not a multiple of 10`);
  const s: State = {
    file,
    batch: undefined,
    batchHash: 0n,
    batchCredit: 0n,
    fileHash: 0n,
    records: 0,
    lastTrace: '',
    fileControlSeen: false,
  };
  for (const [index, r] of records.entries()) {
    s.records = index + 1;
    const at = `record ${index + 1}`;
    if (r.length !== 94) file.errors.push(`${at}: ${r.length} characters, not 94`);
    if (!/^[\x20-\x7e]*$/.test(r)) file.errors.push(`${at}: characters outside printable ASCII`);
    if (s.fileControlSeen) {
      if (r !== '9'.repeat(94)) file.errors.push(`${at}: after the file control, only 9-filler records`);
      continue;
    }
    const type = r[0];
    if (type === '1') readFileHeader(s, r, at);
    else if (type === '5') readBatchHeader(s, r, at);
    else if (type === '6') readEntry(s, r, at);
    else if (type === '8') readBatchControl(s, r, at);
    else if (type === '9') readFileControl(s, r, at, records.length);
    else file.errors.push(`${at}: record type ${type ?? ''}`);
  }
  if (!s.fileControlSeen) file.errors.push('no file control record');
  const fillers = records.length - records.findIndex((r) => r[0] === '9' && r !== '9'.repeat(94)) - 1;
  if (fillers >= 10) file.errors.push('a whole block of filler');
  return file;
}

/** What a receiving bank sends back for one of our entries. */
export type ReturnItem =
  | { kind: 'return'; code: string; entry: CheckedEntry; info?: string }
  | { kind: 'noc'; code: string; entry: CheckedEntry; correctedData: string };

function pad(text: string, length: number): string {
  return text.slice(0, length).padEnd(length, ' ');
}

function zeros(value: bigint | number, length: number): string {
  return String(value).padStart(length, '0');
}

/**
 * A return/NOC file to the rules: file header, one batch (SEC of the originals, or COR for NOCs) per kind, each
 * entry detail with transaction code 21/31 (return or NOC of a checking/savings credit) and its addenda 99 or
 * 98 naming the original trace number, controls and filler.
 */
export function buildReturnFile(items: ReturnItem[], options: { odfi: string; rdfi: string }): string {
  const lines: string[] = [];
  lines.push(
    `101 ${options.odfi}0 ${options.rdfi}0261203${'1200'}A094101${pad('BURSAR BANK', 23)}${pad('RDFI', 23)}${pad('', 8)}`,
  );
  const groups: Array<[string, ReturnItem[]]> = [
    ['CCD', items.filter((i) => i.kind === 'return')],
    ['COR', items.filter((i) => i.kind === 'noc')],
  ];
  let batchNo = 0;
  let fileHash = 0n;
  let fileCredit = 0n;
  let fileEntries = 0;
  let seq = 1;
  for (const [sec, group] of groups) {
    if (group.length === 0) continue;
    batchNo++;
    lines.push(
      `5220${pad('BURSAR MARKETPL', 16)}${pad('', 20)}1234567890${sec}${pad('RETURN', 10)}261203261203   1${options.rdfi}${zeros(batchNo, 7)}`,
    );
    let hash = 0n;
    let credit = 0n;
    for (const item of group) {
      const e = item.entry;
      const code = e.transactionCode === '32' ? (item.kind === 'noc' ? '31' : '31') : '21';
      const amount = item.kind === 'noc' ? 0n : e.amountCents;
      const trace = `${options.rdfi}${zeros(seq++, 7)}`;
      lines.push(
        `6${code}${e.routing}${pad(e.account, 17)}${zeros(amount, 10)}${pad(e.identification, 15)}${pad(e.name, 22)}  1${trace}`,
      );
      const addenda =
        item.kind === 'return'
          ? `799${item.code}${e.trace}${'      '}${e.routing.slice(0, 8)}${pad(item.info ?? '', 44)}${trace}`
          : `798${item.code}${e.trace}${'      '}${e.routing.slice(0, 8)}${pad(item.correctedData, 29)}${pad('', 15)}${trace}`;
      lines.push(addenda);
      hash += BigInt(e.routing.slice(0, 8));
      credit += amount;
    }
    lines.push(
      `8220${zeros(group.length * 2, 6)}${zeros(hash % 10_000_000_000n, 10)}${zeros(0, 12)}${zeros(credit, 12)}1234567890${pad('', 25)}${options.rdfi}${zeros(batchNo, 7)}`,
    );
    fileHash += hash;
    fileCredit += credit;
    fileEntries += group.length * 2;
  }
  const total = lines.length + 1;
  const blocks = Math.ceil(total / 10);
  lines.push(
    `9${zeros(batchNo, 6)}${zeros(blocks, 6)}${zeros(fileEntries, 8)}${zeros(fileHash % 10_000_000_000n, 10)}${zeros(0, 12)}${zeros(fileCredit, 12)}${pad('', 39)}`,
  );
  while (lines.length % 10 !== 0) lines.push('9'.repeat(94));
  return `${lines.join('\n')}\n`;
}
