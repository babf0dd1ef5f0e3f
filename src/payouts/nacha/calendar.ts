import { addDays, type IsoDate } from '../settings.ts';

/**
 * Banking days of the ACH network (pure): Monday to Friday except the Federal Reserve's holidays. A fixed-date
 * holiday on a Sunday is observed on the Monday; one on a Saturday is not moved (the Federal Reserve is open on
 * the Friday before). docs/payouts.md "Effective entry date and settlement".
 */

function nthWeekday(year: number, month: number, weekday: number, n: number): string {
  const first = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
  const day = 1 + ((weekday - first + 7) % 7) + (n - 1) * 7;
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

function lastWeekday(year: number, month: number, weekday: number): string {
  const last = new Date(Date.UTC(year, month, 0));
  const day = last.getUTCDate() - ((last.getUTCDay() - weekday + 7) % 7);
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

function observed(date: IsoDate): IsoDate {
  return new Date(`${date}T00:00:00Z`).getUTCDay() === 0 ? addDays(date, 1) : date;
}

/** The Federal Reserve holidays of a year, as observed. */
export function federalReserveHolidays(year: number): Set<IsoDate> {
  const fixed = (month: number, day: number) =>
    observed(`${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`);
  const days = [
    fixed(1, 1),
    nthWeekday(year, 1, 1, 3), // Martin Luther King Jr. Day
    nthWeekday(year, 2, 1, 3), // Washington's Birthday
    lastWeekday(year, 5, 1), // Memorial Day
    fixed(7, 4),
    nthWeekday(year, 9, 1, 1), // Labor Day
    nthWeekday(year, 10, 1, 2), // Columbus Day
    fixed(11, 11),
    nthWeekday(year, 11, 4, 4), // Thanksgiving Day
    fixed(12, 25),
  ];
  if (year >= 2022) days.push(fixed(6, 19)); // Juneteenth
  return new Set(days);
}

export function isBankingDay(date: IsoDate): boolean {
  const weekday = new Date(`${date}T00:00:00Z`).getUTCDay();
  if (weekday === 0 || weekday === 6) return false;
  return !federalReserveHolidays(Number(date.slice(0, 4))).has(date);
}

/** The first banking day strictly after `date`. */
export function nextBankingDay(date: IsoDate): IsoDate {
  let day = addDays(date, 1);
  while (!isBankingDay(day)) day = addDays(day, 1);
  return day;
}

/** Same-day ACH: at most $1,000,000.00 per entry (NACHA, since March 2022). */
export const SAME_DAY_LIMIT_MINOR = 100_000_000n;

/**
 * The effective entry date of a batch written by the run of `runDate`. Next-day (the default): the next banking
 * day. Same-day: the run date itself when it is a banking day and the entry is within the same-day limit;
 * otherwise the next banking day, as for a next-day entry.
 */
export function effectiveEntryDate(runDate: IsoDate, sameDay: boolean, amountMinor: bigint): IsoDate {
  if (sameDay && isBankingDay(runDate) && amountMinor <= SAME_DAY_LIMIT_MINOR) return runDate;
  return nextBankingDay(runDate);
}
