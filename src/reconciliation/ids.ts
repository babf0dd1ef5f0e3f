import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

function token(length: number): string {
  let out = '';
  for (const byte of randomBytes(length)) out += ALPHABET[byte % 32] ?? 'a';
  return out;
}

/** Ids of reconciliation's records, prefixed by kind: imports, runs, exceptions. */
export const newImportId = (): string => `rimp_${token(20)}`;
export const newRunId = (): string => `rrun_${token(20)}`;
export const newExceptionId = (): string => `rexc_${token(20)}`;
