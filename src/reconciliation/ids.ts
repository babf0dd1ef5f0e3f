import { randomBase32 } from '../random-id.ts';

const token = randomBase32;

/** Ids of reconciliation's records, prefixed by kind: imports, runs, exceptions. */
export const newImportId = (): string => `rimp_${token(20)}`;
export const newRunId = (): string => `rrun_${token(20)}`;
export const newExceptionId = (): string => `rexc_${token(20)}`;
