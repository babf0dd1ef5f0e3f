import { SaxesParser, type SaxesTagNS } from 'saxes';
import { AppError } from '../../errors.ts';
import { finishBalance, newBalanceDraft, readBalanceField, type BalanceDraft } from './balance.ts';
import { containerNameOf, documentKindOf, envelopeChild, statementNameOf } from './document.ts';
import type { ClosedElement } from './element.ts';
import { finishEntry, newEntryDraft, readEntryField, type EntryDraft } from './entry.ts';
import {
  checkStatementBeforeEntry,
  checkStatementEnd,
  newStatement,
  readStatementField,
  settleBookedBalances,
} from './statement.ts';
import {
  finishTransaction,
  newTransactionDraft,
  openTransactionChild,
  readTransactionField,
  type TransactionDraft,
} from './transaction.ts';
import type { ByteSource, CamtEntry, CamtItem, CamtMessageType, CamtStatement } from './types.ts';
import { malformed } from './values.ts';
import { schemaFor } from './xsd/schemas.ts';
import { createValidator, type Validator } from './xsd/validate.ts';

export { malformed } from './values.ts';

/**
 * A streaming reader of ISO 20022 camt.052 (intraday account report), camt.053 (bank-to-customer statement) and
 * camt.054 (debit/credit notification) files, versions 001.02 to 001.13, bare or inside a SWIFT MX envelope (a
 * wrapper element holding an `AppHdr`, head.001.001.01 to .03, and the `Document`). It reads the bytes chunk by
 * chunk through a SAX parser and yields each statement's header, then each entry with its transactions, then a
 * summary, so a file of any size is read in memory bounded by its largest entry.
 *
 * A version whose official XSD Bursar ships (schemas/iso20022/) is validated against it as it is read (xsd/): the
 * reader accepts what the schema accepts and refuses what it refuses, naming the line and the element. Beyond the
 * schema it refuses only what it cannot book exactly: an amount in a currency Bursar does not know, or with more
 * (non-zero) decimals than the currency has. Other versions are read with the same structural checks (statement
 * id and account, entry amount, currency, direction and status). Every refusal is a
 * `reconciliation_file_malformed` error; a caller that must apply nothing of a bad file reads it to the end
 * (staging what it reads) before acting on any of it.
 *
 * This file follows the tags: which element is being built (the context) and where each element sits within it.
 * What each element holds is read by its own file: document.ts, statement.ts, balance.ts, entry.ts,
 * transaction.ts, with the value checks in values.ts.
 */

/** No single element's text is longer than this in a sane statement; a longer one is refused, not buffered. */
const MAX_TEXT_CHARS = 64 * 1024;

type Context = 'document' | 'header' | 'statement' | 'balance' | 'entry' | 'transaction' | 'other';

interface Frame {
  name: string;
  line: number;
  context: Context;
  /** Path of this element relative to its nearest context element (e.g. `Sts/Cd`). */
  relative: string;
  currencyAttr: string | undefined;
}

type Placement = Pick<Frame, 'context' | 'relative'>;

/** Everything one read knows, kept per call. */
interface ReaderState {
  /** Items ready to be yielded. */
  out: CamtItem[];
  stack: Frame[];
  text: string;
  messageType: CamtMessageType | undefined;
  version: string;
  messageId: string | undefined;
  statementCount: number;
  entryCount: number;
  rootClosed: boolean;
  containerSeen: boolean;
  containerLine: number;
  statement: CamtStatement | undefined;
  statementAnnounced: boolean;
  statementEntries: number;
  balance: BalanceDraft | undefined;
  entry: EntryDraft | undefined;
  transaction: TransactionDraft | undefined;
  /** The schema validator of the document, when Bursar ships the XSD of its version. */
  validator: Validator | undefined;
  /** Elements around the `Document` (a SWIFT MX envelope), and the depth inside its `AppHdr`. */
  envelope: string[];
  headerDepth: number;
}

function newReaderState(): ReaderState {
  return {
    out: [],
    stack: [],
    text: '',
    messageType: undefined,
    version: '',
    messageId: undefined,
    statementCount: 0,
    entryCount: 0,
    rootClosed: false,
    containerSeen: false,
    containerLine: 0,
    statement: undefined,
    statementAnnounced: false,
    statementEntries: 0,
    balance: undefined,
    entry: undefined,
    transaction: undefined,
    validator: undefined,
    envelope: [],
    headerDepth: 0,
  };
}

/** Yields the current statement once, with its booked balances, before its first entry (or at its end). */
function announce(s: ReaderState): void {
  if (s.statement === undefined || s.statementAnnounced) return;
  settleBookedBalances(s.statement);
  s.statementAnnounced = true;
  s.out.push({ kind: 'statement', statement: s.statement });
}

/* ----------------------------------------------------------------------------------------------- opening tags */

function openDocument(s: ReaderState, tag: SaxesTagNS, line: number): void {
  const name = tag.local;
  if (s.rootClosed) throw malformed(line, name, 'content after the end of the document');
  const kind = documentKindOf(name, tag.uri, line);
  s.messageType = kind.messageType;
  s.version = kind.version;
  const schema = schemaFor(`${kind.messageType}.001.${kind.version}`);
  if (schema !== undefined) s.validator = createValidator(schema, malformed);
  s.stack.push({ name, line, context: 'document', relative: '', currencyAttr: undefined });
}

function openContainer(s: ReaderState, name: string, line: number): Placement {
  const containerName = containerNameOf(s.messageType);
  if (name !== containerName) {
    throw malformed(line, name, `expected <${containerName}> in a ${s.messageType ?? 'camt'} document`);
  }
  s.containerSeen = true;
  s.containerLine = line;
  return { context: 'other', relative: '' };
}

/** A child of the message element: the group header, a statement, or something ignored. */
function openMessageChild(s: ReaderState, name: string, line: number): Placement {
  if (name === 'GrpHdr') return { context: 'header', relative: '' };
  if (name !== statementNameOf(s.messageType)) return { context: 'other', relative: '' };
  s.statementCount += 1;
  s.statementEntries = 0;
  s.statementAnnounced = false;
  s.statement = newStatement({
    messageType: s.messageType,
    version: s.version,
    messageId: s.messageId,
    index: s.statementCount,
    line,
  });
  return { context: 'statement', relative: '' };
}

/** A child of a statement: a balance, an entry, or a field of the statement (undefined). */
function openStatementChild(s: ReaderState, name: string, line: number): Placement | undefined {
  if (name === 'Bal') {
    s.balance = newBalanceDraft(line);
    return { context: 'balance', relative: '' };
  }
  if (name !== 'Ntry') return undefined;
  if (s.statement !== undefined) checkStatementBeforeEntry(s.statement, line, statementNameOf(s.messageType));
  announce(s);
  s.entry = newEntryDraft(line);
  return { context: 'entry', relative: '' };
}

/** Where a new element sits: which element it belongs to, and its path within it. */
function place(s: ReaderState, parent: Frame, name: string, line: number): Placement {
  const nested: Placement = {
    context: parent.context,
    relative: parent.relative === '' ? name : `${parent.relative}/${name}`,
  };
  if (parent.context === 'document' && s.stack.length === 1) return openContainer(s, name, line);
  if (s.stack.length === 2) return openMessageChild(s, name, line);
  if (parent.context === 'statement' && parent.relative === '') {
    return openStatementChild(s, name, line) ?? nested;
  }
  if (parent.context === 'entry' && name === 'TxDtls' && parent.relative === 'NtryDtls') {
    s.transaction = newTransactionDraft(line);
    return { context: 'transaction', relative: '' };
  }
  return nested;
}

function openTag(s: ReaderState, tag: SaxesTagNS, line: number): void {
  const parent = s.stack[s.stack.length - 1];
  s.text = '';
  if (parent === undefined) {
    openDocument(s, tag, line);
    return;
  }
  const name = tag.local;
  const ccyAttr = tag.attributes.Ccy;
  const currencyAttr = ccyAttr === undefined ? undefined : ccyAttr.value;
  const { context, relative } = place(s, parent, name, line);
  if (context === 'transaction' && s.transaction !== undefined) openTransactionChild(s.transaction, relative);
  s.stack.push({ name, line, context, relative, currencyAttr });
}

/* ----------------------------------------------------------------------------------------------- closing tags */

function closeDocument(s: ReaderState, line: number): void {
  const containerName = containerNameOf(s.messageType);
  if (!s.containerSeen) throw malformed(line, 'Document', `the document has no <${containerName}>`);
  if (s.statementCount === 0) {
    throw malformed(
      s.containerLine,
      containerName,
      `the message holds no <${statementNameOf(s.messageType)}>: a ${s.messageType ?? 'camt'} file must carry at least one`,
    );
  }
  s.rootClosed = true;
  s.out.push({
    kind: 'end',
    messageType: s.messageType ?? 'camt.053',
    version: s.version,
    messageId: s.messageId,
    statements: s.statementCount,
    entries: s.entryCount,
  });
}

function closeInStatement(s: ReaderState, closed: ClosedElement): void {
  if (s.statement === undefined) return;
  if (closed.path !== '') {
    readStatementField(s.statement, closed);
    return;
  }
  checkStatementEnd(s.statement, closed.line, statementNameOf(s.messageType));
  announce(s);
  s.statement = undefined;
}

function closeInBalance(s: ReaderState, closed: ClosedElement): void {
  if (s.balance === undefined || s.statement === undefined) return;
  if (closed.path !== '') {
    readBalanceField(s.balance, closed);
    return;
  }
  s.statement.balances.push(finishBalance(s.balance, `${statementNameOf(s.messageType)}/Bal`));
  s.balance = undefined;
}

function closeInEntry(s: ReaderState, closed: ClosedElement): void {
  if (s.entry === undefined || s.statement === undefined) return;
  if (closed.path !== '') {
    readEntryField(s.entry, closed);
    return;
  }
  const built: CamtEntry = finishEntry(s.entry, s.statement, s.statementEntries + 1);
  s.statementEntries += 1;
  s.entryCount += 1;
  s.out.push({ kind: 'entry', entry: built });
  s.entry = undefined;
}

function closeInTransaction(s: ReaderState, closed: ClosedElement): void {
  if (s.transaction === undefined || s.entry === undefined) return;
  if (closed.path !== '') {
    readTransactionField(s.transaction, closed);
    return;
  }
  s.entry.transactions.push(finishTransaction(s.transaction));
  s.transaction = undefined;
}

function closeTag(s: ReaderState): void {
  const frame = s.stack.pop();
  if (frame === undefined) return;
  const closed: ClosedElement = {
    path: frame.relative,
    value: s.text.trim(),
    line: frame.line,
    currencyAttr: frame.currencyAttr,
  };
  s.text = '';
  switch (frame.context) {
    case 'document':
      return closeDocument(s, frame.line);
    case 'header':
      if (closed.path === 'MsgId') s.messageId = closed.value;
      return;
    case 'statement':
      return closeInStatement(s, closed);
    case 'balance':
      return closeInBalance(s, closed);
    case 'entry':
      return closeInEntry(s, closed);
    case 'transaction':
      return closeInTransaction(s, closed);
    default:
      return;
  }
}

/* ------------------------------------------------------------------------------------------------- streaming */

function appendText(s: ReaderState, chunk: string, line: number): void {
  if (s.text.length + chunk.length > MAX_TEXT_CHARS) {
    throw malformed(line, s.stack[s.stack.length - 1]?.name ?? '?', 'element text is too long');
  }
  s.text += chunk;
}

/** An element outside the `Document`: the envelope root, its `AppHdr` (skipped) or the `Document` (true). */
function openOutside(s: ReaderState, tag: SaxesTagNS, line: number): boolean {
  if (s.headerDepth > 0) {
    s.headerDepth += 1;
    return false;
  }
  const parent = s.envelope[s.envelope.length - 1];
  if (parent === undefined) {
    if (tag.local === 'Document' || s.rootClosed) return true;
    s.envelope.push(tag.local);
    return false;
  }
  if (envelopeChild(tag.local, tag.uri, line, parent)) return true;
  s.headerDepth = 1;
  return false;
}

function onOpen(s: ReaderState, tag: SaxesTagNS, line: number): void {
  if (s.stack.length > 0) {
    s.validator?.open(tag, line);
    openTag(s, tag, line);
  } else if (openOutside(s, tag, line)) {
    openTag(s, tag, line);
    s.validator?.open(tag, line);
  }
}

function onText(s: ReaderState, chunk: string, line: number): void {
  if (s.stack.length === 0) return;
  s.validator?.text(chunk, line);
  appendText(s, chunk, line);
}

function onClose(s: ReaderState, line: number): void {
  if (s.stack.length > 0) {
    s.validator?.close(line);
    closeTag(s);
  } else if (s.headerDepth > 0) s.headerDepth -= 1;
  else s.envelope.pop();
}

function listen(parser: SaxesParser<{ xmlns: true; position: true }>, s: ReaderState): void {
  parser.on('doctype', () => {
    throw malformed(parser.line, '!DOCTYPE', 'document type declarations are not accepted in statements');
  });
  parser.on('opentag', (tag: SaxesTagNS) => onOpen(s, tag, parser.line));
  parser.on('text', (chunk: string) => onText(s, chunk, parser.line));
  parser.on('cdata', (chunk: string) => onText(s, chunk, parser.line));
  parser.on('closetag', () => onClose(s, parser.line));
}

/** Feeds a chunk (or the end, `null`) to the parser, turning its errors into `reconciliation_file_malformed`. */
function feed(
  parser: SaxesParser<{ xmlns: true; position: true }>,
  s: ReaderState,
  chunk: string | null,
): void {
  try {
    if (chunk === null) parser.close();
    else parser.write(chunk);
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (chunk === null && s.messageType === undefined) {
      throw new AppError('reconciliation_file_malformed', 'camt: the file is empty or holds no XML document');
    }
    // saxes reports well-formedness errors as "file:line:column: message".
    const message = (error as Error).message.replace(/^undefined:/, '');
    throw new AppError('reconciliation_file_malformed', `camt: not well-formed XML at ${message}`);
  }
}

function* drain(out: CamtItem[]): Generator<CamtItem> {
  while (out.length > 0) {
    const item = out.shift();
    if (item !== undefined) yield item;
  }
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
  const s = newReaderState();
  listen(parser, s);
  for await (const chunk of textChunks(source)) {
    feed(parser, s, chunk);
    yield* drain(s.out);
  }
  feed(parser, s, null);
  yield* drain(s.out);
  if (!s.rootClosed) {
    throw new AppError(
      'reconciliation_file_malformed',
      s.messageType === undefined
        ? 'camt: the file is empty or holds no camt <Document>'
        : `camt: line ${parser.line}: the document ends before </Document>`,
    );
  }
}

/** The entries of a camt file (each carries its statement), for callers that need nothing else. */
export async function* camtEntries(source: ByteSource): AsyncGenerator<CamtEntry> {
  for await (const item of readCamt(source)) if (item.kind === 'entry') yield item.entry;
}
