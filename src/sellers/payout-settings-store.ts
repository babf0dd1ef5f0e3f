import { recordEvent } from '../events/index.ts';
import type { Queryable } from '../db/pool.ts';
import { maskBankDetails, type BankDetails } from './bank.ts';
import { flagBankAccount, sameBank } from './bank-accounts.ts';
import {
  DEFAULT_PAYOUT_SETTINGS,
  WEEKDAYS,
  type PayoutSettings,
  type Reserve,
  type Schedule,
} from './terms.ts';

/** Storage of `sellers.payout_settings` and the bank-details audit (migrations/0050_payouts.sql). */

export interface SettingsRow {
  seller_account: string;
  account_holder_name: string | null;
  iban: string | null;
  bic: string | null;
  account_number: string | null;
  routing_number: string | null;
  schedule_interval: 'monthly' | 'weekly' | 'daily' | 'manual';
  schedule_day: number | null;
  minimum_amount_minor: bigint;
  reserve_type: 'none' | 'percentage' | 'fixed';
  reserve_basis_points: bigint;
  reserve_fixed_minor: bigint;
  hold_days: number;
  fee_basis_points: bigint | null;
  fee_fixed_minor: bigint | null;
  needs_bank_details: boolean;
  needs_bank_details_reason: string | null;
  ach_holder_type: 'company' | 'individual' | null;
  ach_account_type: 'checking' | 'savings' | null;
}

export const SETTINGS_COLUMNS = `seller_account, account_holder_name, iban, bic, account_number, routing_number,
  schedule_interval, schedule_day, minimum_amount_minor, reserve_type, reserve_basis_points, reserve_fixed_minor,
  hold_days, fee_basis_points, fee_fixed_minor, needs_bank_details, needs_bank_details_reason, ach_holder_type,
  ach_account_type`;

export function settingsFromRow(row: SettingsRow | undefined): PayoutSettings {
  if (!row) return DEFAULT_PAYOUT_SETTINGS;
  let bank: BankDetails | null = null;
  if (row.iban !== null && row.bic !== null) {
    bank = { kind: 'sepa', iban: row.iban, bic: row.bic, holderName: row.account_holder_name };
  } else if (row.account_number !== null && row.routing_number !== null) {
    bank = {
      kind: 'ach',
      accountNumber: row.account_number,
      routingNumber: row.routing_number,
      holderName: row.account_holder_name,
      ...(row.ach_holder_type === null ? {} : { holderType: row.ach_holder_type }),
      ...(row.ach_account_type === null ? {} : { accountType: row.ach_account_type }),
    };
  }
  let schedule: Schedule;
  switch (row.schedule_interval) {
    case 'monthly':
      schedule = { interval: 'monthly', dayOfMonth: row.schedule_day ?? 1 };
      break;
    case 'weekly':
      schedule = { interval: 'weekly', weekday: WEEKDAYS[(row.schedule_day ?? 1) - 1] ?? 'monday' };
      break;
    default:
      schedule = { interval: row.schedule_interval };
  }
  const reserve: Reserve =
    row.reserve_type === 'percentage'
      ? { type: 'percentage', basisPoints: row.reserve_basis_points }
      : row.reserve_type === 'fixed'
        ? { type: 'fixed', amountMinor: row.reserve_fixed_minor }
        : { type: 'none' };
  return {
    bank,
    schedule,
    minimumAmountMinor: row.minimum_amount_minor,
    reserve,
    holdDays: row.hold_days,
    fee:
      row.fee_basis_points === null && row.fee_fixed_minor === null
        ? null
        : { basisPoints: row.fee_basis_points ?? 0n, fixedMinor: row.fee_fixed_minor ?? 0n },
    needsBankDetails: row.needs_bank_details,
    needsBankDetailsReason: row.needs_bank_details_reason,
  };
}

function scheduleDay(schedule: Schedule): number | null {
  if (schedule.interval === 'monthly') return schedule.dayOfMonth;
  if (schedule.interval === 'weekly') return WEEKDAYS.indexOf(schedule.weekday) + 1;
  return null;
}

export async function findPayoutSettings(
  db: Queryable,
  sellerAccount: string,
  options: { forUpdate?: boolean } = {},
): Promise<PayoutSettings> {
  const result = await db.query<SettingsRow>(
    `SELECT ${SETTINGS_COLUMNS} FROM sellers.payout_settings WHERE seller_account = $1${options.forUpdate ? ' FOR UPDATE' : ''}`,
    [sellerAccount],
  );
  return settingsFromRow(result.rows[0]);
}

/** The settings of many sellers in one read, by seller (a seller without a row gets the defaults). */
export async function findPayoutSettingsMany(
  db: Queryable,
  sellerAccounts: readonly string[],
): Promise<Map<string, PayoutSettings>> {
  const result = await db.query<SettingsRow>(
    `SELECT ${SETTINGS_COLUMNS} FROM sellers.payout_settings WHERE seller_account = ANY($1::text[])`,
    [sellerAccounts],
  );
  const rows = new Map(result.rows.map((row) => [row.seller_account, row]));
  return new Map(sellerAccounts.map((seller) => [seller, settingsFromRow(rows.get(seller))]));
}

/**
 * Writes the seller's settings. A change of the own currency's bank details is audited (masked before/after, the
 * API key) in this same transaction, and clears the own currency's "needs new bank details" flag a returned payout
 * set (other currencies' flags are their accounts', bank-accounts.ts).
 */
export async function savePayoutSettings(
  db: Queryable,
  sellerAccount: string,
  next: PayoutSettings,
  previous: PayoutSettings,
  apiKeyId: string | null,
): Promise<void> {
  const bankChanged = !sameBank(previous.bank, next.bank);
  const needs = bankChanged && next.bank !== null ? false : next.needsBankDetails;
  const bank = next.bank;
  await db.query(
    `INSERT INTO sellers.payout_settings (${SETTINGS_COLUMNS}, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, now())
     ON CONFLICT (seller_account) DO UPDATE SET
       account_holder_name = EXCLUDED.account_holder_name, iban = EXCLUDED.iban, bic = EXCLUDED.bic,
       account_number = EXCLUDED.account_number, routing_number = EXCLUDED.routing_number,
       schedule_interval = EXCLUDED.schedule_interval, schedule_day = EXCLUDED.schedule_day,
       minimum_amount_minor = EXCLUDED.minimum_amount_minor, reserve_type = EXCLUDED.reserve_type,
       reserve_basis_points = EXCLUDED.reserve_basis_points, reserve_fixed_minor = EXCLUDED.reserve_fixed_minor,
       hold_days = EXCLUDED.hold_days, fee_basis_points = EXCLUDED.fee_basis_points,
       fee_fixed_minor = EXCLUDED.fee_fixed_minor, needs_bank_details = EXCLUDED.needs_bank_details,
       needs_bank_details_reason = EXCLUDED.needs_bank_details_reason, ach_holder_type = EXCLUDED.ach_holder_type,
       ach_account_type = EXCLUDED.ach_account_type, updated_at = now()`,
    [
      sellerAccount,
      bank?.holderName ?? null,
      bank?.kind === 'sepa' ? bank.iban : null,
      bank?.kind === 'sepa' ? bank.bic : null,
      bank?.kind === 'ach' ? bank.accountNumber : null,
      bank?.kind === 'ach' ? bank.routingNumber : null,
      next.schedule.interval,
      scheduleDay(next.schedule),
      next.minimumAmountMinor,
      next.reserve.type,
      next.reserve.type === 'percentage' ? next.reserve.basisPoints : 0n,
      next.reserve.type === 'fixed' ? next.reserve.amountMinor : 0n,
      next.holdDays,
      next.fee?.basisPoints ?? null,
      next.fee?.fixedMinor ?? null,
      needs,
      needs ? next.needsBankDetailsReason : null,
      bank?.kind === 'ach' ? (bank.holderType ?? null) : null,
      bank?.kind === 'ach' ? (bank.accountType ?? null) : null,
    ],
  );
  if (bankChanged) {
    await db.query(
      `INSERT INTO sellers.bank_details_audit (seller_account, api_key_id, before, after) VALUES ($1, $2, $3, $4)`,
      [
        sellerAccount,
        apiKeyId,
        JSON.stringify(maskBankDetails(previous.bank)),
        JSON.stringify(maskBankDetails(next.bank)),
      ],
    );
  }
}

/**
 * A payout in `currency` came back: that currency's account needs new details, and that currency alone is not paid
 * until they are given. The seller's own currency's flag is the payout settings'; another currency's is its
 * account's (`flagBankAccount`). Records `seller.flagged` (with the currency) in the caller's transaction. False
 * when there is nothing to flag: the seller has no account of that currency any more (removed after the payout
 * left), so that currency is not paid anyway.
 */
export async function flagNeedsBankDetails(
  db: Queryable,
  sellerAccount: string,
  currency: string,
  reason: string,
): Promise<boolean> {
  const seller = await db.query<{ currency: string }>(
    'SELECT currency FROM sellers.sellers WHERE seller_account = $1',
    [sellerAccount],
  );
  const own = seller.rows[0]?.currency;
  if (own === undefined || own === currency) {
    await db.query(
      `INSERT INTO sellers.payout_settings (seller_account, needs_bank_details, needs_bank_details_reason)
       VALUES ($1, true, $2)
       ON CONFLICT (seller_account) DO UPDATE SET needs_bank_details = true, needs_bank_details_reason = $2,
         updated_at = now()`,
      [sellerAccount, reason],
    );
  } else if (!(await flagBankAccount(db, sellerAccount, currency, reason))) {
    return false;
  }
  await recordEvent(db, 'seller.flagged', {
    object: 'seller',
    seller_account: sellerAccount,
    flagged: true,
    currency,
    needs_bank_details_reason: reason,
    updated_at: new Date().toISOString(),
  });
  return true;
}

export interface BankAuditRow {
  id: bigint;
  apiKeyId: string | null;
  before: unknown;
  after: unknown;
  /** The account's currency for another currency's account; null: the seller's own currency's. */
  currency: string | null;
  changedAt: Date;
}

export async function listBankDetailsAudit(db: Queryable, sellerAccount: string): Promise<BankAuditRow[]> {
  const result = await db.query<{
    id: bigint;
    api_key_id: string | null;
    before: unknown;
    after: unknown;
    currency: string | null;
    changed_at: Date;
  }>(
    'SELECT id, api_key_id, before, after, currency, changed_at FROM sellers.bank_details_audit WHERE seller_account = $1 ORDER BY id',
    [sellerAccount],
  );
  return result.rows.map((row) => ({
    id: row.id,
    apiKeyId: row.api_key_id,
    before: row.before,
    after: row.after,
    currency: row.currency,
    changedAt: row.changed_at,
  }));
}

/** A seller due for a payout on a date, with their settings and balance currency. */
export interface SellerDue {
  sellerAccount: string;
  currency: string;
  settings: PayoutSettings;
}

/** The most seller keys one round trip of `sellersDueOn` scans (its window starts at the page size). */
const DUE_WINDOW_MAX = 50_000;

/**
 * Sellers whose schedule pays them on `date` (UTC) and who have a usable bank account (one not waiting for new
 * details after a return: the own currency's, or another currency's), after `after` in seller order, at most
 * `limit`; fewer than `limit` only when there are no more. The payout run pages through them and skips those it
 * has decided for already; it decides each currency on its own (a flagged currency's outcome is
 * `needs_bank_details`).
 *
 * Each round trip reads a window of the next seller keys in primary-key order and keeps the due ones among them,
 * so a page costs about its own size however many sellers follow. One query over every seller after `after`
 * did too when the planner had statistics; on a table without them yet (just bulk-loaded, as in the payout
 * bench) it read every due seller after `after` through the schedule index and sorted them, each page: the
 * run was quadratic (80 ms a page at 100,000 sellers). A window with too few due sellers is followed by a
 * larger one.
 */
export async function sellersDueOn(
  db: Queryable,
  date: string,
  after: string,
  limit: number,
): Promise<SellerDue[]> {
  const due: SellerDue[] = [];
  let from = after;
  // A window no larger than the page keeps the primary-key range scan the planner's choice even on a table
  // without statistics yet (a bulk-loaded one): with a window of twice the page, a 20,000-seller table just
  // loaded was read by a sequential scan and a sort instead, every page.
  let window = Math.min(Math.max(limit, 100), DUE_WINDOW_MAX);
  while (due.length < limit) {
    const result = await db.query<
      Partial<SettingsRow> & { currency: string | null; scanned_to: string | null; scanned: bigint }
    >(
      `WITH w AS MATERIALIZED (
         SELECT ${SETTINGS_COLUMNS} FROM sellers.payout_settings
         WHERE seller_account > $2 ORDER BY seller_account LIMIT $4
       )
       SELECT m.scanned_to, m.scanned, d.*
       FROM (SELECT max(seller_account) AS scanned_to, count(*)::int8 AS scanned FROM w) m
       LEFT JOIN LATERAL (
         SELECT ps.*,
           (SELECT s.currency FROM sellers.sellers s WHERE s.seller_account = ps.seller_account) AS currency
         FROM w ps
         WHERE (((ps.iban IS NOT NULL OR ps.account_number IS NOT NULL) AND NOT ps.needs_bank_details)
             OR EXISTS (SELECT 1 FROM sellers.payout_bank_accounts a
                         WHERE a.seller_account = ps.seller_account AND NOT a.needs_bank_details))
           AND NOT EXISTS (SELECT 1 FROM sellers.bank_corrections c
                           WHERE c.seller_account = ps.seller_account AND c.status = 'open')
           AND (ps.schedule_interval = 'daily'
             OR (ps.schedule_interval = 'weekly' AND ps.schedule_day = extract(isodow FROM $1::date))
             OR (ps.schedule_interval = 'monthly' AND (ps.schedule_day = extract(day FROM $1::date)
               OR ($1::date = (date_trunc('month', $1::date) + interval '1 month - 1 day')::date
                   AND ps.schedule_day > extract(day FROM $1::date)))))
         ORDER BY ps.seller_account LIMIT $3
       ) d ON true
       ORDER BY d.seller_account`,
      [date, from, limit - due.length, window],
    );
    for (const row of result.rows) {
      if (row.seller_account === undefined || row.seller_account === null || row.currency === null) continue;
      due.push({
        sellerAccount: row.seller_account,
        currency: row.currency,
        settings: settingsFromRow(row as SettingsRow),
      });
    }
    const first = result.rows[0];
    // The window ended the table (fewer keys than asked for), or it was empty: there are no more sellers.
    if (first === undefined || first.scanned_to === null || first.scanned < BigInt(window)) break;
    from = first.scanned_to;
    window = Math.min(window * 4, DUE_WINDOW_MAX);
  }
  return due;
}
