import type { Queryable } from '../db/pool.ts';
import { parseRate, type Rate } from './rate.ts';

/** The only SQL on the `fx` schema (migrations/0260_fx.sql). */

export const BASE_CURRENCY = 'EUR';

export interface StoredRates {
  source: string;
  base: string;
  /** Publication date, YYYY-MM-DD. */
  rateDate: string;
  fetchedAt: Date;
  rates: Map<string, Rate>;
}

export interface FxQuote {
  id: string;
  fromCurrency: string;
  toCurrency: string;
  midRate: string;
  rate: string;
  markupBps: number;
  source: string;
  rateDate: string;
  lockDuration: LockDuration;
  implicit: boolean;
  createdAt: Date;
  expiresAt: Date;
}

export const LOCK_DURATIONS = ['none', '5m', '1h', '24h'] as const;
export type LockDuration = (typeof LOCK_DURATIONS)[number];

/** Stores one day of rates; a day already stored from the same source is kept as it was (first fetch wins). */
export async function insertRates(
  db: Queryable,
  input: { source: string; rateDate: string; fetchedAt: Date; rates: Map<string, string> },
): Promise<number> {
  const currencies = [...input.rates.keys()];
  const result = await db.query(
    `INSERT INTO fx.rates (source, base_currency, currency, rate_date, rate, fetched_at)
     SELECT $1, $2, c, $3::date, r::numeric, $4 FROM unnest($5::text[], $6::text[]) AS t(c, r)
     ON CONFLICT (source, rate_date, currency) DO NOTHING`,
    [
      input.source,
      BASE_CURRENCY,
      input.rateDate,
      input.fetchedAt,
      currencies,
      currencies.map((c) => input.rates.get(c) ?? ''),
    ],
  );
  return result.rowCount ?? 0;
}

/** The newest publication stored (any source): the latest date, and of that the latest fetch. */
export async function latestRates(db: Queryable): Promise<StoredRates | undefined> {
  const result = await db.query<{
    source: string;
    base_currency: string;
    rate_date: string;
    fetched_at: Date;
    currency: string;
    rate: string;
  }>(
    `WITH newest AS (
       SELECT source, rate_date FROM fx.rates ORDER BY rate_date DESC, fetched_at DESC LIMIT 1)
     SELECT r.source, r.base_currency, to_char(r.rate_date, 'YYYY-MM-DD') AS rate_date, r.fetched_at,
            r.currency, r.rate::text AS rate
       FROM fx.rates r JOIN newest n USING (source, rate_date) ORDER BY r.currency`,
  );
  const first = result.rows[0];
  if (!first) return undefined;
  const rates = new Map<string, Rate>();
  for (const row of result.rows) {
    const rate = parseRate(row.rate);
    if (rate) rates.set(row.currency, rate);
  }
  return {
    source: first.source,
    base: first.base_currency,
    rateDate: first.rate_date,
    fetchedAt: first.fetched_at,
    rates,
  };
}

interface QuoteRow {
  id: string;
  from_currency: string;
  to_currency: string;
  mid_rate: string;
  rate: string;
  markup_bps: number;
  source: string;
  rate_date: string;
  lock_duration: LockDuration;
  implicit: boolean;
  created_at: Date;
  expires_at: Date;
}

const QUOTE_COLUMNS = `id, from_currency, to_currency, mid_rate::text AS mid_rate, rate::text AS rate, markup_bps,
  source, to_char(rate_date, 'YYYY-MM-DD') AS rate_date, lock_duration, implicit, created_at, expires_at`;

function toQuote(row: QuoteRow): FxQuote {
  return {
    id: row.id,
    fromCurrency: row.from_currency,
    toCurrency: row.to_currency,
    midRate: row.mid_rate,
    rate: row.rate,
    markupBps: row.markup_bps,
    source: row.source,
    rateDate: row.rate_date,
    lockDuration: row.lock_duration,
    implicit: row.implicit,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

export async function insertQuote(db: Queryable, quote: FxQuote, apiKeyId: string | null): Promise<void> {
  await db.query(
    `INSERT INTO fx.quotes (id, from_currency, to_currency, mid_rate, rate, markup_bps, source, rate_date,
       lock_duration, implicit, api_key_id, created_at, expires_at)
     VALUES ($1, $2, $3, $4::numeric, $5::numeric, $6, $7, $8::date, $9, $10, $11, $12, $13)`,
    [
      quote.id,
      quote.fromCurrency,
      quote.toCurrency,
      quote.midRate,
      quote.rate,
      quote.markupBps,
      quote.source,
      quote.rateDate,
      quote.lockDuration,
      quote.implicit,
      apiKeyId,
      quote.createdAt,
      quote.expiresAt,
    ],
  );
}

export async function getQuote(db: Queryable, id: string): Promise<FxQuote | undefined> {
  const result = await db.query<QuoteRow>(`SELECT ${QUOTE_COLUMNS} FROM fx.quotes WHERE id = $1`, [id]);
  const row = result.rows[0];
  return row ? toQuote(row) : undefined;
}
