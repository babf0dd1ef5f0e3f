import { randomBase32 } from '../random-id.ts';

/** Ids of reconciliation's records, prefixed by kind: imports, runs, exceptions. */
export const newImportId = (): string => `rimp_${randomBase32(20)}`;
export const newRunId = (): string => `rrun_${randomBase32(20)}`;
export const newExceptionId = (): string => `rexc_${randomBase32(20)}`;
