import { basisPointsOf } from '../money/index.ts';
import type { PayoutSettings, Reserve, Schedule } from '../sellers/index.ts';
import { WEEKDAYS } from '../sellers/index.ts';

/** A calendar date `YYYY-MM-DD` (UTC). Payout runs, holds and periods are counted in whole UTC days. */
export type IsoDate = string;

export function isoDateOf(at: Date): IsoDate {
  return at.toISOString().slice(0, 10);
}

export function parseIsoDate(text: string): IsoDate {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) throw new RangeError(`"${text}" is not a date (YYYY-MM-DD)`);
  const at = new Date(`${text}T00:00:00Z`);
  if (Number.isNaN(at.getTime()) || isoDateOf(at) !== text) throw new RangeError(`"${text}" is not a date`);
  return text;
}

export function addDays(date: IsoDate, days: number): IsoDate {
  const at = new Date(`${date}T00:00:00Z`);
  at.setUTCDate(at.getUTCDate() + days);
  return isoDateOf(at);
}

/** The end of a day (its last millisecond, UTC): `--date D` runs as if it were that moment. */
export function endOfDay(date: IsoDate): Date {
  return new Date(`${date}T23:59:59.999Z`);
}

function daysInMonth(year: number, monthIndex: number): number {
  return new Date(Date.UTC(year, monthIndex + 1, 0)).getUTCDate();
}

/** Whether a seller on `schedule` is paid on `date`. A monthly day past the month's end means its last day. */
export function isDue(schedule: Schedule, date: IsoDate): boolean {
  const at = new Date(`${date}T00:00:00Z`);
  switch (schedule.interval) {
    case 'daily':
      return true;
    case 'manual':
      return false;
    case 'weekly':
      return WEEKDAYS[(at.getUTCDay() + 6) % 7] === schedule.weekday;
    case 'monthly': {
      const last = daysInMonth(at.getUTCFullYear(), at.getUTCMonth());
      return at.getUTCDate() === Math.min(schedule.dayOfMonth, last);
    }
  }
}

/**
 * The reserve the seller should hold after this run, given what is available and already reserved. Never more
 * than the two together (the reserve only holds back the seller's own money).
 */
export function reserveTargetMinor(reserve: Reserve, availableMinor: bigint, reservedMinor: bigint): bigint {
  const total = availableMinor + reservedMinor;
  let target: bigint;
  switch (reserve.type) {
    case 'none':
      target = 0n;
      break;
    case 'percentage':
      // Rounded up: a reserve errs on the side of holding the cent.
      target = basisPointsOf(total, reserve.basisPoints, 'ceil');
      break;
    case 'fixed':
      target = reserve.amountMinor;
      break;
  }
  return target > total ? total : target;
}

/** What a payout run decides for one seller: the reserve to move and the amount to pay, if any. */
export interface RunDecision {
  /** Positive: available → reserved; negative: reserved → available. */
  reserveChangeMinor: bigint;
  payoutMinor: bigint;
  /**
   * `in_debt`: the seller owes the platform in the currency; the payout run pays nothing until it is covered.
   * `no_bank_details`: no account in the currency. `needs_bank_details`: its account is flagged after a return.
   */
  outcome:
    'paid' | 'below_minimum' | 'nothing_available' | 'no_bank_details' | 'needs_bank_details' | 'in_debt';
}

export function decideRun(
  settings: Pick<PayoutSettings, 'reserve' | 'minimumAmountMinor' | 'bank' | 'needsBankDetails'>,
  availableMinor: bigint,
  reservedMinor: bigint,
): RunDecision {
  const target = reserveTargetMinor(settings.reserve, availableMinor, reservedMinor);
  const reserveChangeMinor = target - reservedMinor;
  const payable = availableMinor - reserveChangeMinor;
  if (settings.bank === null) return { reserveChangeMinor, payoutMinor: 0n, outcome: 'no_bank_details' };
  if (settings.needsBankDetails) {
    return { reserveChangeMinor, payoutMinor: 0n, outcome: 'needs_bank_details' };
  }
  if (payable <= 0n) return { reserveChangeMinor, payoutMinor: 0n, outcome: 'nothing_available' };
  if (payable < settings.minimumAmountMinor) {
    return { reserveChangeMinor, payoutMinor: 0n, outcome: 'below_minimum' };
  }
  return { reserveChangeMinor, payoutMinor: payable, outcome: 'paid' };
}
