import type { CamtMessageType } from './types.ts';
import { malformed } from './values.ts';

/** The `Document` root and the message element under it (`BkToCstmrStmt` or `BkToCstmrDbtCdtNtfctn`). */

const NAMESPACE = /^urn:iso:std:iso:20022:tech:xsd:camt\.(053|054)\.001\.(\d{2})$/;
const MIN_VERSION = 2;
const MAX_VERSION = 13;

export interface DocumentKind {
  messageType: CamtMessageType;
  /** "02" … "13". */
  version: string;
}

/** The message type and version of a root element, or a refusal when it is not a supported camt.053/054. */
export function documentKindOf(name: string, uri: string, line: number): DocumentKind {
  const match = NAMESPACE.exec(uri);
  if (name !== 'Document' || match === null) {
    throw malformed(
      line,
      name,
      `not a camt.053/camt.054 document (root <${name}> in namespace "${uri}"; expected <Document> in ` +
        'urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN or camt.054.001.NN)',
    );
  }
  const versionNumber = Number(match[2]);
  if (versionNumber < MIN_VERSION || versionNumber > MAX_VERSION) {
    throw malformed(line, name, `camt.${match[1]}.001.${match[2]} is not a supported version (02 to 13)`);
  }
  return { messageType: match[1] === '053' ? 'camt.053' : 'camt.054', version: match[2] ?? '' };
}

/** The message element under `Document`. */
export function containerNameOf(messageType: CamtMessageType | undefined): string {
  return messageType === 'camt.054' ? 'BkToCstmrDbtCdtNtfctn' : 'BkToCstmrStmt';
}

/** The statement element under the message element: `Stmt` (camt.053) or `Ntfctn` (camt.054). */
export function statementNameOf(messageType: CamtMessageType | undefined): string {
  return messageType === 'camt.054' ? 'Ntfctn' : 'Stmt';
}
