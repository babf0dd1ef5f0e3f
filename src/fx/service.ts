import type { Queryable } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { isCurrencyCode } from '../money/index.ts';
import { randomHexId } from '../random-id.ts';
import type { FxConfig } from './config.ts';
import { EcbFormatError, parseEcbRates } from './ecb.ts';
import type { RatesProvider } from './providers.ts';
import {
  convertMinor,
  crossRate,
  formatRate,
  inverseRate,
  parseRate,
  rateLessMarkup,
  type Rate,
} from './rate.ts';
import {
  getQuote,
  insertQuote,
  insertRates,
  latestRates,
  type FxQuote,
  type LockDuration,
  type StoredRates,
} from './store.ts';

const HOUR_MS = 3_600_000;
const LOCK_MS: Record<LockDuration, number> = { none: 0, '5m': 300_000, '1h': HOUR_MS, '24h': 24 * HOUR_MS };

/** A publication's age: from the end of its publication day (UTC), so a file of today is never stale. */
export function ratesAgeHours(rateDate: string, now: Date): number {
  const published = Date.parse(`${rateDate}T00:00:00Z`) + 24 * HOUR_MS;
  return Math.max(0, (now.getTime() - published) / HOUR_MS);
}

export class StaleRatesError extends Error {
  override readonly name = 'StaleRatesError';
}

/**
 * Fetches, reads and stores the newest day of the provider's file. A malformed file (EcbFormatError) or a stale
 * one (StaleRatesError) is refused and nothing is stored: the last good rates stay in use.
 */
export async function refreshRates(
  db: Queryable,
  provider: RatesProvider,
  config: Pick<FxConfig, 'maxAgeHours'>,
  now: Date,
): Promise<{ rateDate: string; stored: number; currencies: number }> {
  const days = parseEcbRates(await provider.fetch());
  const newest = days[0];
  if (!newest) throw new EcbFormatError('the file holds no dated rates');
  if (ratesAgeHours(newest.date, now) > config.maxAgeHours)
    throw new StaleRatesError(
      `the newest rates of ${provider.source} are of ${newest.date}, older than ${config.maxAgeHours} hours`,
    );
  const rates = new Map([...newest.rates].map(([currency, rate]) => [currency, formatRate(rate)]));
  const stored = await insertRates(db, {
    source: provider.source,
    rateDate: newest.date,
    fetchedAt: now,
    rates,
  });
  return { rateDate: newest.date, stored, currencies: rates.size };
}

/** Refreshes and logs; never throws (the schedule keeps going on the last good rates). */
export async function refreshAndLog(
  db: Queryable,
  provider: RatesProvider,
  config: Pick<FxConfig, 'maxAgeHours'>,
  now: Date,
  log: Logger,
): Promise<boolean> {
  try {
    const result = await refreshRates(db, provider, config, now);
    log.info({ source: provider.source, ...result }, 'fx rates refreshed');
    return true;
  } catch (error) {
    log.warn(
      { source: provider.source, err: error instanceof Error ? error.message : String(error) },
      'fx rates refresh refused; the last good rates stay in use',
    );
    return false;
  }
}

/** The mid rate from → to of a publication, through the base currency (EUR): from→EUR→to. */
export function midRateOf(rates: StoredRates, from: string, to: string): Rate | undefined {
  const perBase = (currency: string): Rate | undefined =>
    currency === rates.base ? { coefficient: 1n, scale: 0 } : rates.rates.get(currency);
  const fromPerBase = perBase(from);
  const toPerBase = perBase(to);
  if (!fromPerBase || !toPerBase || from === to) return undefined;
  if (from === rates.base) return toPerBase;
  if (to === rates.base) return inverseRate(fromPerBase);
  return crossRate(fromPerBase, toPerBase);
}

/** The current rates, refused when there are none or when they are older than BURSAR_FX_MAX_AGE_HOURS. */
export async function currentRates(
  db: Queryable,
  config: Pick<FxConfig, 'maxAgeHours'>,
  now: Date,
): Promise<StoredRates> {
  const rates = await latestRates(db);
  if (!rates) throw new AppError('fx_rate_unavailable', 'no exchange rates have been fetched yet');
  if (ratesAgeHours(rates.rateDate, now) > config.maxAgeHours)
    throw new AppError(
      'fx_rate_stale',
      `the newest exchange rates (${rates.source}, ${rates.rateDate}) are older than ${config.maxAgeHours} hours`,
    );
  return rates;
}

export interface QuoteRequest {
  from: string;
  to: string;
  lock: LockDuration;
  implicit: boolean;
  apiKeyId: string | null;
}

/** A quote at the current mid rate less the markup, stored; `fx_rate_unavailable` when the pair has no rate. */
export async function createQuote(
  db: Queryable,
  config: Pick<FxConfig, 'maxAgeHours' | 'markupBps'>,
  request: QuoteRequest,
  now: Date,
): Promise<FxQuote> {
  const rates = await currentRates(db, config, now);
  const mid = isCurrencyCode(request.from) ? midRateOf(rates, request.from, request.to) : undefined;
  if (!mid)
    throw new AppError(
      'fx_rate_unavailable',
      `no exchange rate from ${request.from} to ${request.to} (${rates.source} of ${rates.rateDate})`,
    );
  const quote: FxQuote = {
    id: randomHexId('fxq', 12),
    fromCurrency: request.from,
    toCurrency: request.to,
    midRate: formatRate(mid),
    rate: formatRate(rateLessMarkup(mid, config.markupBps)),
    markupBps: config.markupBps,
    source: rates.source,
    rateDate: rates.rateDate,
    lockDuration: request.lock,
    implicit: request.implicit,
    createdAt: now,
    expiresAt: new Date(now.getTime() + LOCK_MS[request.lock]),
  };
  await insertQuote(db, quote, request.apiKeyId);
  return quote;
}

/** A conversion of one amount, with everything the order and the ledger record of it. */
export interface Conversion {
  quoteId: string;
  rate: string;
  midRate: string;
  source: string;
  rateDate: string;
  /** The amount at the quote's rate (markup taken) and at the mid rate, in the target currency's minor units. */
  convertedMinor: bigint;
  midValueMinor: bigint;
}

/** The quote named by a checkout, checked against the pair and the clock. */
async function namedQuote(db: Queryable, id: string, from: string, to: string, now: Date): Promise<FxQuote> {
  const quote = await getQuote(db, id);
  if (!quote) throw new AppError('fx_quote_not_found', `no FX quote ${id}`, { field: 'fx_quote_id' });
  if (quote.fromCurrency !== from || quote.toCurrency !== to)
    throw new AppError(
      'fx_quote_mismatch',
      `FX quote ${id} is for ${quote.fromCurrency} → ${quote.toCurrency}, not ${from} → ${to}`,
      { field: 'fx_quote_id' },
    );
  if (quote.expiresAt.getTime() <= now.getTime())
    throw new AppError('fx_quote_expired', `FX quote ${id} expired at ${quote.expiresAt.toISOString()}`, {
      field: 'fx_quote_id',
    });
  return quote;
}

/**
 * Converts `amountMinor` of `from` into `to`: at the named quote's rate, or at the current rate less the markup,
 * recorded as an implicit quote. Rounded once, half-even, to the minor unit of `to`.
 */
export async function convert(
  db: Queryable,
  config: Pick<FxConfig, 'maxAgeHours' | 'markupBps'>,
  input: { from: string; to: string; amountMinor: bigint; quoteId: string | undefined },
  now: Date,
): Promise<Conversion> {
  const quote =
    input.quoteId === undefined
      ? await createQuote(db, config, { ...input, lock: 'none', implicit: true, apiKeyId: null }, now)
      : await namedQuote(db, input.quoteId, input.from, input.to, now);
  const rate = parseRate(quote.rate);
  const mid = parseRate(quote.midRate);
  if (!rate || !mid) throw new Error(`FX quote ${quote.id} holds an unreadable rate`);
  return {
    quoteId: quote.id,
    rate: formatRate(rate),
    midRate: formatRate(mid),
    source: quote.source,
    rateDate: quote.rateDate,
    convertedMinor: convertMinor(input.amountMinor, rate, input.from, input.to),
    midValueMinor: convertMinor(input.amountMinor, mid, input.from, input.to),
  };
}
