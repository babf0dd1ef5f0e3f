import fs from 'node:fs';
import path from 'node:path';
import { validateXML } from 'xmllint-wasm';
import { REPO_ROOT } from './process.ts';

/**
 * The official ISO 20022 schemas live beside the repository (../shared/reference/iso20022), or where
 * BURSAR_TEST_REFERENCE_DIR says (a checkout elsewhere, e.g. a second worktree).
 */
export function iso20022Xsd(name: string): string {
  const reference = process.env.BURSAR_TEST_REFERENCE_DIR ?? path.resolve(REPO_ROOT, '../shared/reference');
  return fs.readFileSync(path.resolve(reference, 'iso20022/xsd', `${name}.xsd`), 'utf8');
}

/** Validates `xml` against the official XSD of `version`; returns the validator's error messages (empty = valid). */
export async function xsdErrors(
  xml: string,
  version: 'pain.001.001.09' | 'pain.001.001.03',
): Promise<string[]> {
  const result = await validateXML({
    xml: [{ fileName: 'payout.xml', contents: xml }],
    schema: [{ fileName: `${version}.xsd`, contents: iso20022Xsd(version) }],
  });
  return result.valid ? [] : result.errors.map((error) => error.message);
}

/** A minimal camt.054.001.08 debit/credit notification for the platform account, one entry per line given. */
export function camt054(
  lines: Array<{
    endToEndId: string;
    amount: string;
    currency: string;
    kind: 'paid' | 'returned';
    reason?: string;
  }>,
): string {
  const entries = lines
    .map(
      (line, index) => `<Ntry><NtryRef>${index + 1}</NtryRef><Amt Ccy="${line.currency}">${line.amount}</Amt>
<CdtDbtInd>${line.kind === 'paid' ? 'DBIT' : 'CRDT'}</CdtDbtInd>${line.kind === 'returned' ? '<RvslInd>false</RvslInd>' : ''}
<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2030-01-02</Dt></BookgDt><ValDt><Dt>2030-01-02</Dt></ValDt>
<AcctSvcrRef>REF${index + 1}</AcctSvcrRef>
<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>${line.kind === 'paid' ? 'ESCT' : 'RRTN'}</SubFmlyCd></Fmly></Domn></BkTxCd>
<NtryDtls><TxDtls><Refs><EndToEndId>${line.endToEndId}</EndToEndId></Refs>
<Amt Ccy="${line.currency}">${line.amount}</Amt><CdtDbtInd>${line.kind === 'paid' ? 'DBIT' : 'CRDT'}</CdtDbtInd>
${line.kind === 'returned' ? `<RtrInf><Rsn><Cd>${line.reason ?? 'AC04'}</Cd></Rsn><AddtlInf>closed account</AddtlInf></RtrInf>` : ''}
</TxDtls></NtryDtls></Ntry>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">
<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>N1</MsgId><CreDtTm>2030-01-02T10:00:00Z</CreDtTm></GrpHdr>
<Ntfctn><Id>NTF-1</Id><CreDtTm>2030-01-02T10:00:00Z</CreDtTm>
<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
${entries}
</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>`;
}
