import type { Pool } from '../db/pool.ts';
import type { Logger } from '../log.ts';
import type { BankDetails } from './bank.ts';
import type { IsoDate } from './settings.ts';

export type PayoutProviderName = 'iso20022' | 'sandbox' | 'nacha';

/** Options of one run's hand-over: `sameDay` asks the ACH provider for same-day entries (`--same-day`). */
export interface SubmitOptions {
  sameDay?: boolean;
}

/**
 * The payout-provider port: something that carries pending payouts to sellers' banks. An adapter takes every
 * pending payout of its provider and hands it over (a pain.001 file for the bank, or a provider API call),
 * moving each to `in_transit`. Confirmations and returns come back later through `settlePayout`.
 */
export interface PayoutProvider {
  readonly name: PayoutProviderName;
  /**
   * With several providers enabled (BURSAR_PAYOUT_PROVIDERS), the one that carries a payout to these bank
   * details; a single provider carries every payout (`name`).
   */
  nameFor?(destination: BankDetails): PayoutProviderName;
  submitPending(
    deps: { pool: Pool; log: Logger },
    runDate: IsoDate,
    now: Date,
    options?: SubmitOptions,
  ): Promise<SubmitReport>;
}

/** The provider that carries a payout to `destination`. */
export function providerNameFor(provider: PayoutProvider, destination: BankDetails): PayoutProviderName {
  return provider.nameFor?.(destination) ?? provider.name;
}

export interface SubmitReport {
  submitted: number;
  /** Files written (iso20022). */
  files: Array<{ id: string; currency: string; txCount: number; sizeBytes: number }>;
  /** Payouts the provider did not take this time (left pending, tried again at the next run). */
  failed: number;
}
