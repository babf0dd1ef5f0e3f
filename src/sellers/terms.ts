import type { BankDetails } from './bank.ts';

/**
 * A seller's payout settings (pure model). The payout currency is the seller's balance currency. Defaults for a
 * seller that never set anything: monthly on the 1st, no minimum, no reserve, a 7-day hold, the platform fee.
 */

export type Schedule =
  | { interval: 'monthly'; dayOfMonth: number }
  | { interval: 'weekly'; weekday: Weekday }
  | { interval: 'daily' }
  | { interval: 'manual' };

export const WEEKDAYS = [
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
  'sunday',
] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export type Reserve =
  | { type: 'none' }
  /** Held back: this share of what the seller could be paid (available + already reserved). */
  | { type: 'percentage'; basisPoints: bigint }
  | { type: 'fixed'; amountMinor: bigint };

export interface PayoutSettings {
  bank: BankDetails | null;
  schedule: Schedule;
  /** The smallest payout in the seller's own currency (its minor units); other currencies' are their accounts'. */
  minimumAmountMinor: bigint;
  reserve: Reserve;
  holdDays: number;
  /** Per-seller platform fee override; null: the platform's default. */
  fee: { basisPoints: bigint; fixedMinor: bigint } | null;
  /**
   * A payout in the seller's own currency came back: that currency is not paid until new details for it are
   * given. Other currencies' flags are their accounts' (`CurrencyBankAccount`); the API's seller-level
   * `needs_bank_details` is true when any is set.
   */
  needsBankDetails: boolean;
  needsBankDetailsReason: string | null;
}

export const DEFAULT_HOLD_DAYS = 7;

export const DEFAULT_PAYOUT_SETTINGS: PayoutSettings = {
  bank: null,
  schedule: { interval: 'monthly', dayOfMonth: 1 },
  minimumAmountMinor: 0n,
  reserve: { type: 'none' },
  holdDays: DEFAULT_HOLD_DAYS,
  fee: null,
  needsBankDetails: false,
  needsBankDetailsReason: null,
};
