import type { Pool } from '../db/pool.ts';
import type { Logger } from '../log.ts';
import type { IsoDate } from './settings.ts';

/**
 * The payout-provider port: something that carries pending payouts to sellers' banks. An adapter takes every
 * pending payout of its provider and hands it over (a pain.001 file for the bank, or a provider API call),
 * moving each to `in_transit`. Confirmations and returns come back later through `settlePayout`.
 */
export interface PayoutProvider {
  readonly name: 'iso20022' | 'sandbox';
  submitPending(deps: { pool: Pool; log: Logger }, runDate: IsoDate, now: Date): Promise<SubmitReport>;
}

export interface SubmitReport {
  submitted: number;
  /** Files written (iso20022). */
  files: Array<{ id: string; currency: string; txCount: number; sizeBytes: number }>;
  /** Payouts the provider did not take this time (left pending, tried again at the next run). */
  failed: number;
}
