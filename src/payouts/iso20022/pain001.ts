import { formatAmount, assertCurrency } from '../../money/index.ts';
import type { BankDetails } from '../bank.ts';
import { el, isoText } from './xml.ts';

/**
 * The pieces of a pain.001 customer credit transfer initiation (pure: strings out). Written piece by piece so a
 * file of any size streams: the header needs the count and control sum up front, which the writer gets from one
 * aggregate query before it streams the transactions.
 * Layout: GrpHdr (MsgId, CreDtTm, NbOfTxs, CtrlSum, InitgPty), one PmtInf (the debtor account, the requested
 * execution date, NbOfTxs, CtrlSum), one CdtTrfTxInf per payout with EndToEndId = the payout id.
 */

export type PainVersion = 'pain.001.001.09' | 'pain.001.001.03';

export interface Debtor {
  name: string;
  iban: string;
  bic: string;
}

export interface FileHeader {
  version: PainVersion;
  messageId: string;
  createdAt: Date;
  currency: string;
  txCount: number;
  ctrlSumMinor: bigint;
  executionDate: string;
  debtor: Debtor;
}

export interface CreditTransfer {
  payoutId: string;
  amountMinor: bigint;
  currency: string;
  creditorName: string;
  destination: BankDetails;
}

function isoDateTime(at: Date): string {
  return `${at.toISOString().slice(0, 19)}Z`;
}

function agent(version: PainVersion, bic: string): string {
  return `<FinInstnId>${el(version === 'pain.001.001.09' ? 'BICFI' : 'BIC', bic)}</FinInstnId>`;
}

export function documentOpen(header: FileHeader): string {
  const currency = assertCurrency(header.currency);
  const sum = formatAmount(header.ctrlSumMinor, currency);
  const sepa = currency === 'EUR';
  const execution =
    header.version === 'pain.001.001.09'
      ? `<ReqdExctnDt>${el('Dt', header.executionDate)}</ReqdExctnDt>`
      : el('ReqdExctnDt', header.executionDate);
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<Document xmlns="urn:iso:std:iso:20022:tech:xsd:${header.version}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n` +
    `<CstmrCdtTrfInitn>\n` +
    `<GrpHdr>${el('MsgId', header.messageId)}${el('CreDtTm', isoDateTime(header.createdAt))}` +
    `${el('NbOfTxs', String(header.txCount))}${el('CtrlSum', sum)}` +
    `<InitgPty>${el('Nm', isoText(header.debtor.name, 140))}</InitgPty></GrpHdr>\n` +
    `<PmtInf>${el('PmtInfId', isoText(`${header.messageId}-${currency}`, 35))}${el('PmtMtd', 'TRF')}` +
    `${el('BtchBookg', 'false')}${el('NbOfTxs', String(header.txCount))}${el('CtrlSum', sum)}` +
    (sepa ? `<PmtTpInf><SvcLvl>${el('Cd', 'SEPA')}</SvcLvl></PmtTpInf>` : '') +
    execution +
    `<Dbtr>${el('Nm', isoText(header.debtor.name, 140))}</Dbtr>` +
    `<DbtrAcct><Id>${el('IBAN', header.debtor.iban)}</Id>${el('Ccy', currency)}</DbtrAcct>` +
    `<DbtrAgt>${agent(header.version, header.debtor.bic)}</DbtrAgt>` +
    `${el('ChrgBr', sepa ? 'SLEV' : 'SHAR')}\n`
  );
}

export function creditTransfer(version: PainVersion, transfer: CreditTransfer): string {
  const currency = assertCurrency(transfer.currency);
  const dest = transfer.destination;
  const creditorAgent =
    dest.kind === 'sepa'
      ? `<CdtrAgt>${agent(version, dest.bic)}</CdtrAgt>`
      : `<CdtrAgt><FinInstnId><ClrSysMmbId><ClrSysId>${el('Cd', 'USABA')}</ClrSysId>${el('MmbId', dest.routingNumber)}</ClrSysMmbId></FinInstnId></CdtrAgt>`;
  const account =
    dest.kind === 'sepa'
      ? `<CdtrAcct><Id>${el('IBAN', dest.iban)}</Id></CdtrAcct>`
      : `<CdtrAcct><Id><Othr>${el('Id', dest.accountNumber)}</Othr></Id></CdtrAcct>`;
  return (
    `<CdtTrfTxInf><PmtId>${el('InstrId', transfer.payoutId)}${el('EndToEndId', transfer.payoutId)}</PmtId>` +
    `<Amt><InstdAmt Ccy="${currency}">${formatAmount(transfer.amountMinor, currency)}</InstdAmt></Amt>` +
    creditorAgent +
    `<Cdtr>${el('Nm', isoText(transfer.creditorName, 140))}</Cdtr>` +
    account +
    `<RmtInf>${el('Ustrd', isoText(`Payout ${transfer.payoutId}`, 140))}</RmtInf></CdtTrfTxInf>\n`
  );
}

export function documentClose(): string {
  return `</PmtInf>\n</CstmrCdtTrfInitn>\n</Document>\n`;
}
