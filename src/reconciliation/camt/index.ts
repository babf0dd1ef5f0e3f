/**
 * The camt.053 / camt.054 reader, for reconciliation and for any module that settles by bank statement (pay-outs
 * by EndToEndId). See docs/reconciliation.md.
 */
export { readCamt, camtEntries, malformed } from './reader.ts';
export { parseStatementAmount } from './amount.ts';
export type * from './types.ts';
