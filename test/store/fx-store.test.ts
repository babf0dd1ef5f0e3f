import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EcbFormatError, formatEcbRates } from '../../src/fx/ecb.ts';
import type { RatesProvider } from '../../src/fx/providers.ts';
import { createQuote, convert, refreshRates, StaleRatesError } from '../../src/fx/service.ts';
import { getQuote, latestRates } from '../../src/fx/store.ts';
import { formatRate } from '../../src/fx/rate.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/fx');
let db: TestDatabase;
const config = { maxAgeHours: 96, markupBps: 100 };

function fileProvider(text: () => string, source = 'ecb:test'): RatesProvider {
  return { source, fetch: async () => text() };
}

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db.drop();
});

describe('fx store and rates refresh (real PostgreSQL)', () => {
  it('stores the newest day of the historical file with its source, publication date and fetch time', async () => {
    const hist = fs.readFileSync(path.join(FIXTURES, 'eurofxref-hist.xml'), 'utf8');
    const fetchedAt = new Date('2024-05-17T16:30:00Z');
    const result = await refreshRates(
      db.pool,
      fileProvider(() => hist),
      config,
      fetchedAt,
    );
    expect(result).toMatchObject({ rateDate: '2024-05-17', stored: 4 });
    const stored = await latestRates(db.pool);
    expect(stored?.source).toBe('ecb:test');
    expect(stored?.rateDate).toBe('2024-05-17');
    expect(stored?.fetchedAt.toISOString()).toBe(fetchedAt.toISOString());
    const usd = stored?.rates.get('USD');
    expect(usd && formatRate(usd)).toBe('1.0866');
  });

  it('refuses a malformed file and a stale file, keeping the last good rates in use', async () => {
    const now = new Date('2024-05-18T09:00:00Z');
    await expect(
      refreshRates(
        db.pool,
        fileProvider(() => '<html>oops</html>'),
        config,
        now,
      ),
    ).rejects.toThrow(EcbFormatError);
    const stale = formatEcbRates([{ date: '2024-05-01', rates: { USD: '9.99' } }]);
    await expect(
      refreshRates(
        db.pool,
        fileProvider(() => stale, 'ecb:stale'),
        config,
        now,
      ),
    ).rejects.toThrow(StaleRatesError);
    const stored = await latestRates(db.pool);
    expect(stored?.rateDate).toBe('2024-05-17');
    const usd = stored?.rates.get('USD');
    expect(usd && formatRate(usd)).toBe('1.0866');
  });

  it('stores quotes with exact decimal rates and reads them back; an implicit quote is recorded for a conversion', async () => {
    const now = new Date('2024-05-17T17:00:00Z');
    const quote = await createQuote(
      db.pool,
      config,
      { from: 'JPY', to: 'GBP', lock: '24h', implicit: false, apiKeyId: null },
      now,
    );
    const read = await getQuote(db.pool, quote.id);
    expect(read).toMatchObject({
      midRate: '0.00505754332', // 0.85518 / 169.09, 10 significant digits
      rate: quote.rate,
      markupBps: 100,
      lockDuration: '24h',
      expiresAt: new Date('2024-05-18T17:00:00Z'),
    });
    const converted = await convert(
      db.pool,
      config,
      { from: 'EUR', to: 'USD', amountMinor: 10_000n, quoteId: undefined },
      now,
    );
    expect(converted).toMatchObject({ convertedMinor: 10_757n, midValueMinor: 10_866n, rate: '1.075734' });
    expect((await getQuote(db.pool, converted.quoteId))?.implicit).toBe(true);
  });

  it('the database refuses a quote whose rate exceeds its mid rate, and a change of an order’s conversion', async () => {
    await expect(
      db.pool.query(
        `INSERT INTO fx.quotes (id, from_currency, to_currency, mid_rate, rate, markup_bps, source, rate_date,
           lock_duration, created_at, expires_at)
         VALUES ('fxq_badbadbad', 'EUR', 'USD', 1.08, 1.09, 0, 'x', '2024-05-17', 'none', now(), now())`,
      ),
    ).rejects.toThrow(/check/);
    await expect(
      db.pool.query(
        `INSERT INTO fx.rates (source, base_currency, currency, rate_date, rate, fetched_at)
         VALUES ('x', 'EUR', 'USD', '2024-05-17', 0, now())`,
      ),
    ).rejects.toThrow(/check/);
  });
});
