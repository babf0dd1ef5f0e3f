import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { readCamt, type CamtEntry, type CamtItem } from '../../src/reconciliation/camt/index.ts';

/**
 * The camt reader on each shape of document the issue lists, written by hand as banks send them: every fixture of a
 * message with a shipped XSD (schemas/iso20022/) is first judged by `xmllint --schema` (Debian's libxml2-utils,
 * installed by scripts/ensure-xmllint.sh), so what the reader is shown to accept is what the official schema
 * accepts, and what it refuses the schema refuses too; then the values the reader gives are checked.
 */

const schemas = path.resolve(import.meta.dirname, '../../schemas/iso20022');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'camt-shapes-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

beforeAll(() => {
  if (spawnSync('xmllint', ['--version']).status !== 0) {
    spawnSync('sh', [path.resolve(import.meta.dirname, '../../scripts/ensure-xmllint.sh')], {
      stdio: 'ignore',
    });
  }
  expect(
    spawnSync('xmllint', ['--version']).status,
    'xmllint is missing: run `sh scripts/ensure-xmllint.sh`',
  ).toBe(0);
});

let fileNo = 0;

/** xmllint's verdict on a document (its `Document` alone when it comes in an envelope). */
function schemaAccepts(xml: string, message: string): boolean {
  const start = xml.indexOf('<Document');
  const end = xml.lastIndexOf('</Document>');
  const document = start > 0 && end > start ? xml.slice(start, end + '</Document>'.length) : xml;
  const file = path.join(work, `shape-${fileNo++}.xml`);
  fs.writeFileSync(file, document);
  const run = spawnSync('xmllint', ['--noout', '--schema', path.join(schemas, `${message}.xsd`), file], {
    encoding: 'utf8',
  });
  return run.status === 0;
}

async function read(xml: string): Promise<CamtItem[]> {
  const items: CamtItem[] = [];
  for await (const item of readCamt([xml])) items.push(item);
  return items;
}

async function refusal(xml: string): Promise<string> {
  try {
    await read(xml);
  } catch (error) {
    if (error instanceof AppError) return error.message;
    throw error;
  }
  throw new Error('the reader accepted the document');
}

function entriesOf(items: CamtItem[]): CamtEntry[] {
  return items.flatMap((item) => (item.kind === 'entry' ? [item.entry] : []));
}

const NS = (message: string) => `urn:iso:std:iso:20022:tech:xsd:${message}`;
const ACCT = '<Acct><Id><IBAN>DE02120300000000202051</IBAN></Id><Ccy>EUR</Ccy></Acct>';
const BKTX =
  '<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>';

interface EntryOptions {
  amount?: string;
  direction?: 'CRDT' | 'DBIT';
  reversal?: string;
  booking?: string;
  value?: string;
  ref?: string;
  charges?: string;
  details?: string;
  extra?: string;
}

/** A camt.053/054.001.08 entry (ReportEntry10), in schema order. */
function entry8(o: EntryOptions = {}): string {
  return (
    `<Ntry><NtryRef>${o.ref ?? 'E1'}</NtryRef><Amt Ccy="EUR">${o.amount ?? '12.50'}</Amt>` +
    `<CdtDbtInd>${o.direction ?? 'DBIT'}</CdtDbtInd>${o.reversal === undefined ? '' : `<RvslInd>${o.reversal}</RvslInd>`}` +
    `<Sts><Cd>BOOK</Cd></Sts>${o.booking ?? '<BookgDt><Dt>2026-03-02</Dt></BookgDt>'}${o.value ?? ''}` +
    `<AcctSvcrRef>${o.ref ?? 'E1'}-BANK</AcctSvcrRef>${BKTX}${o.charges ?? ''}${o.details ?? ''}${o.extra ?? ''}</Ntry>`
  );
}

function tx8(e2e: string, amount: string, more = ''): string {
  return `<TxDtls><Refs><EndToEndId>${e2e}</EndToEndId></Refs><Amt Ccy="EUR">${amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd>${more}</TxDtls>`;
}

/** A camt.053.001.08 (or .054) document with `blocks` statements (notifications) of the given entries. */
function doc8(message: '053' | '054', blocks: string[][], balances = true): string {
  const container = message === '053' ? 'BkToCstmrStmt' : 'BkToCstmrDbtCdtNtfctn';
  const name = message === '053' ? 'Stmt' : 'Ntfctn';
  const bal = (code: string, amount: string) =>
    `<Bal><Tp><CdOrPrtry><Cd>${code}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">${amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-02</Dt></Dt></Bal>`;
  const body = blocks
    .map(
      (entries, i) =>
        `<${name}><Id>S-${i}</Id><CreDtTm>2026-03-02T18:00:00Z</CreDtTm>${ACCT}` +
        (message === '053' && balances ? bal('OPBD', '1000.00') + bal('CLBD', '987.50') : '') +
        `${entries.join('')}</${name}>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="${NS(`camt.${message}.001.08`)}">
<${container}><GrpHdr><MsgId>MSG-SHAPES</MsgId><CreDtTm>2026-03-02T18:00:00Z</CreDtTm></GrpHdr>
${body}
</${container}>
</Document>
`;
}

describe('camt shapes: amounts as XSD decimals', () => {
  it.each([
    ['plain', '12.50'],
    ['leading zeros', '0012.50'],
    ['a leading +', '+12.50'],
    ['no digits after the point', '12.5'],
    ['no digits before the point', '.5', 50n],
    ['a bare point after the units', '12.', 1200n],
    ['no point at all', '12', 1200n],
    ['trailing zeros up to five decimals', '12.50000'],
    ['more trailing zeros (the value has two decimals)', '12.500000000'],
    ['white space the schema collapses', '\n   12.50\t '],
    ['all at once', ' +0012.500 '],
  ])(
    'reads an amount with %s (%j) exactly, as the schema accepts it',
    async (_what, amount, minor = 1250n) => {
      const xml = doc8('054', [[entry8({ amount })]]);
      expect(schemaAccepts(xml, 'camt.054.001.08')).toBe(true);
      expect(entriesOf(await read(xml)).map((e) => e.amountMinor)).toEqual([minor]);
    },
  );

  it.each([
    ['a comma', '12,50'],
    ['a minus sign', '-12.50'],
    ['six decimals that are not zeros', '12.500001'],
    ['nineteen digits', '1234567890123456789'],
    ['an exponent', '1.25E1'],
    ['an inner space', '12 .50'],
    ['nothing', ''],
  ])('refuses an amount with %s (%j), as the schema does, naming line and element', async (_what, amount) => {
    const xml = doc8('054', [[entry8({ amount })]]);
    expect(schemaAccepts(xml, 'camt.054.001.08')).toBe(false);
    expect(await refusal(xml)).toMatch(
      /^camt: line \d+, <Document\/BkToCstmrDbtCdtNtfctn\/Ntfctn\/Ntry\/Amt>: /,
    );
  });
});

describe('camt shapes: optional elements absent or empty', () => {
  it('reads entries with no details, no booking date, an empty NtryDtls, empty Refs and RmtInf, and no balances (camt.054)', async () => {
    const xml = doc8('054', [
      [
        entry8({ ref: 'E1', booking: '' }),
        entry8({ ref: 'E2', details: '<NtryDtls/>' }),
        entry8({ ref: 'E3', details: '<NtryDtls><TxDtls><Refs/><RmtInf/></TxDtls></NtryDtls>' }),
      ],
    ]);
    expect(schemaAccepts(xml, 'camt.054.001.08')).toBe(true);
    const items = await read(xml);
    const entries = entriesOf(items);
    expect(entries.map((e) => [e.entryRef, e.bookingDate, e.transactions.length])).toEqual([
      ['E1', undefined, 0],
      ['E2', '2026-03-02', 0],
      ['E3', '2026-03-02', 1],
    ]);
    expect(entries[2]?.transactions[0]).toMatchObject({
      endToEndId: undefined,
      amountMinor: undefined,
      remittance: [],
    });
    const statement = items.find((item) => item.kind === 'statement');
    expect(statement?.kind === 'statement' && statement.statement.openingBalance).toBeUndefined();
  });

  it('refuses a camt.053 statement without its balances, as the schema does (Bal is required there)', async () => {
    const xml = doc8('053', [[entry8()]], false);
    expect(schemaAccepts(xml, 'camt.053.001.08')).toBe(false);
    expect(await refusal(xml)).toMatch(/^camt: line \d+, <Document\/BkToCstmrStmt\/Stmt\/Ntry>: /);
  });

  it('reads a statement with no entries at all', async () => {
    const xml = doc8('053', [[]]);
    expect(schemaAccepts(xml, 'camt.053.001.08')).toBe(true);
    expect((await read(xml)).at(-1)).toMatchObject({ kind: 'end', statements: 1, entries: 0 });
  });
});

describe('camt shapes: many blocks, entries and transactions', () => {
  it('reads several Stmt blocks in one camt.053 and several Ntfctn blocks in one camt.054, each entry under its own', async () => {
    for (const message of ['053', '054'] as const) {
      const xml = doc8(message, [
        [entry8({ ref: 'A1' }), entry8({ ref: 'A2', direction: 'CRDT' })],
        [entry8({ ref: 'B1' })],
        [entry8({ ref: 'C1' })],
      ]);
      expect(schemaAccepts(xml, `camt.${message}.001.08`), message).toBe(true);
      const items = await read(xml);
      expect(
        items.filter((i) => i.kind === 'statement'),
        message,
      ).toHaveLength(3);
      expect(entriesOf(items).map((e) => [e.statement.id, e.entryRef, e.creditDebit])).toEqual([
        ['S-0', 'A1', 'DBIT'],
        ['S-0', 'A2', 'CRDT'],
        ['S-1', 'B1', 'DBIT'],
        ['S-2', 'C1', 'DBIT'],
      ]);
    }
  });

  it('reads a batch-booked entry (Btch, many TxDtls) as one transaction per TxDtls, each with its own EndToEndId and amount', async () => {
    const details =
      '<NtryDtls><Btch><MsgId>pf_batch1</MsgId><PmtInfId>pf_batch1-EUR</PmtInfId><NbOfTxs>3</NbOfTxs>' +
      '<TtlAmt Ccy="EUR">12.50</TtlAmt><CdtDbtInd>DBIT</CdtDbtInd></Btch>' +
      tx8('po_b1', '2.50') +
      tx8('po_b2', '4.00') +
      tx8('po_b3', '6.00') +
      '</NtryDtls>';
    const xml = doc8('053', [[entry8({ details })]]);
    expect(schemaAccepts(xml, 'camt.053.001.08')).toBe(true);
    const [entry] = entriesOf(await read(xml));
    expect(entry?.amountMinor).toBe(1250n);
    expect(entry?.batchReferences).toEqual(['pf_batch1', 'pf_batch1-EUR']);
    expect(entry?.transactions.map((t) => [t.endToEndId, t.amountMinor, t.currency])).toEqual([
      ['po_b1', 250n, 'EUR'],
      ['po_b2', 400n, 'EUR'],
      ['po_b3', 600n, 'EUR'],
    ]);
  });

  it('reads the transactions of several NtryDtls blocks of one entry, in order', async () => {
    const details = `<NtryDtls>${tx8('po_x1', '5.00')}</NtryDtls><NtryDtls>${tx8('po_x2', '7.50')}</NtryDtls>`;
    const xml = doc8('054', [[entry8({ details })]]);
    expect(schemaAccepts(xml, 'camt.054.001.08')).toBe(true);
    const [entry] = entriesOf(await read(xml));
    expect(entry?.transactions.map((t) => t.endToEndId)).toEqual(['po_x1', 'po_x2']);
  });
});

describe('camt shapes: reversals, returns, charges and dates', () => {
  it('reads a reversal (RvslInd true or 1) with its return reason, and false/0 as no reversal', async () => {
    const returned = `<NtryDtls>${tx8(
      'po_r1',
      '12.50',
      '<RtrInf><Rsn><Cd>AC04</Cd></Rsn><AddtlInf>account closed</AddtlInf></RtrInf>',
    )}</NtryDtls>`;
    const xml = doc8('053', [
      [
        entry8({ ref: 'R1', direction: 'CRDT', reversal: 'true', details: returned }),
        entry8({ ref: 'R2', reversal: '1' }),
        entry8({ ref: 'R3', reversal: 'false' }),
        entry8({ ref: 'R4', reversal: '0' }),
      ],
    ]);
    expect(schemaAccepts(xml, 'camt.053.001.08')).toBe(true);
    const entries = entriesOf(await read(xml));
    expect(entries.map((e) => [e.entryRef, e.reversal])).toEqual([
      ['R1', true],
      ['R2', true],
      ['R3', false],
      ['R4', false],
    ]);
    expect(entries[0]?.transactions[0]?.returnInfo).toEqual({
      code: 'AC04',
      proprietary: undefined,
      additionalInfo: ['account closed'],
    });
  });

  it('reads an entry and a transaction carrying bank charges: the booked amount stays the entry amount', async () => {
    const charges =
      '<Chrgs><TtlChrgsAndTaxAmt Ccy="EUR">0.35</TtlChrgsAndTaxAmt><Rcrd><Amt Ccy="EUR">0.35</Amt>' +
      '<CdtDbtInd>DBIT</CdtDbtInd><ChrgInclInd>true</ChrgInclInd><Tp><Cd>COMM</Cd></Tp><Br>DEBT</Br></Rcrd></Chrgs>';
    const details = `<NtryDtls>${tx8('po_c1', '12.15', charges)}</NtryDtls>`;
    const xml = doc8('053', [[entry8({ charges, details })]]);
    expect(schemaAccepts(xml, 'camt.053.001.08')).toBe(true);
    const [entry] = entriesOf(await read(xml));
    expect(entry?.amountMinor).toBe(1250n);
    expect(entry?.transactions.map((t) => [t.endToEndId, t.amountMinor])).toEqual([['po_c1', 1215n]]);
  });

  it('refuses charges out of schema order as the schema does, naming the line and element', async () => {
    const charges = '<Chrgs><Rcrd><CdtDbtInd>DBIT</CdtDbtInd><Amt Ccy="EUR">0.35</Amt></Rcrd></Chrgs>';
    const xml = doc8('053', [[entry8({ charges })]]);
    expect(schemaAccepts(xml, 'camt.053.001.08')).toBe(false);
    expect(await refusal(xml)).toMatch(
      /^camt: line \d+, <Document\/BkToCstmrStmt\/Stmt\/Ntry\/Chrgs\/Rcrd\/\w+>/,
    );
  });

  it('keeps each entry’s own booking and value dates: dates, date-times with zones, value before or after booking', async () => {
    const xml = doc8('053', [
      [
        entry8({
          ref: 'D1',
          booking: '<BookgDt><Dt>2026-03-02</Dt></BookgDt>',
          value: '<ValDt><Dt>2026-03-03</Dt></ValDt>',
        }),
        entry8({
          ref: 'D2',
          booking: '<BookgDt><DtTm>2026-03-01T23:30:00+01:00</DtTm></BookgDt>',
          value: '<ValDt><Dt>2026-02-27</Dt></ValDt>',
        }),
        entry8({ ref: 'D3', booking: '<BookgDt><DtTm>2026-03-02T09:15:00.123Z</DtTm></BookgDt>' }),
      ],
    ]);
    expect(schemaAccepts(xml, 'camt.053.001.08')).toBe(true);
    expect(entriesOf(await read(xml)).map((e) => [e.entryRef, e.bookingDate, e.valueDate])).toEqual([
      ['D1', '2026-03-02', '2026-03-03'],
      ['D2', '2026-03-01T23:30:00+01:00', '2026-02-27'],
      ['D3', '2026-03-02T09:15:00.123Z', undefined],
    ]);
  });
});

describe('camt shapes: the SWIFT MX envelope', () => {
  const inner = () =>
    doc8('054', [[entry8({ details: `<NtryDtls>${tx8('po_env', '12.50')}</NtryDtls>` })]]).replace(
      /^<\?xml[^>]*>\n/,
      '',
    );
  const envelope = (head: string, extra = '') => `<?xml version="1.0" encoding="UTF-8"?>
<RequestPayload>
<AppHdr xmlns="${NS(head)}"><Fr><FIId><FinInstnId><BICFI>COBADEFFXXX</BICFI></FinInstnId></FIId></Fr><To><FIId><FinInstnId><BICFI>MARKDEFFXXX</BICFI></FinInstnId></FIId></To><BizMsgIdr>B1</BizMsgIdr><MsgDefIdr>camt.054.001.08</MsgDefIdr><CreDt>2026-03-02T18:00:00Z</CreDt></AppHdr>
${extra}${inner()}</RequestPayload>
`;

  it.each(['head.001.001.01', 'head.001.001.02', 'head.001.001.03'])(
    'reads a Document inside an envelope with an AppHdr of %s',
    async (head) => {
      const xml = envelope(head);
      expect(schemaAccepts(xml, 'camt.054.001.08')).toBe(true);
      const entries = entriesOf(await read(xml));
      expect(entries.map((e) => e.transactions[0]?.endToEndId)).toEqual(['po_env']);
    },
  );

  it('refuses an AppHdr of another version and anything else in the envelope, naming the line and element', async () => {
    expect(await refusal(envelope('head.001.001.04'))).toMatch(
      /^camt: line 3, <RequestPayload\/AppHdr>: the business application header is in namespace .*head\.001\.001\.04/,
    );
    expect(await refusal(envelope('head.001.001.02', '<Signature>x</Signature>\n'))).toMatch(
      /^camt: line 4, <RequestPayload\/Signature>: an envelope holds an <AppHdr> and the <Document>/,
    );
  });
});

describe('camt shapes: camt.052 intraday reports', () => {
  it('reads a camt.052 (BkToCstmrAcctRpt/Rpt) with booked and pending entries, batch-booked transactions included', async () => {
    const xml = doc8('053', [
      [
        entry8({ ref: 'I1', details: `<NtryDtls>${tx8('po_i1', '5.00')}${tx8('po_i2', '7.50')}</NtryDtls>` }),
        entry8({ ref: 'I2' }).replace('<Sts><Cd>BOOK</Cd></Sts>', '<Sts><Cd>PDNG</Cd></Sts>'),
      ],
    ])
      .replace(NS('camt.053.001.08'), NS('camt.052.001.08'))
      .replace(/BkToCstmrStmt>/g, 'BkToCstmrAcctRpt>')
      .replace(/(<\/?)Stmt>/g, '$1Rpt>');
    const items = await read(xml);
    expect(items.at(-1)).toMatchObject({ kind: 'end', messageType: 'camt.052', statements: 1, entries: 2 });
    expect(
      entriesOf(items).map((e) => [e.entryRef, e.status, e.transactions.map((t) => t.endToEndId)]),
    ).toEqual([
      ['I1', 'BOOK', ['po_i1', 'po_i2']],
      ['I2', 'PDNG', []],
    ]);
  });
});
