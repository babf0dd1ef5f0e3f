import type { BankDetails } from './bank.ts';
import type { IsoDate } from './settings.ts';

/**
 * A payout's life: `pending` (created; its money moved available → in transit) → `in_transit` (handed to the
 * provider: in a pain.001 file, or accepted by the provider's API) → `paid` (the bank or provider confirmed it)
 * or `returned` (it came back; the money is available to the seller again). A paid payout may still be returned.
 */
export type PayoutStatus = 'pending' | 'in_transit' | 'paid' | 'returned';

export interface Payout {
  id: string;
  sellerAccount: string;
  currency: string;
  amountMinor: bigint;
  status: PayoutStatus;
  source: 'scheduled' | 'manual';
  runDate: IsoDate | null;
  provider: string;
  providerReference: string | null;
  payoutFileId: string | null;
  destination: BankDetails;
  returnReason: string | null;
  ledgerEntryId: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface PayoutStatusStep {
  from: PayoutStatus | null;
  to: PayoutStatus;
  reason: string | null;
  source: string;
  reference: string | null;
  at: Date;
}
