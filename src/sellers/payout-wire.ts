import { z } from 'zod';
import { AppError } from '../errors.ts';
import { formatAmount, parseAmount, type CurrencyCode } from '../money/index.ts';
import {
  normaliseAccountNumber,
  normaliseBic,
  normaliseIban,
  normaliseRoutingNumber,
  maskBankDetails,
  type BankDetails,
} from './bank.ts';
import { WEEKDAYS, type PayoutSettings, type Reserve, type Schedule } from './terms.ts';
import type { ScheduleWire, SellerSettingsWire } from './http-schemas.ts';
import {
  BankAccountBody,
  bankAccountsToWire,
  MAX_BANK_ACCOUNTS,
  type BankAccountInput,
  type CurrencyBankAccount,
} from './bank-accounts.ts';

/**
 * The `payout` and `platform_fee` objects of `POST /v1/sellers` and `PATCH /v1/sellers/{id}`. Bank fields and
 * amounts are taken as plain strings by the schema and checked here, so each mistake gets its own code
 * (`iban_invalid`, `bic_invalid`, `bank_details_invalid`, `amount_*`) rather than a generic validation error.
 */

const ScheduleBody = z.discriminatedUnion('interval', [
  z
    .object({ interval: z.literal('monthly'), day_of_month: z.number().int().min(1).max(31).default(1) })
    .strict(),
  z.object({ interval: z.literal('weekly'), weekday: z.enum(WEEKDAYS) }).strict(),
  z.object({ interval: z.literal('daily') }).strict(),
  z.object({ interval: z.literal('manual') }).strict(),
]);

const ReserveBody = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }).strict(),
  z.object({ type: z.literal('percentage'), basis_points: z.number().int().min(0).max(10_000) }).strict(),
  z.object({ type: z.literal('fixed'), amount: z.unknown() }).strict(),
]);

export const PayoutBody = z
  .object({
    account_holder_name: z.string().trim().min(1).max(140).optional(),
    iban: z.string().max(64).optional(),
    bic: z.string().max(32).optional(),
    account_number: z.string().max(32).optional(),
    routing_number: z.string().max(32).optional(),
    account_holder_type: z.enum(['company', 'individual']).optional(),
    account_type: z.enum(['checking', 'savings']).optional(),
    schedule: ScheduleBody.optional(),
    minimum_amount: z.unknown().optional(),
    reserve: ReserveBody.optional(),
    hold_days: z.number().int().min(0).max(365).optional(),
    bank_accounts: z
      .array(BankAccountBody)
      .max(MAX_BANK_ACCOUNTS)
      .optional()
      .describe("one bank account per payout currency; the seller's own currency's is the same as iban/bic"),
  })
  .strict();

export const PlatformFeeBody = z
  .object({
    basis_points: z.number().int().min(0).max(10_000),
    fixed: z.unknown().optional(),
  })
  .strict()
  .nullable();

export type PayoutInput = z.infer<typeof PayoutBody>;
export type PlatformFeeInput = z.infer<typeof PlatformFeeBody>;

function amountAt(value: unknown, currency: CurrencyCode, field: string): bigint {
  try {
    return parseAmount(value, currency, { allowZero: true });
  } catch (error) {
    throw error instanceof AppError ? error.atField(field) : error;
  }
}

/** The ACH holder type (CCD or PPD) and account type: as given, or as they were. */
type BankFields = Omit<BankAccountInput, 'currency'>;

function achKinds(
  input: BankFields,
  previous: BankDetails | null,
): Pick<Extract<BankDetails, { kind: 'ach' }>, 'holderType' | 'accountType'> {
  const before = previous?.kind === 'ach' ? previous : undefined;
  const holderType = input.account_holder_type ?? before?.holderType;
  const accountType = input.account_type ?? before?.accountType;
  return {
    ...(holderType === undefined ? {} : { holderType }),
    ...(accountType === undefined ? {} : { accountType }),
  };
}

/**
 * Bank details from the fields of `payout` (or of one `payout.bank_accounts[]` entry, fields named under
 * `prefix`), over the previous ones: fields left out keep their value.
 */
export function bankFrom(
  input: BankFields,
  previous: BankDetails | null,
  prefix = 'payout',
): BankDetails | null {
  const sepa = input.iban !== undefined || input.bic !== undefined;
  const ach = input.account_number !== undefined || input.routing_number !== undefined;
  if (sepa && ach) {
    throw new AppError(
      'bank_details_invalid',
      `${prefix}: give either iban and bic, or account_number and routing_number`,
      { field: prefix },
    );
  }
  const holderName = input.account_holder_name ?? previous?.holderName ?? null;
  if (sepa) {
    if (input.iban === undefined)
      throw new AppError('iban_invalid', `${prefix}.iban: required with a bic`, { field: `${prefix}.iban` });
    if (input.bic === undefined)
      throw new AppError('bic_invalid', `${prefix}.bic: required with an iban`, { field: `${prefix}.bic` });
    return {
      kind: 'sepa',
      iban: normaliseIban(input.iban, `${prefix}.iban`),
      bic: normaliseBic(input.bic, `${prefix}.bic`),
      holderName,
    };
  }
  if (ach) {
    if (input.account_number === undefined || input.routing_number === undefined) {
      throw new AppError('bank_details_invalid', `${prefix}: account_number and routing_number go together`, {
        field: prefix,
      });
    }
    return {
      kind: 'ach',
      accountNumber: normaliseAccountNumber(input.account_number, `${prefix}.account_number`),
      routingNumber: normaliseRoutingNumber(input.routing_number, `${prefix}.routing_number`),
      holderName,
      ...achKinds(input, previous),
    };
  }
  if (previous?.kind === 'ach' && (input.account_holder_type ?? input.account_type) !== undefined) {
    return { ...previous, holderName, ...achKinds(input, previous) };
  }
  if (previous !== null && input.account_holder_name !== undefined) return { ...previous, holderName };
  return previous;
}

function scheduleFrom(input: z.infer<typeof ScheduleBody>): Schedule {
  switch (input.interval) {
    case 'monthly':
      return { interval: 'monthly', dayOfMonth: input.day_of_month };
    case 'weekly':
      return { interval: 'weekly', weekday: input.weekday };
    default:
      return { interval: input.interval };
  }
}

function reserveFrom(input: z.infer<typeof ReserveBody>, currency: CurrencyCode): Reserve {
  switch (input.type) {
    case 'none':
      return { type: 'none' };
    case 'percentage':
      return { type: 'percentage', basisPoints: BigInt(input.basis_points) };
    case 'fixed':
      return { type: 'fixed', amountMinor: amountAt(input.amount, currency, 'payout.reserve.amount') };
  }
}

/** The settings after applying `payout` and `platform_fee` (either may be absent) to `previous`. */
export function applySettingsInput(
  previous: PayoutSettings,
  payout: PayoutInput | undefined,
  platformFee: PlatformFeeInput | undefined,
  currency: CurrencyCode,
): PayoutSettings {
  let next = previous;
  if (payout !== undefined) {
    next = {
      ...next,
      bank: bankFrom(payout, previous.bank),
      ...(payout.schedule === undefined ? {} : { schedule: scheduleFrom(payout.schedule) }),
      ...(payout.minimum_amount === undefined
        ? {}
        : { minimumAmountMinor: amountAt(payout.minimum_amount, currency, 'payout.minimum_amount') }),
      ...(payout.reserve === undefined ? {} : { reserve: reserveFrom(payout.reserve, currency) }),
      ...(payout.hold_days === undefined ? {} : { holdDays: payout.hold_days }),
    };
  }
  if (platformFee !== undefined) {
    next = {
      ...next,
      fee:
        platformFee === null
          ? null
          : {
              basisPoints: BigInt(platformFee.basis_points),
              fixedMinor:
                platformFee.fixed === undefined
                  ? 0n
                  : amountAt(platformFee.fixed, currency, 'platform_fee.fixed'),
            },
    };
  }
  return next;
}

function scheduleToWire(schedule: Schedule): ScheduleWire {
  if (schedule.interval === 'monthly') return { interval: 'monthly', day_of_month: schedule.dayOfMonth };
  if (schedule.interval === 'weekly') return { interval: 'weekly', weekday: schedule.weekday };
  return { interval: schedule.interval };
}

/**
 * The seller-level flag: set when any account needs new details. Its reason is the own currency's, else the first
 * flagged account's, named by its currency.
 */
function sellerFlag(
  settings: PayoutSettings,
  others: readonly CurrencyBankAccount[],
): { needs: boolean; reason: string | null } {
  if (settings.needsBankDetails) return { needs: true, reason: settings.needsBankDetailsReason };
  const flagged = others.find((account) => account.needsBankDetails);
  if (flagged === undefined) return { needs: false, reason: null };
  return {
    needs: true,
    reason: `${flagged.currency} account: ${flagged.needsBankDetailsReason ?? 'a payout was returned'}`,
  };
}

/** The seller's settings as the API shows them; account numbers are masked (never echoed in full). */
export function settingsToWire(
  settings: PayoutSettings,
  currency: CurrencyCode,
  otherAccounts: readonly CurrencyBankAccount[] = [],
): SellerSettingsWire {
  const fmt = (minor: bigint) => formatAmount(minor, currency);
  const reserve = settings.reserve;
  const flag = sellerFlag(settings, otherAccounts);
  return {
    payout: {
      currency,
      bank_account: maskBankDetails(settings.bank),
      bank_accounts: bankAccountsToWire(
        currency,
        {
          bank: settings.bank,
          minimumAmountMinor: settings.minimumAmountMinor,
          needsBankDetails: settings.needsBankDetails,
          needsBankDetailsReason: settings.needsBankDetailsReason,
        },
        otherAccounts,
      ),
      schedule: scheduleToWire(settings.schedule),
      minimum_amount: fmt(settings.minimumAmountMinor),
      reserve:
        reserve.type === 'percentage'
          ? { type: 'percentage', basis_points: Number(reserve.basisPoints) }
          : reserve.type === 'fixed'
            ? { type: 'fixed', amount: fmt(reserve.amountMinor) }
            : { type: 'none' },
      hold_days: settings.holdDays,
      needs_bank_details: flag.needs,
      needs_bank_details_reason: flag.reason,
    },
    platform_fee:
      settings.fee === null
        ? null
        : { basis_points: Number(settings.fee.basisPoints), fixed: fmt(settings.fee.fixedMinor) },
  };
}
