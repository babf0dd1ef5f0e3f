import { SaxesParser, type SaxesTagNS } from 'saxes';
import { AppError } from '../../errors.ts';
import { moneyErrorText, parseStatementAmount } from './amount.ts';
import type {
  ByteSource,
  CamtBalance,
  CamtEntry,
  CamtItem,
  CamtMessageType,
  CamtStatement,
  CamtTransaction,
  CreditDebit,
  EntryStatus,
} from './types.ts';

/**
 * A streaming reader of ISO 20022 camt.053 (bank-to-customer statement) and camt.054 (debit/credit notification)
 * files, versions 001.02 to 001.13. It reads the bytes chunk by chunk through a SAX parser and yields each
 * statement's header, then each entry with its transactions, then a summary, so a file of any size is read in
 * memory bounded by its largest entry. It is strict: a file that is not well-formed XML, is not a camt.053/054
 * document, has no statement, or has an entry without a valid amount, currency, direction or status is refused
 * with a `reconciliation_file_malformed` error naming the line and the element. A caller that must apply nothing
 * of a bad file reads it to the end (staging what it reads) before acting on any of it.
 */

const NAMESPACE = /^urn:iso:std:iso:20022:tech:xsd:camt\.(053|054)\.001\.(\d{2})$/;
const MIN_VERSION = 2;
const MAX_VERSION = 13;
/** No single element's text is longer than this in a sane statement; a longer one is refused, not buffered. */
const MAX_TEXT_CHARS = 64 * 1024;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?$/;

type Context = 'document' | 'header' | 'statement' | 'balance' | 'entry' | 'transaction' | 'other';

interface Frame {
  name: string;
  line: number;
  context: Context;
  /** Path of this element relative to its nearest context element (e.g. `Sts/Cd`). */
  relative: string;
  currencyAttr: string | undefined;
}

interface BalanceDraft {
  line: number;
  type: string | undefined;
  amountText: string | undefined;
  amountLine: number;
  currency: string | undefined;
  creditDebit: string | undefined;
  date: string | undefined;
}

interface EntryDraft {
  line: number;
  amountText: string | undefined;
  amountLine: number;
  currency: string | undefined;
  creditDebit: string | undefined;
  reversal: string | undefined;
  status: string | undefined;
  statusLine: number;
  bookingDate: string | undefined;
  valueDate: string | undefined;
  entryRef: string | undefined;
  acctSvcrRef: string | undefined;
  domain: string | undefined;
  family: string | undefined;
  subFamily: string | undefined;
  proprietaryCode: string | undefined;
  additionalInfo: string | undefined;
  transactions: CamtTransaction[];
}

interface TransactionDraft {
  line: number;
  amountText: string | undefined;
  amountLine: number;
  currency: string | undefined;
  creditDebit: string | undefined;
  fields: Partial<
    Record<'messageId' | 'acctSvcrRef' | 'instructionId' | 'endToEndId' | 'transactionId', string>
  >;
  remittance: string[];
  structuredRefs: string[];
  returnCode: string | undefined;
  returnProprietary: string | undefined;
  returnInfo: string[];
  hasReturn: boolean;
}

export function malformed(line: number, element: string, what: string): AppError {
  return new AppError('reconciliation_file_malformed', `camt: line ${line}, <${element}>: ${what}`);
}

function statusOf(text: string | undefined, line: number): EntryStatus {
  if (text === 'BOOK' || text === 'PDNG' || text === 'INFO' || text === 'FUTR') return text;
  throw malformed(
    line,
    'Sts',
    text === undefined ? 'the entry has no status' : `unknown entry status "${text}"`,
  );
}

function creditDebitOf(text: string | undefined, line: number, element: string): CreditDebit {
  if (text === 'CRDT' || text === 'DBIT') return text;
  throw malformed(
    line,
    `${element}/CdtDbtInd`,
    text === undefined ? 'missing (CRDT or DBIT required)' : `"${text}" is neither CRDT nor DBIT`,
  );
}

function amountOf(
  text: string | undefined,
  currency: string | undefined,
  line: number,
  element: string,
): { amountMinor: bigint; currency: string } {
  if (text === undefined) throw malformed(line, `${element}/Amt`, 'the amount is missing');
  if (currency === undefined) throw malformed(line, `${element}/Amt`, 'the amount has no Ccy attribute');
  try {
    return { amountMinor: parseStatementAmount(text, currency), currency };
  } catch (error) {
    throw malformed(line, `${element}/Amt`, `"${text}" ${currency}: ${moneyErrorText(error)}`);
  }
}

function dateOf(text: string, line: number, element: string): string {
  if (DATE.test(text) || DATE_TIME.test(text)) return text;
  throw malformed(line, element, `"${text}" is not an ISO date or date-time`);
}

/** Decodes UTF-8 chunks (split anywhere, even inside a character) into strings. */
async function* textChunks(source: ByteSource): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
      yield typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    }
    const rest = decoder.decode();
    if (rest.length > 0) yield rest;
  } catch (error) {
    if (error instanceof TypeError) {
      throw new AppError('reconciliation_file_malformed', 'camt: the file is not valid UTF-8');
    }
    throw error;
  }
}

/** Reads a camt.053 or camt.054 file; see the module comment. */
export async function* readCamt(source: ByteSource): AsyncGenerator<CamtItem> {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const out: CamtItem[] = [];
  const stack: Frame[] = [];
  let text = '';
  let messageType: CamtMessageType | undefined;
  let version = '';
  let messageId: string | undefined;
  let statementCount = 0;
  let entryCount = 0;
  let rootClosed = false;
  let containerSeen = false;
  let containerLine = 0;

  let statement: CamtStatement | undefined;
  let statementAnnounced = false;
  let statementEntries = 0;
  let balance: BalanceDraft | undefined;
  let entry: EntryDraft | undefined;
  let transaction: TransactionDraft | undefined;

  const containerName = (): string =>
    messageType === 'camt.054' ? 'BkToCstmrDbtCdtNtfctn' : 'BkToCstmrStmt';
  const statementName = (): string => (messageType === 'camt.054' ? 'Ntfctn' : 'Stmt');

  const announce = (): void => {
    if (statement === undefined || statementAnnounced) return;
    statement.openingBalance =
      statement.balances.find((b) => b.type === 'OPBD') ?? statement.balances.find((b) => b.type === 'PRCD');
    statement.closingBalance = statement.balances.find((b) => b.type === 'CLBD');
    statementAnnounced = true;
    out.push({ kind: 'statement', statement });
  };

  parser.on('doctype', () => {
    throw malformed(parser.line, '!DOCTYPE', 'document type declarations are not accepted in statements');
  });

  parser.on('opentag', (tag: SaxesTagNS) => {
    const line = parser.line;
    const name = tag.local;
    const parent = stack[stack.length - 1];
    text = '';
    if (parent === undefined) {
      if (rootClosed) throw malformed(line, name, 'content after the end of the document');
      const match = NAMESPACE.exec(tag.uri);
      if (name !== 'Document' || match === null) {
        throw malformed(
          line,
          name,
          `not a camt.053/camt.054 document (root <${name}> in namespace "${tag.uri}"; expected <Document> in ` +
            'urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN or camt.054.001.NN)',
        );
      }
      const versionNumber = Number(match[2]);
      if (versionNumber < MIN_VERSION || versionNumber > MAX_VERSION) {
        throw malformed(line, name, `camt.${match[1]}.001.${match[2]} is not a supported version (02 to 13)`);
      }
      messageType = match[1] === '053' ? 'camt.053' : 'camt.054';
      version = match[2] ?? '';
      stack.push({ name, line, context: 'document', relative: '', currencyAttr: undefined });
      return;
    }
    const ccyAttr = tag.attributes.Ccy;
    const currencyAttr = ccyAttr === undefined ? undefined : ccyAttr.value;
    let context: Context = parent.context;
    let relative = parent.relative === '' ? name : `${parent.relative}/${name}`;

    if (parent.context === 'document' && stack.length === 1) {
      if (name !== containerName()) {
        throw malformed(line, name, `expected <${containerName()}> in a ${messageType ?? 'camt'} document`);
      }
      containerSeen = true;
      containerLine = line;
      context = 'other';
      relative = '';
    } else if (stack.length === 2) {
      if (name === 'GrpHdr') {
        context = 'header';
        relative = '';
      } else if (name === statementName()) {
        statementCount += 1;
        statementEntries = 0;
        statementAnnounced = false;
        statement = {
          messageType: messageType ?? 'camt.053',
          version,
          messageId,
          id: '',
          index: statementCount,
          electronicSequence: undefined,
          legalSequence: undefined,
          createdAt: undefined,
          accountIban: undefined,
          accountOther: undefined,
          accountCurrency: undefined,
          balances: [],
          openingBalance: undefined,
          closingBalance: undefined,
          line,
        };
        context = 'statement';
        relative = '';
      } else {
        context = 'other';
        relative = '';
      }
    } else if (parent.context === 'statement' && parent.relative === '') {
      if (name === 'Bal') {
        balance = {
          line,
          type: undefined,
          amountText: undefined,
          amountLine: line,
          currency: undefined,
          creditDebit: undefined,
          date: undefined,
        };
        context = 'balance';
        relative = '';
      } else if (name === 'Ntry') {
        if (statement !== undefined && statement.id === '') {
          throw malformed(line, `${statementName()}/Id`, 'the statement has no Id before its first entry');
        }
        announce();
        entry = {
          line,
          amountText: undefined,
          amountLine: line,
          currency: undefined,
          creditDebit: undefined,
          reversal: undefined,
          status: undefined,
          statusLine: line,
          bookingDate: undefined,
          valueDate: undefined,
          entryRef: undefined,
          acctSvcrRef: undefined,
          domain: undefined,
          family: undefined,
          subFamily: undefined,
          proprietaryCode: undefined,
          additionalInfo: undefined,
          transactions: [],
        };
        context = 'entry';
        relative = '';
      }
    } else if (parent.context === 'entry' && name === 'TxDtls' && parent.relative === 'NtryDtls') {
      transaction = {
        line,
        amountText: undefined,
        amountLine: line,
        currency: undefined,
        creditDebit: undefined,
        fields: {},
        remittance: [],
        structuredRefs: [],
        returnCode: undefined,
        returnProprietary: undefined,
        returnInfo: [],
        hasReturn: false,
      };
      context = 'transaction';
      relative = '';
    }
    if (context === 'transaction' && transaction !== undefined && relative === 'RtrInf')
      transaction.hasReturn = true;
    stack.push({ name, line, context, relative, currencyAttr });
  });

  parser.on('text', (chunk: string) => {
    if (text.length + chunk.length > MAX_TEXT_CHARS) {
      throw malformed(parser.line, stack[stack.length - 1]?.name ?? '?', 'element text is too long');
    }
    text += chunk;
  });
  parser.on('cdata', (chunk: string) => {
    if (text.length + chunk.length > MAX_TEXT_CHARS) {
      throw malformed(parser.line, stack[stack.length - 1]?.name ?? '?', 'element text is too long');
    }
    text += chunk;
  });

  parser.on('closetag', () => {
    const frame = stack.pop();
    if (frame === undefined) return;
    const value = text.trim();
    text = '';
    const r = frame.relative;
    switch (frame.context) {
      case 'document':
        if (!containerSeen) {
          throw malformed(frame.line, 'Document', `the document has no <${containerName()}>`);
        }
        if (statementCount === 0) {
          throw malformed(
            containerLine,
            containerName(),
            `the message holds no <${statementName()}>: a ${messageType ?? 'camt'} file must carry at least one`,
          );
        }
        rootClosed = true;
        out.push({
          kind: 'end',
          messageType: messageType ?? 'camt.053',
          version,
          messageId,
          statements: statementCount,
          entries: entryCount,
        });
        return;
      case 'header':
        if (r === 'MsgId') messageId = value;
        return;
      case 'statement': {
        if (statement === undefined) return;
        if (r === '') {
          if (statement.id === '')
            throw malformed(frame.line, `${statementName()}/Id`, 'the statement has no Id');
          if (statement.accountIban === undefined && statement.accountOther === undefined) {
            throw malformed(
              frame.line,
              `${statementName()}/Acct`,
              'the statement names no account (IBAN or Othr/Id)',
            );
          }
          announce();
          statement = undefined;
          return;
        }
        if (r === 'Id') statement.id = value;
        else if (r === 'ElctrncSeqNb') statement.electronicSequence = value;
        else if (r === 'LglSeqNb') statement.legalSequence = value;
        else if (r === 'CreDtTm') statement.createdAt = value;
        else if (r === 'Acct/Id/IBAN') statement.accountIban = value;
        else if (r === 'Acct/Id/Othr/Id') statement.accountOther = value;
        else if (r === 'Acct/Ccy') statement.accountCurrency = value;
        return;
      }
      case 'balance': {
        if (balance === undefined || statement === undefined) return;
        if (r === '') {
          const element = `${statementName()}/Bal`;
          if (balance.type === undefined)
            throw malformed(balance.line, `${element}/Tp`, 'the balance has no type');
          const amount = amountOf(balance.amountText, balance.currency, balance.amountLine, element);
          const creditDebit = creditDebitOf(balance.creditDebit, balance.line, element);
          const parsed: CamtBalance = {
            type: balance.type,
            amountMinor: amount.amountMinor,
            currency: amount.currency,
            creditDebit,
            signedMinor: creditDebit === 'DBIT' ? -amount.amountMinor : amount.amountMinor,
            date: balance.date,
          };
          statement.balances.push(parsed);
          balance = undefined;
          return;
        }
        if (r === 'Tp/CdOrPrtry/Cd' || r === 'Tp/CdOrPrtry/Prtry') balance.type = value;
        else if (r === 'Amt') {
          balance.amountText = value;
          balance.currency = frame.currencyAttr;
          balance.amountLine = frame.line;
        } else if (r === 'CdtDbtInd') balance.creditDebit = value;
        else if (r === 'Dt/Dt' || r === 'Dt/DtTm') balance.date = dateOf(value, frame.line, `Bal/${r}`);
        return;
      }
      case 'entry': {
        if (entry === undefined || statement === undefined) return;
        if (r === '') {
          const amount = amountOf(entry.amountText, entry.currency, entry.amountLine, 'Ntry');
          const creditDebit = creditDebitOf(entry.creditDebit, entry.line, 'Ntry');
          const status = statusOf(entry.status, entry.statusLine);
          if (entry.reversal !== undefined && entry.reversal !== 'true' && entry.reversal !== 'false') {
            throw malformed(entry.line, 'Ntry/RvslInd', `"${entry.reversal}" is neither true nor false`);
          }
          statementEntries += 1;
          entryCount += 1;
          const code = [entry.domain, entry.family, entry.subFamily].filter((part) => part !== undefined);
          const built: CamtEntry = {
            statement,
            index: statementEntries,
            line: entry.line,
            amountMinor: amount.amountMinor,
            currency: amount.currency,
            creditDebit,
            reversal: entry.reversal === 'true',
            status,
            bookingDate: entry.bookingDate,
            valueDate: entry.valueDate,
            entryRef: entry.entryRef,
            acctSvcrRef: entry.acctSvcrRef,
            bankTransactionCode: code.length > 0 ? code.join('/') : undefined,
            proprietaryCode: entry.proprietaryCode,
            additionalInfo: entry.additionalInfo,
            transactions: entry.transactions,
          };
          out.push({ kind: 'entry', entry: built });
          entry = undefined;
          return;
        }
        if (r === 'Amt') {
          entry.amountText = value;
          entry.currency = frame.currencyAttr;
          entry.amountLine = frame.line;
        } else if (r === 'CdtDbtInd') entry.creditDebit = value;
        else if (r === 'RvslInd') entry.reversal = value;
        else if (r === 'Sts' || r === 'Sts/Cd' || r === 'Sts/Prtry') {
          if (value !== '' || r !== 'Sts') {
            entry.status = value;
            entry.statusLine = frame.line;
          }
        } else if (r === 'BookgDt/Dt' || r === 'BookgDt/DtTm')
          entry.bookingDate = dateOf(value, frame.line, `Ntry/${r}`);
        else if (r === 'ValDt/Dt' || r === 'ValDt/DtTm')
          entry.valueDate = dateOf(value, frame.line, `Ntry/${r}`);
        else if (r === 'NtryRef') entry.entryRef = value;
        else if (r === 'AcctSvcrRef') entry.acctSvcrRef = value;
        else if (r === 'BkTxCd/Domn/Cd') entry.domain = value;
        else if (r === 'BkTxCd/Domn/Fmly/Cd') entry.family = value;
        else if (r === 'BkTxCd/Domn/Fmly/SubFmlyCd') entry.subFamily = value;
        else if (r === 'BkTxCd/Prtry/Cd') entry.proprietaryCode = value;
        else if (r === 'AddtlNtryInf') entry.additionalInfo = value;
        return;
      }
      case 'transaction': {
        if (transaction === undefined || entry === undefined) return;
        if (r === '') {
          const t = transaction;
          let amountMinor: bigint | undefined;
          let currency: string | undefined;
          if (t.amountText !== undefined) {
            const amount = amountOf(t.amountText, t.currency, t.amountLine, 'TxDtls');
            amountMinor = amount.amountMinor;
            currency = amount.currency;
          }
          entry.transactions.push({
            amountMinor,
            currency,
            creditDebit:
              t.creditDebit === undefined ? undefined : creditDebitOf(t.creditDebit, t.line, 'TxDtls'),
            messageId: t.fields.messageId,
            acctSvcrRef: t.fields.acctSvcrRef,
            instructionId: t.fields.instructionId,
            endToEndId: t.fields.endToEndId,
            transactionId: t.fields.transactionId,
            remittance: [...t.remittance, ...t.structuredRefs],
            returnInfo: t.hasReturn
              ? { code: t.returnCode, proprietary: t.returnProprietary, additionalInfo: t.returnInfo }
              : undefined,
          });
          transaction = undefined;
          return;
        }
        // The transaction's own amount: `Amt` (newer versions) wins over `AmtDtls/TxAmt/Amt` (older ones).
        if (r === 'Amt' || (r === 'AmtDtls/TxAmt/Amt' && transaction.amountText === undefined)) {
          transaction.amountText = value;
          transaction.currency = frame.currencyAttr;
          transaction.amountLine = frame.line;
        } else if (r === 'CdtDbtInd') transaction.creditDebit = value;
        else if (r === 'Refs/MsgId') transaction.fields.messageId = value;
        else if (r === 'Refs/AcctSvcrRef') transaction.fields.acctSvcrRef = value;
        else if (r === 'Refs/InstrId') transaction.fields.instructionId = value;
        else if (r === 'Refs/EndToEndId') transaction.fields.endToEndId = value;
        else if (r === 'Refs/TxId') transaction.fields.transactionId = value;
        else if (r === 'RmtInf/Ustrd') transaction.remittance.push(value);
        else if (r === 'RmtInf/Strd/CdtrRefInf/Ref') transaction.structuredRefs.push(value);
        else if (r === 'RtrInf/Rsn/Cd') transaction.returnCode = value;
        else if (r === 'RtrInf/Rsn/Prtry') transaction.returnProprietary = value;
        else if (r === 'RtrInf/AddtlInf') transaction.returnInfo.push(value);
        return;
      }
      default:
        return;
    }
  });

  const write = (chunk: string | null): void => {
    try {
      if (chunk === null) parser.close();
      else parser.write(chunk);
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (chunk === null && messageType === undefined) {
        throw new AppError(
          'reconciliation_file_malformed',
          'camt: the file is empty or holds no XML document',
        );
      }
      // saxes reports well-formedness errors as "file:line:column: message".
      const message = (error as Error).message.replace(/^undefined:/, '');
      throw new AppError('reconciliation_file_malformed', `camt: not well-formed XML at ${message}`);
    }
  };

  for await (const chunk of textChunks(source)) {
    write(chunk);
    while (out.length > 0) {
      const item = out.shift();
      if (item !== undefined) yield item;
    }
  }
  write(null);
  while (out.length > 0) {
    const item = out.shift();
    if (item !== undefined) yield item;
  }
  if (!rootClosed) {
    throw new AppError(
      'reconciliation_file_malformed',
      messageType === undefined
        ? 'camt: the file is empty or holds no XML document'
        : `camt: line ${parser.line}: the document ends before </Document>`,
    );
  }
}

/** The entries of a camt file (each carries its statement), for callers that need nothing else. */
export async function* camtEntries(source: ByteSource): AsyncGenerator<CamtEntry> {
  for await (const item of readCamt(source)) if (item.kind === 'entry') yield item.entry;
}
