import type { Queryable } from '../db/pool.ts';
import { balancesAt, entriesTouching, type HistoryEntry, type HistoryPosting } from '../ledger/index.ts';

/**
 * The FX positions report (docs/reports.md, docs/currencies.md "FX positions"), from the ledger alone: per
 * currency pair (from → to), what conversions recorded in (from, to] moved on the FX accounts — the volume
 * converted by sales and refunds, the FX revenue (the markup), the gain or loss realised at the PSP's settlement
 * and the settlement differences reconciliation booked, and the change of the open position in each currency of
 * the pair. Per currency, the FX accounts' opening and closing balances and movements; the pairs add up to them.
 */

export interface FxPairFigures {
  fromCurrency: string;
  toCurrency: string;
  /** Sales converted (entries). */
  conversions: number;
  /** Sales converted, in `from` (what buyers paid) and in `to` (at the mid rate). */
  convertedFromMinor: bigint;
  convertedToMinor: bigint;
  /** Refunds of converted sales, in `from`. */
  refundedFromMinor: bigint;
  /** The platform's markup (fx_revenue), in `to`. */
  fxRevenueMinor: bigint;
  /** Gain (> 0) or loss realised when the PSP settled (fx.settled), in `to`. */
  realisedMinor: bigint;
  /** Differences reconciliation booked (fx.settlement_difference), in `to`. */
  settlementDifferencesMinor: bigint;
  /** Change of the open position (fx_position, credit − debit: > 0 long) in each currency of the pair. */
  positionFromMinor: bigint;
  positionToMinor: bigint;
}

export interface FxCurrencyFigures {
  currency: string;
  positionOpeningMinor: bigint;
  positionClosingMinor: bigint;
  positionMovementMinor: bigint;
  fxRevenueMovementMinor: bigint;
  gainLossMovementMinor: bigint;
}

export interface FxPositionsReport {
  from: Date;
  to: Date;
  pairs: FxPairFigures[];
  currencies: FxCurrencyFigures[];
}

const POSITION = 'platform:fx_position:';
const REVENUE = 'platform:fx_revenue:';
const GAIN_LOSS = 'platform:fx_gain_loss:';
const CLEARING = 'platform:psp_clearing:';

const isFx = (p: HistoryPosting) =>
  p.accountCode.startsWith(POSITION) ||
  p.accountCode.startsWith(REVENUE) ||
  p.accountCode.startsWith(GAIN_LOSS);

function text(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Z]{3}$/.test(value) ? value : undefined;
}

/** Kinds of entries converting the buyer's money back or forth at the order's rate (refunds and disputes). */
const MONEY_BACK = new Set(['refund', 'refund.reversed', 'chargeback', 'dispute.reinstated']);

/**
 * The pair an entry converts: a sale, refund or dispute from the currency the buyer paid in (its metadata's
 * presentment currency, else the one its PSP clearing moves in); the PSP's settlement from the currency it takes
 * out of clearing to the one it pays into it, and its conversion of money going back (fx.settled_out) the other
 * way round; a settlement difference as its metadata says; anything else by the currencies of its FX postings in
 * alphabetical order.
 */
export function pairOf(entry: HistoryEntry): { from: string; to: string } | undefined {
  const fx = entry.postings.filter(isFx);
  const currencies = [...new Set(fx.map((p) => p.currency))].sort();
  const clearing = entry.postings.filter((p) => p.accountCode.startsWith(CLEARING));
  const other = (c: string | undefined) => currencies.find((x) => x !== c);
  let from: string | undefined;
  let to: string | undefined;
  if (entry.kind === 'payin.succeeded' || MONEY_BACK.has(entry.kind)) {
    from = text(entry.metadata.presentmentCurrency) ?? clearing[0]?.currency;
    to = text(entry.metadata.settlementCurrency) ?? other(from);
  } else if (entry.kind === 'fx.settled') {
    from = clearing.find((p) => p.direction === 'credit')?.currency;
    to = clearing.find((p) => p.direction === 'debit')?.currency;
  } else if (entry.kind === 'fx.settled_out') {
    from = clearing.find((p) => p.direction === 'debit')?.currency;
    to = clearing.find((p) => p.direction === 'credit')?.currency;
  } else if (entry.kind === 'fx.settlement_difference') {
    from = text(entry.metadata.presentmentCurrency);
    to = text(entry.metadata.settlementCurrency);
  }
  if (from === undefined || to === undefined || from === to) [from, to] = [currencies[0], currencies[1]];
  if (from === undefined) return undefined;
  return { from, to: to ?? from };
}

function emptyPair(from: string, to: string): FxPairFigures {
  return {
    fromCurrency: from,
    toCurrency: to,
    conversions: 0,
    convertedFromMinor: 0n,
    convertedToMinor: 0n,
    refundedFromMinor: 0n,
    fxRevenueMinor: 0n,
    realisedMinor: 0n,
    settlementDifferencesMinor: 0n,
    positionFromMinor: 0n,
    positionToMinor: 0n,
  };
}

/** What one entry adds to its pair's figures. */
export function addToPair(pair: FxPairFigures, entry: HistoryEntry): void {
  const sum = (pick: (p: HistoryPosting) => boolean) =>
    entry.postings.filter(pick).reduce((total, p) => total + p.amountMinor, 0n);
  const at = (prefix: string, currency: string) => (p: HistoryPosting) =>
    p.accountCode === `${prefix}${currency}`;
  const { fromCurrency: from, toCurrency: to } = pair;
  if (entry.kind === 'payin.succeeded') {
    pair.conversions += 1;
    pair.convertedFromMinor += sum((p) => at(CLEARING, from)(p) && p.direction === 'debit');
    pair.convertedToMinor += sum((p) => at(POSITION, to)(p) && p.direction === 'debit');
  }
  if (entry.kind === 'refund')
    pair.refundedFromMinor += sum((p) => at(CLEARING, from)(p) && p.direction === 'credit');
  for (const p of entry.postings.filter(isFx)) {
    if (p.accountCode.startsWith(REVENUE)) pair.fxRevenueMinor += p.deltaMinor;
    else if (p.accountCode.startsWith(GAIN_LOSS)) {
      if (entry.kind === 'fx.settlement_difference') pair.settlementDifferencesMinor += p.deltaMinor;
      else pair.realisedMinor += p.deltaMinor;
    } else if (p.currency === from) pair.positionFromMinor += p.deltaMinor;
    else if (p.currency === to) pair.positionToMinor += p.deltaMinor;
  }
}

/** The pairs of `entries` (those that touch an FX account), sorted by from and to currency. */
export function fxPairs(entries: HistoryEntry[]): FxPairFigures[] {
  const pairs = new Map<string, FxPairFigures>();
  for (const entry of entries) {
    if (!entry.postings.some(isFx)) continue;
    const found = pairOf(entry);
    if (found === undefined) continue;
    const key = `${found.from}>${found.to}`;
    const pair = pairs.get(key) ?? emptyPair(found.from, found.to);
    pairs.set(key, pair);
    addToPair(pair, entry);
  }
  return [...pairs.values()].sort((a, b) =>
    a.fromCurrency === b.fromCurrency
      ? a.toCurrency.localeCompare(b.toCurrency)
      : a.fromCurrency.localeCompare(b.fromCurrency),
  );
}

/** The FX accounts (`platform:fx_position|fx_revenue|fx_gain_loss:<CUR>`) the ledger has, by currency. */
async function fxAccounts(db: Queryable): Promise<Array<{ code: string; currency: string }>> {
  const found = await db.query<{ code: string; currency: string }>(
    `SELECT code, currency FROM ledger.accounts
      WHERE code LIKE 'platform:fx\\_position:%' OR code LIKE 'platform:fx\\_revenue:%'
         OR code LIKE 'platform:fx\\_gain\\_loss:%'
      ORDER BY currency, code`,
  );
  return found.rows;
}

export async function fxPositionsReport(
  db: Queryable,
  input: { from: Date; to: Date },
): Promise<FxPositionsReport> {
  const accounts = await fxAccounts(db);
  const codes = accounts.map((a) => a.code);
  const [opening, closing, entries] = await Promise.all([
    balancesAt(db, codes, input.from),
    balancesAt(db, codes, input.to),
    entriesTouching(db, codes, input.from, input.to),
  ]);
  const moved = (code: string) => (closing.get(code) ?? 0n) - (opening.get(code) ?? 0n);
  const currencies = [...new Set(accounts.map((a) => a.currency))].map((currency) => ({
    currency,
    positionOpeningMinor: opening.get(`${POSITION}${currency}`) ?? 0n,
    positionClosingMinor: closing.get(`${POSITION}${currency}`) ?? 0n,
    positionMovementMinor: moved(`${POSITION}${currency}`),
    fxRevenueMovementMinor: moved(`${REVENUE}${currency}`),
    gainLossMovementMinor: moved(`${GAIN_LOSS}${currency}`),
  }));
  return { from: input.from, to: input.to, pairs: fxPairs(entries), currencies };
}
