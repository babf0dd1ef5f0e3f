/**
 * Generated camt.053/054 documents (versions 02 and 08) for the acceptance rule: a valid document is built from a
 * few knobs (statements, entries, transactions per entry, amount spellings), then optionally broken by one
 * mutation. Each document is judged by `xmllint --schema` against the official XSD and by our reader.
 */

export type Version = '02' | '08';
export type Message = '053' | '054';

export interface Shape {
  message: Message;
  version: Version;
  statements: number;
  entries: number;
  transactions: number;
  /** How each amount is spelt (all valid XSD decimals of an exact amount). */
  amountStyle: number;
  /** Put an empty optional element (NtryDtls, Refs, RmtInf) somewhere. */
  emptyOptional: number;
  reversal: 'none' | 'true' | '1' | '0';
  dateTz: boolean;
}

/** Spellings of one exact amount, all valid XSD decimals: signs, leading and trailing zeros, white space. */
const AMOUNT_STYLES: Array<(units: string, cents: string) => string> = [
  (u, c) => `${u}.${c}`,
  (u, c) => `+${u}.${c}`,
  (u, c) => `00${u}.${c}`,
  (u, c) => `${u}.${c}000`,
  (u, c) => ` ${u}.${c} `,
  (u, c) => `\n  ${u}.${c}\n`,
  (u, c) => (c === '00' ? `${u}.` : `${u}.${c}`),
  (u, c) => (u === '0' ? `.${c}` : `${u}.${c}`),
  (u, c) => `0${u}.${c}000`,
  (u, c) => (c === '00' ? u : `${u}.${c}`),
];
export const AMOUNT_STYLE_COUNT = AMOUNT_STYLES.length;

function amount(style: number, cents: number): string {
  const spell = AMOUNT_STYLES[style % AMOUNT_STYLES.length] ?? AMOUNT_STYLES[0];
  return spell === undefined
    ? ''
    : spell(String(Math.floor(cents / 100)), String(cents % 100).padStart(2, '0'));
}

function transaction(shape: Shape, s: number, e: number, t: number): string {
  const id = `po_s${s}e${e}t${t}`;
  const refs =
    shape.emptyOptional === 2 && t === 0 ? '<Refs/>' : `<Refs><EndToEndId>${id}</EndToEndId></Refs>`;
  const rmt =
    shape.emptyOptional === 3 && t === 0 ? '<RmtInf/>' : `<RmtInf><Ustrd>payout ${id}</Ustrd></RmtInf>`;
  if (shape.version === '02') {
    return `<TxDtls>${refs}<AmtDtls><TxAmt><Amt Ccy="EUR">${amount(shape.amountStyle + t, 1000 + t)}</Amt></TxAmt></AmtDtls>${rmt}</TxDtls>`;
  }
  return `<TxDtls>${refs}<Amt Ccy="EUR">${amount(shape.amountStyle + t, 1000 + t)}</Amt><CdtDbtInd>DBIT</CdtDbtInd>${rmt}</TxDtls>`;
}

function entry(shape: Shape, s: number, e: number): string {
  const txs = Array.from({ length: shape.transactions }, (_, t) => transaction(shape, s, e, t)).join('');
  const total = Array.from({ length: shape.transactions }, (_, t) => 1000 + t).reduce((a, b) => a + b, 0);
  const details =
    shape.emptyOptional === 1 && e === 0 ? '<NtryDtls/>' : txs === '' ? '' : `<NtryDtls>${txs}</NtryDtls>`;
  const status = shape.version === '02' ? '<Sts>BOOK</Sts>' : '<Sts><Cd>BOOK</Cd></Sts>';
  const reversal = shape.reversal === 'none' ? '' : `<RvslInd>${shape.reversal}</RvslInd>`;
  const date = `2026-03-0${(e % 9) + 1}${shape.dateTz ? '+01:00' : ''}`;
  return `<Ntry>
  <NtryRef>E${s}-${e}</NtryRef>
  <Amt Ccy="EUR">${amount(shape.amountStyle, total === 0 ? 2550 : total)}</Amt>
  <CdtDbtInd>DBIT</CdtDbtInd>${reversal}
  ${status}
  <BookgDt><Dt>${date}</Dt></BookgDt>
  <AcctSvcrRef>R${s}-${e}</AcctSvcrRef>
  <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
  ${details}
</Ntry>`;
}

function balance(shape: Shape, code: string): string {
  return `<Bal><Tp><CdOrPrtry><Cd>${code}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">${amount(shape.amountStyle, 100000)}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-01</Dt></Dt></Bal>`;
}

function statement(shape: Shape, s: number): string {
  const name = shape.message === '053' ? 'Stmt' : 'Ntfctn';
  const balances = shape.message === '053' ? `${balance(shape, 'OPBD')}\n${balance(shape, 'CLBD')}` : '';
  const entries = Array.from({ length: shape.entries }, (_, e) => entry(shape, s, e)).join('\n');
  return `<${name}>
  <Id>S-${s}</Id>
  <CreDtTm>2026-03-01T10:00:00Z</CreDtTm>
  <Acct><Id><IBAN>DE02120300000000202051</IBAN></Id><Ccy>EUR</Ccy></Acct>
  ${balances}
  ${entries}
</${name}>`;
}

export function document(shape: Shape): string {
  const container = shape.message === '053' ? 'BkToCstmrStmt' : 'BkToCstmrDbtCdtNtfctn';
  const statements = Array.from({ length: shape.statements }, (_, s) => statement(shape, s)).join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.${shape.message}.001.${shape.version}">
<${container}>
<GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-03-01T10:00:00Z</CreDtTm></GrpHdr>
${statements}
</${container}>
</Document>
`;
}

/** One change to a valid document: some keep it valid, most break it in one way the schema names. */
export interface Mutation {
  name: string;
  apply(xml: string): string;
}

const once = (name: string, from: string | RegExp, to: string): Mutation => ({
  name,
  apply: (xml) => xml.replace(from, to),
});

export const MUTATIONS: Mutation[] = [
  once('no mutation', 'MSG-1', 'MSG-1'),
  once('entry amount with a comma', /(<Ntry>\s*<NtryRef>[^<]*<\/NtryRef>\s*<Amt Ccy="EUR">)[^<]*/, '$112,50'),
  once(
    'entry amount in exponent notation',
    /(<Ntry>\s*<NtryRef>[^<]*<\/NtryRef>\s*<Amt Ccy="EUR">)[^<]*/,
    '$11.2e3',
  ),
  once('entry amount negative', /(<Ntry>\s*<NtryRef>[^<]*<\/NtryRef>\s*<Amt Ccy="EUR">)[^<]*/, '$1-12.50'),
  once(
    'entry amount negative zero',
    /(<Ntry>\s*<NtryRef>[^<]*<\/NtryRef>\s*<Amt Ccy="EUR">)[^<]*/,
    '$1-0.00',
  ),
  once(
    'entry amount with six decimals',
    /(<Ntry>\s*<NtryRef>[^<]*<\/NtryRef>\s*<Amt Ccy="EUR">)[^<]*/,
    '$112.500001',
  ),
  once('entry amount empty', /(<Ntry>\s*<NtryRef>[^<]*<\/NtryRef>\s*<Amt Ccy="EUR">)[^<]*/, '$1'),
  once(
    'entry amount with inner space',
    /(<Ntry>\s*<NtryRef>[^<]*<\/NtryRef>\s*<Amt Ccy="EUR">)[^<]*/,
    '$112 .50',
  ),
  once(
    'entry amount with twenty digits',
    /(<Ntry>\s*<NtryRef>[^<]*<\/NtryRef>\s*<Amt Ccy="EUR">)[^<]*/,
    '$112345678901234567890',
  ),
  once('lower-case currency', '<Amt Ccy="EUR">', '<Amt Ccy="eur">'),
  once('missing currency', '<Amt Ccy="EUR">', '<Amt>'),
  once('extra attribute', '<Amt Ccy="EUR">', '<Amt Ccy="EUR" Foo="x">'),
  once('unknown direction', '<CdtDbtInd>DBIT</CdtDbtInd>', '<CdtDbtInd>CRED</CdtDbtInd>'),
  once('missing direction', /(<Ntry>[\s\S]*?)<CdtDbtInd>DBIT<\/CdtDbtInd>/, '$1'),
  once('direction before amount', /(<Amt Ccy="EUR">[^<]*<\/Amt>)\s*(<CdtDbtInd>DBIT<\/CdtDbtInd>)/, '$2$1'),
  once('unknown element in an entry', '<AcctSvcrRef>', '<Foo>x</Foo><AcctSvcrRef>'),
  once('text between elements', '<AcctSvcrRef>', 'stray text<AcctSvcrRef>'),
  once('status code of five letters', /<Sts>(<Cd>)?BOOK/, '<Sts>$1BOOKD'),
  once('other status code', /<Sts>(<Cd>)?BOOK/, '<Sts>$1INFO'),
  once('status unknown four letters', /<Sts>(<Cd>)?BOOK/, '<Sts>$1DONE'),
  once('empty status', /<Sts>(<Cd>)?BOOK/, '<Sts>$1'),
  once('missing status', /<Sts>(?:<Cd>)?BOOK(?:<\/Cd>)?<\/Sts>/, ''),
  once('missing bank transaction code', /<BkTxCd>[\s\S]*?<\/BkTxCd>/, ''),
  once('February 30th', /<Dt>2026-03-0\d/, '<Dt>2026-02-30'),
  once('month 13', /<Dt>2026-03-0\d/, '<Dt>2026-13-01'),
  once('date with Z', /<Dt>2026-03-01<\/Dt>/, '<Dt>2026-03-01Z</Dt>'),
  once('date-time for a date', /<Dt>2026-03-01<\/Dt>/, '<Dt>2026-03-01T10:00:00</Dt>'),
  once('creation time 24:00', '2026-03-01T10:00:00Z', '2026-03-01T24:00:00Z'),
  once('creation time 25:00', '2026-03-01T10:00:00Z', '2026-03-01T25:00:00Z'),
  once('reversal yes', '<CdtDbtInd>DBIT</CdtDbtInd>', '<CdtDbtInd>DBIT</CdtDbtInd><RvslInd>yes</RvslInd>'),
  once('empty entry reference', /<NtryRef>[^<]*<\/NtryRef>/, '<NtryRef></NtryRef>'),
  once(
    'entry reference of 40 characters',
    /<NtryRef>[^<]*<\/NtryRef>/,
    `<NtryRef>${'A'.repeat(40)}</NtryRef>`,
  ),
  once('entry reference with spaces around', /<NtryRef>([^<]*)<\/NtryRef>/, '<NtryRef>  $1  </NtryRef>'),
  once('lower-case IBAN', 'DE02120300000000202051', 'de02120300000000202051'),
  once('account by other id', '<IBAN>DE02120300000000202051</IBAN>', '<Othr><Id>ACC-1</Id></Othr>'),
  once('missing account', /<Acct>[\s\S]*?<\/Acct>/, ''),
  once('missing statement id', /<Id>S-0<\/Id>/, ''),
  once('empty additional entry info', '</Ntry>', '<AddtlNtryInf></AddtlNtryInf></Ntry>'),
  once('additional entry info', '</Ntry>', '<AddtlNtryInf>batch of payouts</AddtlNtryInf></Ntry>'),
  once('no statement at all', /<(Stmt|Ntfctn)>[\s\S]*<\/(Stmt|Ntfctn)>/, ''),
  once('missing group header', /<GrpHdr>[\s\S]*?<\/GrpHdr>/, ''),
  once(
    'element in another namespace',
    '<AcctSvcrRef>',
    '<x:AcctSvcrRef xmlns:x="urn:other">R</x:AcctSvcrRef><AcctSvcrRef>',
  ),
  once('supplementary data', '</Ntry>', '<AddtlNtryInf>x</AddtlNtryInf></Ntry>'),
  once(
    'return reason',
    '</RmtInf></TxDtls>',
    '</RmtInf><RtrInf><Rsn><Cd>AC04</Cd></Rsn><AddtlInf>closed</AddtlInf></RtrInf></TxDtls>',
  ),
  once('empty return information', '</RmtInf></TxDtls>', '</RmtInf><RtrInf/></TxDtls>'),
  once('CDATA amount', /(<Ntry>\s*<NtryRef>[^<]*<\/NtryRef>\s*<Amt Ccy="EUR">)[^<]*/, '$1<![CDATA[12.50]]>'),
];
