import type { Queryable } from '../db/pool.ts';
import {
  balancesAt,
  entriesTouching,
  feeRevenue,
  platformAccountCodes,
  platformBank,
  pspClearing,
  pspFees,
  type HistoryEntry,
} from '../ledger/index.ts';
import { categoryOf } from './classify.ts';

/**
 * The platform report (docs/reports.md), from the ledger's platform accounts alone: per currency and UTC day of
 * recording, what came in and went out, and the PSP clearing and bank balances at the day's end. Every platform
 * account's movement and closing balance is given too, so the report ties out: opening + the days' movements =
 * closing = the ledger's balance-at, account by account.
 */

export const PLATFORM_METRICS = [
  'gross_volume',
  'refunds',
  'disputes',
  'platform_fee_revenue',
  'psp_fees',
  'fx_revenue',
  'losses_written_off',
  'payouts',
] as const;
export type PlatformMetric = (typeof PLATFORM_METRICS)[number];

export interface PlatformDay {
  currency: string;
  /** YYYY-MM-DD (UTC) */
  day: string;
  metrics: Record<PlatformMetric, bigint>;
  pspClearingBalance: bigint;
  bankBalance: bigint;
  /** Each platform account of the currency: its movement on the day and its balance at the day's end. */
  accounts: Map<string, { movementMinor: bigint; closingMinor: bigint }>;
}

export interface PlatformReport {
  from: Date;
  to: Date;
  /** Balance of each platform account at `from` and at `to`, by code. */
  opening: Map<string, bigint>;
  closing: Map<string, bigint>;
  days: PlatformDay[];
}

function zeroMetrics(): Record<PlatformMetric, bigint> {
  return {
    gross_volume: 0n,
    refunds: 0n,
    disputes: 0n,
    platform_fee_revenue: 0n,
    psp_fees: 0n,
    fx_revenue: 0n,
    losses_written_off: 0n,
    payouts: 0n,
  };
}

/** What one entry adds to its day's metrics (deltas on the currency's platform accounts, by normal side). */
export function addEntry(
  metrics: Record<PlatformMetric, bigint>,
  entry: HistoryEntry,
  currency: string,
): void {
  const delta = (code: string) =>
    entry.postings.filter((p) => p.accountCode === code).reduce((sum, p) => sum + p.deltaMinor, 0n);
  const category = categoryOf(entry.kind);
  const clearing = delta(pspClearing(currency).code);
  if (category === 'sale') metrics.gross_volume += clearing;
  if (category === 'refund') metrics.refunds -= clearing;
  if (category === 'dispute' || category === 'reinstatement') metrics.disputes -= clearing;
  if (category === 'payout' || category === 'payout_return')
    metrics.payouts -= delta(platformBank(currency).code);
  const revenue = entry.postings.filter(
    (p) => p.currency === currency && p.accountCode.startsWith('platform:'),
  );
  if (category === 'fx') {
    for (const p of revenue) {
      if (p.accountType === 'revenue') metrics.fx_revenue += p.deltaMinor;
      if (p.accountType === 'expense') metrics.fx_revenue -= p.deltaMinor;
    }
    return;
  }
  metrics.platform_fee_revenue += delta(feeRevenue(currency).code);
  metrics.psp_fees += delta(pspFees(currency).code);
  const known = new Set([pspFees(currency).code]);
  for (const p of revenue) {
    if (p.accountType === 'expense' && !known.has(p.accountCode)) metrics.losses_written_off += p.deltaMinor;
  }
}

function dayOf(at: Date): string {
  return at.toISOString().slice(0, 10);
}

function newDay(currency: string, day: string, running: Map<string, bigint>, codes: string[]): PlatformDay {
  return {
    currency,
    day,
    metrics: zeroMetrics(),
    pspClearingBalance: running.get(pspClearing(currency).code) ?? 0n,
    bankBalance: running.get(platformBank(currency).code) ?? 0n,
    accounts: new Map(
      codes.map((code) => [code, { movementMinor: 0n, closingMinor: running.get(code) ?? 0n }]),
    ),
  };
}

/** The days of one currency that had postings on its platform accounts, in order. */
function daysOf(entries: HistoryEntry[], currency: string, codes: string[], opening: Map<string, bigint>) {
  const running = new Map(codes.map((code) => [code, opening.get(code) ?? 0n]));
  const days: PlatformDay[] = [];
  const mine = new Set(codes);
  for (const entry of entries) {
    const postings = entry.postings.filter((p) => mine.has(p.accountCode));
    if (postings.length === 0) continue;
    const day = dayOf(entry.postedAt);
    let current = days.at(-1);
    if (current?.day !== day) {
      current = newDay(currency, day, running, codes);
      days.push(current);
    }
    addEntry(current.metrics, entry, currency);
    for (const p of postings) {
      const closing = (running.get(p.accountCode) ?? 0n) + p.deltaMinor;
      running.set(p.accountCode, closing);
      const account = current.accounts.get(p.accountCode);
      if (account) {
        account.movementMinor += p.deltaMinor;
        account.closingMinor = closing;
      }
    }
    current.pspClearingBalance = running.get(pspClearing(currency).code) ?? 0n;
    current.bankBalance = running.get(platformBank(currency).code) ?? 0n;
  }
  return days;
}

export async function platformReport(
  db: Queryable,
  input: { from: Date; to: Date; currency?: string | undefined },
): Promise<PlatformReport> {
  const accounts = await platformAccountCodes(db, input.currency);
  const codes = accounts.map((account) => account.code);
  const [opening, closing, entries] = await Promise.all([
    balancesAt(db, codes, input.from),
    balancesAt(db, codes, input.to),
    entriesTouching(db, codes, input.from, input.to),
  ]);
  const currencies = [...new Set(accounts.map((account) => account.currency))];
  const days = currencies.flatMap((currency) =>
    daysOf(
      entries,
      currency,
      accounts.filter((account) => account.currency === currency).map((account) => account.code),
      opening,
    ),
  );
  days.sort((a, b) => (a.day === b.day ? a.currency.localeCompare(b.currency) : a.day < b.day ? -1 : 1));
  return { from: input.from, to: input.to, opening, closing, days };
}
