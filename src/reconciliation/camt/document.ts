import type { CamtMessageType } from './types.ts';
import { malformed } from './values.ts';

/**
 * The `Document` root and the message element under it (`BkToCstmrAcctRpt`, `BkToCstmrStmt` or
 * `BkToCstmrDbtCdtNtfctn`), and the SWIFT MX envelope a `Document` may come in.
 */

const NAMESPACE = /^urn:iso:std:iso:20022:tech:xsd:camt\.(052|053|054)\.001\.(\d{2})$/;
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
      `not a camt.052/053/054 document (<${name}> in namespace "${uri}"; expected <Document> in ` +
        'urn:iso:std:iso:20022:tech:xsd:camt.052.001.NN, camt.053.001.NN or camt.054.001.NN)',
    );
  }
  const versionNumber = Number(match[2]);
  if (versionNumber < MIN_VERSION || versionNumber > MAX_VERSION) {
    throw malformed(line, name, `camt.${match[1]}.001.${match[2]} is not a supported version (02 to 13)`);
  }
  return { messageType: `camt.${match[1] ?? '053'}` as CamtMessageType, version: match[2] ?? '' };
}

/** The message element under `Document`. */
export function containerNameOf(messageType: CamtMessageType | undefined): string {
  if (messageType === 'camt.052') return 'BkToCstmrAcctRpt';
  return messageType === 'camt.054' ? 'BkToCstmrDbtCdtNtfctn' : 'BkToCstmrStmt';
}

/** The statement element under the message element: `Rpt` (camt.052), `Stmt` (camt.053) or `Ntfctn` (camt.054). */
export function statementNameOf(messageType: CamtMessageType | undefined): string {
  if (messageType === 'camt.052') return 'Rpt';
  return messageType === 'camt.054' ? 'Ntfctn' : 'Stmt';
}

/** The business application header of a SWIFT MX envelope: head.001.001.01 to .03. */
const APP_HEADER = /^urn:iso:std:iso:20022:tech:xsd:head\.001\.001\.0[1-3]$/;

/**
 * A child of an envelope (any wrapper element around the `Document`): the `AppHdr` (checked to be head.001.001.01
 * to .03; its content is not needed), `Document` (returns true) or anything else (refused).
 */
export function envelopeChild(name: string, uri: string, line: number, parent: string): boolean {
  if (name === 'AppHdr') {
    if (!APP_HEADER.test(uri)) {
      throw malformed(
        line,
        `${parent}/AppHdr`,
        `the business application header is in namespace "${uri}"; expected head.001.001.01 to .03`,
      );
    }
    return false;
  }
  if (name === 'Document') return true;
  throw malformed(
    line,
    `${parent}/${name}`,
    'an envelope holds an <AppHdr> and the <Document>, nothing else',
  );
}
