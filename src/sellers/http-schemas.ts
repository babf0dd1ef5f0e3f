import { z } from 'zod';
import { Amount, Timestamp } from '../http/schemas.ts';
import { DisputePolicyWire } from './dispute-policy.ts';
import { WEEKDAYS } from './terms.ts';

const MaskedSepaAccount = z.object({
  iban_last4: z.string(),
  country: z.string(),
  bic: z.string(),
  holder: z.string().nullable(),
});
const MaskedAchAccount = z.object({
  account_last4: z.string(),
  routing_number: z.string(),
  holder: z.string().nullable(),
  holder_type: z
    .enum(['company', 'individual'])
    .optional()
    .describe('ACH: CCD (company) or PPD (individual)'),
  account_type: z.enum(['checking', 'savings']).optional(),
});

/** A bank account as the API shows it: never the whole number. */
export const MaskedBankAccount = z.union([MaskedSepaAccount, MaskedAchAccount]);
/** What each payout account carries beside its masked details: its currency and that currency's terms. */
const CurrencyTerms = {
  currency: z.string(),
  minimum_amount: Amount.describe(
    "the run pays nothing below this in the account's currency (major units of it); the own currency's is payout.minimum_amount",
  ),
  needs_bank_details: z
    .boolean()
    .describe(
      'a payout to this account came back: this currency is not paid until new details for it are given',
    ),
  needs_bank_details_reason: z.string().nullable(),
};
/** One of a seller's payout accounts, masked, with the currency it is paid in and that currency's terms. */
export const MaskedCurrencyAccount = z.union([
  MaskedSepaAccount.extend(CurrencyTerms),
  MaskedAchAccount.extend(CurrencyTerms),
]);
export type MaskedCurrencyAccount = z.infer<typeof MaskedCurrencyAccount>;
export type MaskedBankAccount = z.infer<typeof MaskedBankAccount>;

/**
 * The response schemas of the seller routes. The serializer drops any field not listed here; the wire functions'
 * return types are inferred from these schemas, so a field added to one must be added here.
 */

export const SellerCore = z.object({
  object: z.literal('seller'),
  seller_account: z.string(),
  name: z.string(),
  currency: z.string(),
  metadata: z.record(z.string(), z.unknown()),
  status: z
    .enum(['active', 'inactive'])
    .describe('inactive: deactivated, takes no new checkouts; refunds, disputes and payouts go on'),
  created_at: Timestamp,
});
export type SellerCoreWire = z.infer<typeof SellerCore>;

export const ScheduleWire = z.union([
  z.object({ interval: z.literal('monthly'), day_of_month: z.number().int() }),
  z.object({ interval: z.literal('weekly'), weekday: z.enum(WEEKDAYS) }),
  z.object({ interval: z.enum(['daily', 'manual']) }),
]);
export type ScheduleWire = z.infer<typeof ScheduleWire>;

export const SellerSettingsWire = z.object({
  payout: z.object({
    currency: z.string(),
    bank_account: MaskedBankAccount.nullable().describe("the account of the seller's own currency"),
    bank_accounts: z
      .array(MaskedCurrencyAccount)
      .describe("every payout account, one per currency; the seller's own currency's is bank_account"),
    schedule: ScheduleWire,
    minimum_amount: Amount.describe("the smallest payout in the seller's own currency"),
    reserve: z.union([
      z.object({ type: z.literal('percentage'), basis_points: z.number().int() }),
      z.object({ type: z.literal('fixed'), amount: Amount }),
      z.object({ type: z.literal('none') }),
    ]),
    hold_days: z.number().int(),
    needs_bank_details: z
      .boolean()
      .describe(
        'true when any payout account needs new details after a returned payout (each account has its own flag in bank_accounts; only the flagged currencies stop)',
      ),
    needs_bank_details_reason: z
      .string()
      .nullable()
      .describe("the own currency's reason, else the first flagged account's, prefixed with its currency"),
  }),
  platform_fee: z
    .object({ basis_points: z.number().int(), fixed: Amount })
    .nullable()
    .describe("the seller's own platform fee; null when the platform's default applies"),
});
export type SellerSettingsWire = z.infer<typeof SellerSettingsWire>;

/** A seller as `POST/GET/PATCH /v1/sellers…` return it: the seller and its payout settings. */
export const SellerWire = SellerCore.extend(SellerSettingsWire.shape).extend({
  dispute_policy: DisputePolicyWire,
});

/** A seller's balances in one currency. */
export const CurrencyBalanceWire = z.object({
  currency: z.string(),
  pending: Amount,
  available: Amount,
  reserved: Amount,
  in_transit: Amount,
  paid_out: Amount,
  balance_due: Amount.describe(
    'what the seller owes the platform (a refund or dispute larger than their balances), as a negative amount; "0.00" when nothing is owed. Recovered from their next available money before any payout',
  ),
  balance_due_since: Timestamp.nullable().describe('when the debt began (null when nothing is owed)'),
  balance_due_age_days: z.number().int().nullable().describe('whole days since balance_due_since'),
});
export type CurrencyBalanceWire = z.infer<typeof CurrencyBalanceWire>;

/** The seller's balance: the seller's own currency's buckets at the top level, and every currency's in `balances`. */
export const BalanceWire = z.object({
  object: z.literal('balance'),
  seller_account: z.string(),
  ...CurrencyBalanceWire.shape,
  balances: z
    .array(CurrencyBalanceWire)
    .describe("one entry per currency the seller holds money in, the seller's own currency first"),
  as_of: Timestamp,
});

/** A seller's debt write-off (`POST /v1/sellers/{seller_account}/debt/write_off`, event `seller.debt_written_off`). */
export const DebtWriteOffWire = z.object({
  object: z.literal('debt_write_off'),
  seller_account: z.string(),
  currency: z.string(),
  amount: Amount.describe('written off (or, in a dry run, what would be)'),
  balance_due_before: Amount,
  balance_due_after: Amount,
  debt_since: Timestamp.nullable(),
  older_than_days: z.number().int(),
  reason: z.string().nullable(),
  actor: z.string().describe('the API key id, or cli:<operating-system user>'),
  dry_run: z.boolean(),
  ledger_entry_id: z.string().nullable(),
  created_at: Timestamp,
});
export type DebtWriteOffWire = z.infer<typeof DebtWriteOffWire>;
export type BalanceWire = z.infer<typeof BalanceWire>;
