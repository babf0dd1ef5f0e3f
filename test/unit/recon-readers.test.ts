import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { readCamt, type CamtItem } from '../../src/reconciliation/camt/index.ts';
import { readPspReport, type PspLine } from '../../src/reconciliation/psp-report/reader.ts';
import { DEFAULT_COLUMNS } from '../../sandbox/report.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const samples = path.resolve(repoRoot, '../shared/reference/iso20022/samples/genkgo');

async function readAll(
  source: Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>,
): Promise<CamtItem[]> {
  const items: CamtItem[] = [];
  for await (const item of readCamt(source)) items.push(item);
  return items;
}

async function camtError(text: string): Promise<AppError> {
  try {
    await readAll([text]);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('the camt reader accepted a malformed file');
}

async function readCsv(text: string): Promise<PspLine[]> {
  const lines: PspLine[] = [];
  for await (const line of readPspReport([Buffer.from(text)])) lines.push(line);
  return lines;
}

async function csvError(text: string): Promise<AppError> {
  try {
    await readCsv(text);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('the report reader accepted a malformed file');
}

function chunks(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

const MINIMAL = (entry: string): string => `<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>M1</MsgId></GrpHdr>
    <Stmt>
      <Id>S1</Id>
      <Acct><Id><IBAN>DE02120300000000202051</IBAN></Id></Acct>
      ${entry}
    </Stmt>
  </BkToCstmrStmt>
</Document>`;

const ENTRY = `<Ntry><Amt Ccy="EUR">12.34</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
  <BookgDt><Dt>2026-01-02</Dt></BookgDt><AcctSvcrRef>REF1</AcctSvcrRef>
  <NtryDtls><TxDtls><Refs><EndToEndId>po_abc</EndToEndId></Refs>
  <RtrInf><Rsn><Cd>AC04</Cd></Rsn><AddtlInf>closed</AddtlInf></RtrInf>
  <RmtInf><Ustrd>payout po_abc</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>`;

describe('camt reader', () => {
  it('reads every sample camt.053 and camt.054 file of the shared reference (versions 02 and 08), except the wrong one', async () => {
    const expected: Record<string, { type: string; statements: number; entries: number }> = {
      'camt053.v2.all-balance-types.xml': { type: 'camt.053', statements: 1, entries: 1 },
      'camt053.v2.five.decimals.xml': { type: 'camt.053', statements: 1, entries: 1 },
      'camt053.v2.minimal.xml': { type: 'camt.053', statements: 1, entries: 1 },
      'camt053.v2.multi.statement.xml': { type: 'camt.053', statements: 2, entries: 2 },
      'camt053.v8.xml': { type: 'camt.053', statements: 1, entries: 1 },
      'camt054.v2.xml': { type: 'camt.054', statements: 1, entries: 1 },
      'camt054.v8.xml': { type: 'camt.054', statements: 1, entries: 1 },
    };
    for (const [name, want] of Object.entries(expected)) {
      const items = await readAll(fs.createReadStream(path.join(samples, name)));
      const end = items.at(-1);
      expect(end, name).toMatchObject({
        kind: 'end',
        messageType: want.type,
        statements: want.statements,
        entries: want.entries,
      });
      expect(items.filter((item) => item.kind === 'statement')).toHaveLength(want.statements);
    }
  });

  it('gives amounts as bigint minor units with direction, status, dates, balances and references', async () => {
    const items = await readAll(fs.createReadStream(path.join(samples, 'camt053.v2.multi.statement.xml')));
    const statements = items.flatMap((item) => (item.kind === 'statement' ? [item.statement] : []));
    const entries = items.flatMap((item) => (item.kind === 'entry' ? [item.entry] : []));
    expect(statements[0]).toMatchObject({
      id: '253EURNL26VAYB8060476890',
      accountIban: 'NL26VAYB8060476890',
    });
    expect(statements[0]?.openingBalance).toMatchObject({
      type: 'OPBD',
      amountMinor: 1815n,
      currency: 'EUR',
    });
    expect(entries.map((e) => [e.amountMinor, e.currency, e.creditDebit, e.status, e.bookingDate])).toEqual([
      [885n, 'EUR', 'CRDT', 'BOOK', '2014-12-31'],
      [700n, 'EUR', 'DBIT', 'BOOK', '2014-12-31'],
    ]);
    const camt054 = await readAll(fs.createReadStream(path.join(samples, 'camt054.v8.xml')));
    const entry = camt054.find((item) => item.kind === 'entry');
    expect(
      entry?.kind === 'entry' && entry.entry.transactions.map((t) => [t.endToEndId, t.amountMinor]),
    ).toEqual([
      ['UXC06170000006PI00001EE00001', 310n],
      ['UXC06170000006PI00001EE00002', 320n],
      ['UXC06170000006PI00001EE00002', 320n],
    ]);
  });

  it('reads EndToEndId, AcctSvcrRef, return reason and remittance of a transaction', async () => {
    const items = await readAll([MINIMAL(ENTRY)]);
    const entry = items.find((item) => item.kind === 'entry');
    if (entry?.kind !== 'entry') throw new Error('no entry');
    expect(entry.entry).toMatchObject({
      amountMinor: 1234n,
      currency: 'EUR',
      creditDebit: 'DBIT',
      acctSvcrRef: 'REF1',
    });
    expect(entry.entry.transactions[0]).toMatchObject({
      endToEndId: 'po_abc',
      remittance: ['payout po_abc'],
      returnInfo: { code: 'AC04', additionalInfo: ['closed'] },
    });
  });

  it('yields the same items whatever the chunk boundaries (even inside a multi-byte character)', async () => {
    const text = MINIMAL(ENTRY.replace('payout po_abc', 'Zahlung für Müller €'));
    const whole = await readAll([text]);
    for (const size of [1, 7, 64]) {
      const split = await readAll(chunks(Buffer.from(text, 'utf8'), size));
      expect(split).toEqual(whole);
    }
  });

  it('accepts extra decimals that are zeros (five.decimals sample) and refuses those that would need rounding', async () => {
    const items = await readAll(fs.createReadStream(path.join(samples, 'camt053.v2.five.decimals.xml')));
    const entry = items.find((item) => item.kind === 'entry');
    expect(entry?.kind === 'entry' && entry.entry.amountMinor).toBe(885n);
    const error = await camtError(MINIMAL(ENTRY.replace('12.34', '12.34567')));
    expect(error.code).toBe('reconciliation_file_malformed');
    expect(error.message).toMatch(/line \d+, <Ntry\/Amt>: "12\.34567" EUR: EUR allows at most 2 decimals/);
  });

  it('refuses the sample without a statement as its XSD does, naming the element and its line', async () => {
    const error = await camtError(fs.readFileSync(path.join(samples, 'camt053.v2.wrong.xml'), 'utf8'));
    expect(error.code).toBe('reconciliation_file_malformed');
    expect(error.message).toBe(
      'camt: line 8, <Document/BkToCstmrStmt>: the required element <Stmt> is missing',
    );
  });

  it.each([
    ['a missing direction', ENTRY.replace('<CdtDbtInd>DBIT</CdtDbtInd>', ''), /<Ntry\/CdtDbtInd>: missing/],
    ['an empty status', ENTRY.replace('<Cd>BOOK</Cd>', '<Cd></Cd>'), /<Sts>: the entry has no status/],
    [
      'a float-looking amount',
      ENTRY.replace('12.34', '1.2e3'),
      /<Ntry\/Amt>: "1\.2e3" EUR: .*amount_malformed/,
    ],
    ['an unknown currency', ENTRY.replace('Ccy="EUR"', 'Ccy="XYZ"'), /<Ntry\/Amt>: "12\.34" XYZ/],
    ['a missing currency', ENTRY.replace(' Ccy="EUR"', ''), /<Ntry\/Amt>: the amount has no Ccy attribute/],
    [
      'a bad booking date',
      ENTRY.replace('2026-01-02', '02/01/2026'),
      /<Ntry\/BookgDt\/Dt>: "02\/01\/2026" is not an ISO date/,
    ],
    ['broken XML', ENTRY.replace('</Ntry>', '</Ntr>'), /not well-formed XML at \d+:\d+/],
  ])('refuses %s with the line and element', async (_what, entry, pattern) => {
    const error = await camtError(MINIMAL(entry));
    expect(error.code).toBe('reconciliation_file_malformed');
    expect(error.message).toMatch(pattern);
  });

  it('refuses a document of another kind, a DOCTYPE, an unsupported version and a truncated file', async () => {
    expect(
      (await camtError('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>')).message,
    ).toMatch(/not a camt\.052\/053\/054 document/);
    expect((await camtError('<!DOCTYPE x [<!ENTITY a "b">]><Document/>')).message).toMatch(/DOCTYPE/);
    expect((await camtError(MINIMAL(ENTRY).replace('camt.053.001.04', 'camt.053.001.01'))).message).toMatch(
      /not a supported version/,
    );
    expect((await camtError(MINIMAL(ENTRY).slice(0, 300))).code).toBe('reconciliation_file_malformed');
    expect((await camtError('')).message).toMatch(/empty/);
  });
});

const HEADER =
  'balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category,source_id,payment_metadata[payment_order_id]';

describe('PSP settlement report reader', () => {
  it('reads amounts in major units into signed minor units, with metadata columns', async () => {
    const lines = await readCsv(
      `${HEADER}\ntxn_1,2026-01-02 03:04:05,usd,10.00,0.59,9.41,charge,ch_1,po_1\n` +
        'txn_2,2026-01-02 03:04:06,jpy,-500,0,-500,payout,po_x,\ntxn_3,2026-01-02 03:04:07,kwd,1.234,0.001,1.233,charge,ch_3,\n',
    );
    expect(lines.map((l) => [l.line, l.currency, l.grossMinor, l.feeMinor, l.netMinor, l.metadata])).toEqual([
      [2, 'USD', 1000n, 59n, 941n, { payment_order_id: 'po_1' }],
      [3, 'JPY', -500n, 0n, -500n, {}],
      [4, 'KWD', 1234n, 1n, 1233n, {}],
    ]);
    expect(lines[0]?.createdAt?.toISOString()).toBe('2026-01-02T03:04:05.000Z');
  });

  it('reads the columns the sandbox report route writes', async () => {
    const header = [...DEFAULT_COLUMNS, 'payment_metadata[checkout_id]'].join(',');
    const row = DEFAULT_COLUMNS.map(
      (column) =>
        ({
          balance_transaction_id: 'txn_9',
          currency: 'eur',
          gross: '1.00',
          fee: '0.33',
          net: '0.67',
          reporting_category: 'charge',
        })[column as string] ?? '',
    );
    const lines = await readCsv(`${header}\n${[...row, 'co_1'].join(',')}\n`);
    expect(lines[0]).toMatchObject({
      balanceTransactionId: 'txn_9',
      grossMinor: 100n,
      metadata: { checkout_id: 'co_1' },
    });
  });

  it.each([
    [
      'net ≠ gross − fee',
      'txn_1,2026-01-02 03:04:05,usd,10.00,0.59,9.40,charge,ch_1,',
      /line 2, column net: net 9\.40 is not gross 10\.00 − fee 0\.59/,
    ],
    [
      'too many decimals',
      'txn_1,2026-01-02 03:04:05,usd,10.001,0.59,9.411,charge,ch_1,',
      /line 2, column gross: "10\.001" USD: USD allows at most 2 decimals/,
    ],
    [
      'a float',
      'txn_1,2026-01-02 03:04:05,usd,1e1,0,1e1,charge,ch_1,',
      /line 2, column gross: .*amount_exponent/,
    ],
    [
      'a thousands separator',
      'txn_1,2026-01-02 03:04:05,usd,"1,000.00",0,"1,000.00",charge,ch_1,',
      /column gross: .*amount_thousands_separator/,
    ],
    [
      'an unknown currency',
      'txn_1,2026-01-02 03:04:05,zzz,1.00,0,1.00,charge,ch_1,',
      /line 2, column currency: "zzz" is not an ISO 4217/,
    ],
    [
      'a bad timestamp',
      'txn_1,yesterday,usd,1.00,0,1.00,charge,ch_1,',
      /line 2, column created_utc: "yesterday" is not a timestamp/,
    ],
    ['a short row', 'txn_1,2026-01-02 03:04:05,usd', /line 2/],
    [
      'an empty id',
      ',2026-01-02 03:04:05,usd,1.00,0,1.00,charge,ch_1,',
      /line 2, column balance_transaction_id: empty/,
    ],
  ])('refuses %s, naming the line and column', async (_what, row, pattern) => {
    const error = await csvError(
      `${HEADER}\ntxn_0,2026-01-02 03:04:05,usd,1.00,0,1.00,charge,ch_0,\n${row}\n`.replace(
        /^(.*\n)(txn_0.*\n)/,
        '$1',
      ),
    );
    expect(error.code).toBe('reconciliation_file_malformed');
    expect(error.message).toMatch(pattern);
  });

  it('numbers each line by where it ends in the file, however the bytes arrive (quoted line breaks, blank lines)', async () => {
    const text =
      `${HEADER}\n` +
      'txn_1,2026-01-02 03:04:05,usd,10.00,0.59,9.41,charge,"ch_1\nsecond line",po_1\n\n' +
      'txn_2,2026-01-02 03:04:05,usd,1.00,0,1.00,charge,ch_2,\n' +
      'txn_3,2026-01-02 03:04:05,usd,1.00,0,1.00,charge,ch_3,';
    for (const size of [1, 7, 64, text.length]) {
      const lines: PspLine[] = [];
      for await (const line of readPspReport(chunks(Buffer.from(text), size))) lines.push(line);
      expect(lines.map((l) => [l.line, l.balanceTransactionId, l.sourceId])).toEqual([
        [3, 'txn_1', 'ch_1\nsecond line'],
        [5, 'txn_2', 'ch_2'],
        [6, 'txn_3', 'ch_3'],
      ]);
    }
    const late = `${HEADER}\n${'txn_1,2026-01-02 03:04:05,usd,1.00,0,1.00,charge,ch_1,\n'.repeat(3000)}txn_x,2026-01-02 03:04:05,usd\n`;
    const error = await (async (): Promise<AppError> => {
      try {
        for await (const line of readPspReport(chunks(Buffer.from(late), 4096))) void line;
      } catch (caught) {
        if (caught instanceof AppError) return caught;
        throw caught;
      }
      throw new Error('the report reader accepted a short row');
    })();
    expect(error.message).toMatch(/line 3002/);
  });

  it('refuses a header without a required column, and an empty file', async () => {
    expect((await csvError('id,currency\n1,usd\n')).message).toMatch(
      /lacks the required column "balance_transaction_id"/,
    );
    expect((await csvError('')).message).toMatch(/empty/);
  });
});
