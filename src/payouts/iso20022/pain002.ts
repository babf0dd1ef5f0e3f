import { SaxesParser, type SaxesTagNS } from 'saxes';
import { AppError } from '../../errors.ts';

/**
 * A reader of ISO 20022 pain.002 customer payment status reports (versions 001.001.03 to .13; the bank's answer to a
 * pain.001 file). It keeps what settles payouts: the original file's MsgId, the group status, each payment
 * information block's status and each transaction's status, with their reason codes. Malformed input is refused
 * with `payout_status_report_malformed` naming the line and element.
 */

const NAMESPACE = /^urn:iso:std:iso:20022:tech:xsd:pain\.002\.001\.(0[3-9]|1[0-3])$/;

export interface StatusReason {
  /** ISO external status reason code (AC04, AM04, FF01, …) or the proprietary reason. */
  code: string | undefined;
  additionalInfo: string[];
}

export interface TransactionStatus {
  line: number;
  endToEndId: string | undefined;
  instructionId: string | undefined;
  status: string | undefined;
  reasons: StatusReason[];
}

export interface PaymentInfoStatus {
  line: number;
  id: string | undefined;
  status: string | undefined;
  reasons: StatusReason[];
  transactions: TransactionStatus[];
}

export interface StatusReport {
  version: string;
  messageId: string | undefined;
  originalMessageId: string;
  originalMessageType: string | undefined;
  groupStatus: string | undefined;
  groupReasons: StatusReason[];
  paymentInfos: PaymentInfoStatus[];
}

function malformed(line: number, element: string, what: string): AppError {
  return new AppError('payout_status_report_malformed', `pain.002: line ${line}, <${element}>: ${what}`);
}

interface State {
  stack: string[];
  text: string;
  report: Partial<StatusReport> & { groupReasons: StatusReason[]; paymentInfos: PaymentInfoStatus[] };
  payment: PaymentInfoStatus | undefined;
  transaction: TransactionStatus | undefined;
  reason: StatusReason | undefined;
  /** Where the group block and its status open, to name them in a refusal. */
  groupLine: number;
  groupStatusLine: number;
}

/** Where in the report an element's path ends: the part after the payment or transaction block. */
function relativePath(stack: string[]): string {
  const tx = stack.lastIndexOf('TxInfAndSts');
  if (tx >= 0) return `Tx/${stack.slice(tx + 1).join('/')}`;
  const pmt = stack.lastIndexOf('OrgnlPmtInfAndSts');
  if (pmt >= 0) return `Pmt/${stack.slice(pmt + 1).join('/')}`;
  return stack.slice(2).join('/');
}

function reasonsOf(s: State): StatusReason[] {
  return s.transaction?.reasons ?? s.payment?.reasons ?? s.report.groupReasons;
}

function open(s: State, tag: SaxesTagNS, line: number): void {
  if (s.stack.length === 0) {
    const match = NAMESPACE.exec(tag.uri);
    if (tag.local !== 'Document' || match === null) {
      throw malformed(
        line,
        tag.local,
        `not a pain.002 status report (namespace "${tag.uri}"; expected pain.002.001.03 to .13)`,
      );
    }
    s.report.version = `pain.002.001.${match[1] ?? ''}`;
  } else if (s.stack.length === 1 && tag.local !== 'CstmrPmtStsRpt') {
    throw malformed(line, tag.local, 'expected <CstmrPmtStsRpt>');
  }
  s.stack.push(tag.local);
  s.text = '';
  if (tag.local === 'OrgnlGrpInfAndSts') s.groupLine = line;
  else if (tag.local === 'GrpSts' && s.stack.length === 4) s.groupStatusLine = line;
  if (tag.local === 'OrgnlPmtInfAndSts') {
    s.payment = { line, id: undefined, status: undefined, reasons: [], transactions: [] };
    s.report.paymentInfos.push(s.payment);
  } else if (tag.local === 'TxInfAndSts' && s.payment !== undefined) {
    s.transaction = { line, endToEndId: undefined, instructionId: undefined, status: undefined, reasons: [] };
    s.payment.transactions.push(s.transaction);
  } else if (tag.local === 'StsRsnInf') {
    s.reason = { code: undefined, additionalInfo: [] };
    reasonsOf(s).push(s.reason);
  }
}

function keep(s: State, path: string, value: string): void {
  if (path === 'GrpHdr/MsgId') s.report.messageId = value;
  else if (path === 'OrgnlGrpInfAndSts/OrgnlMsgId') s.report.originalMessageId = value;
  else if (path === 'OrgnlGrpInfAndSts/OrgnlMsgNmId') s.report.originalMessageType = value;
  else if (path === 'OrgnlGrpInfAndSts/GrpSts') s.report.groupStatus = value;
  else if (path === 'Pmt/OrgnlPmtInfId' && s.payment) s.payment.id = value;
  else if (path === 'Pmt/PmtInfSts' && s.payment) s.payment.status = value;
  else if (path === 'Tx/OrgnlEndToEndId' && s.transaction) s.transaction.endToEndId = value;
  else if (path === 'Tx/OrgnlInstrId' && s.transaction) s.transaction.instructionId = value;
  else if (path === 'Tx/TxSts' && s.transaction) s.transaction.status = value;
  else if (s.reason !== undefined && /StsRsnInf\/Rsn\/(Cd|Prtry)$/.test(path)) s.reason.code = value;
  else if (s.reason !== undefined && path.endsWith('StsRsnInf/AddtlInf')) s.reason.additionalInfo.push(value);
}

function close(s: State): void {
  const path = relativePath(s.stack);
  const name = s.stack.pop();
  keep(s, path, s.text.trim());
  s.text = '';
  if (name === 'TxInfAndSts') s.transaction = undefined;
  else if (name === 'OrgnlPmtInfAndSts') s.payment = undefined;
  else if (name === 'StsRsnInf') s.reason = undefined;
}

const STATUS = /^[A-Z]{4}$/;

function checkStatuses(report: StatusReport, groupStatusLine: number): void {
  if (report.groupStatus !== undefined && !STATUS.test(report.groupStatus))
    throw malformed(
      groupStatusLine,
      'OrgnlGrpInfAndSts/GrpSts',
      `"${report.groupStatus}" is not a status code`,
    );
  for (const p of report.paymentInfos) {
    if (p.status !== undefined && !STATUS.test(p.status))
      throw malformed(p.line, 'OrgnlPmtInfAndSts/PmtInfSts', `"${p.status}" is not a status code`);
    for (const t of p.transactions) {
      if (t.status !== undefined && !STATUS.test(t.status))
        throw malformed(t.line, 'TxInfAndSts/TxSts', `"${t.status}" is not a status code`);
      if (t.endToEndId === undefined && t.instructionId === undefined)
        throw malformed(t.line, 'TxInfAndSts', 'names no original EndToEndId or InstrId');
    }
  }
}

/** Reads a whole pain.002 document (status reports are small: one line per payout at most). */
export function readStatusReport(xml: string): StatusReport {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const s: State = {
    stack: [],
    text: '',
    report: { groupReasons: [], paymentInfos: [] },
    payment: undefined,
    transaction: undefined,
    reason: undefined,
    groupLine: 1,
    groupStatusLine: 1,
  };
  parser.on('doctype', () => {
    throw malformed(parser.line, '!DOCTYPE', 'document type declarations are not accepted');
  });
  parser.on('opentag', (tag: SaxesTagNS) => open(s, tag, parser.line));
  parser.on('text', (t: string) => (s.text += t));
  parser.on('cdata', (t: string) => (s.text += t));
  parser.on('closetag', () => close(s));
  try {
    parser.write(xml).close();
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError(
      'payout_status_report_malformed',
      `pain.002: not well-formed XML at ${(error as Error).message.replace(/^undefined:/, '')}`,
    );
  }
  const r = s.report;
  if (r.version === undefined)
    throw new AppError('payout_status_report_malformed', 'pain.002: the file holds no document');
  if (r.originalMessageId === undefined || r.originalMessageId === '')
    throw malformed(s.groupLine, 'OrgnlGrpInfAndSts/OrgnlMsgId', 'the report names no original message');
  const report: StatusReport = {
    version: r.version,
    messageId: r.messageId,
    originalMessageId: r.originalMessageId,
    originalMessageType: r.originalMessageType,
    groupStatus: r.groupStatus,
    groupReasons: r.groupReasons,
    paymentInfos: r.paymentInfos,
  };
  checkStatuses(report, s.groupStatusLine);
  return report;
}

/** True when the text's root element is a pain.002 Document (to sort a bank directory's files). */
export function looksLikeStatusReport(head: string): boolean {
  return /urn:iso:std:iso:20022:tech:xsd:pain\.002\.001\./.test(head.slice(0, 4096));
}

/** A reason as one short text: the code, then the additional information. */
export function reasonText(reasons: StatusReason[]): string | undefined {
  const parts = reasons
    .flatMap((r) => [r.code, ...r.additionalInfo])
    .filter((p): p is string => p !== undefined && p !== '');
  return parts.length === 0 ? undefined : parts.join(' ');
}
