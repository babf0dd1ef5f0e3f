import { z } from 'zod';
import type { Pool } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import type { App, RouteModule } from '../http/app.ts';
import { errorResponses, Timestamp } from '../http/schemas.ts';
import { assertCurrency } from '../money/index.ts';
import type { FxConfig } from './config.ts';
import { createQuote, currentRates } from './service.ts';
import { LOCK_DURATIONS, getQuote, type FxQuote } from './store.ts';
import { formatRate } from './rate.ts';

const TAGS = ['fx'];
const Currency = z.string().regex(/^[A-Za-z]{3}$/, 'must be an ISO 4217 code');
const RateText = z.string().describe('exact decimal: units of to_currency per unit of from_currency');

const QuoteBody = z
  .strictObject({
    from_currency: Currency.describe('the currency the buyer pays in (presentment)'),
    to_currency: Currency.describe("the currency the seller is paid in (the seller's payout currency)"),
    lock_duration: z.enum(LOCK_DURATIONS).default('5m').describe('how long the rate is guaranteed'),
  })
  .meta({ examples: [{ from_currency: 'EUR', to_currency: 'USD', lock_duration: '1h' }] });

export const QuoteWire = z.object({
  id: z.string().describe('fxq_…'),
  object: z.literal('fx_quote'),
  from_currency: z.string(),
  to_currency: z.string(),
  rate: RateText.describe('the rate a checkout naming this quote converts at: the mid rate less the markup'),
  mid_rate: RateText.describe("the source's rate (a cross rate through EUR when neither currency is EUR)"),
  markup_bps: z.number().int(),
  source: z.string(),
  rate_date: z.string().describe("the source's publication date, YYYY-MM-DD"),
  lock_duration: z.enum(LOCK_DURATIONS),
  implicit: z.boolean().describe('true: recorded for a checkout that named no quote'),
  created_at: Timestamp,
  expires_at: Timestamp,
});

const RatesWire = z.object({
  object: z.literal('fx_rates'),
  base_currency: z.string(),
  source: z.string(),
  rate_date: z.string(),
  fetched_at: Timestamp,
  rates: z.record(z.string(), RateText).describe('1 base_currency = rate units of each currency'),
});

export function quoteToWire(quote: FxQuote): z.infer<typeof QuoteWire> {
  return {
    id: quote.id,
    object: 'fx_quote',
    from_currency: quote.fromCurrency,
    to_currency: quote.toCurrency,
    rate: quote.rate,
    mid_rate: quote.midRate,
    markup_bps: quote.markupBps,
    source: quote.source,
    rate_date: quote.rateDate,
    lock_duration: quote.lockDuration,
    implicit: quote.implicit,
    created_at: quote.createdAt.toISOString(),
    expires_at: quote.expiresAt.toISOString(),
  };
}

function currencyAt(value: string, field: string): string {
  try {
    return assertCurrency(value);
  } catch (error) {
    throw error instanceof AppError ? error.atField(field) : error;
  }
}

/** `POST /v1/fx/quotes`, `GET /v1/fx/quotes/{id}`, `GET /v1/fx/rates` (docs/currencies.md). */
export function fxRoutes(pool: Pool, config: FxConfig, now: () => Date): RouteModule {
  return (app) => {
    quoteRoutes(app, pool, config, now);
    app.get(
      '/v1/fx/rates',
      {
        config: { auth: { scope: 'payments:read' } },
        schema: {
          summary: 'Current exchange rates',
          description:
            'The newest reference rates stored, with their source, publication date and fetch time. `fx_rate_stale` when they are older than BURSAR_FX_MAX_AGE_HOURS.',
          tags: TAGS,
          response: { 200: RatesWire, ...errorResponses() },
        },
      },
      async () => {
        const rates = await currentRates(pool, config, now());
        return {
          object: 'fx_rates' as const,
          base_currency: rates.base,
          source: rates.source,
          rate_date: rates.rateDate,
          fetched_at: rates.fetchedAt.toISOString(),
          rates: Object.fromEntries([...rates.rates].map(([code, rate]) => [code, formatRate(rate)])),
        };
      },
    );
  };
}

function quoteRoutes(app: App, pool: Pool, config: FxConfig, now: () => Date): void {
  app.post(
    '/v1/fx/quotes',
    {
      config: { auth: { scope: 'payments:write' } },
      schema: {
        summary: 'Quote an exchange rate',
        description:
          'A rate from → to (the current mid rate less BURSAR_FX_MARKUP_BPS), guaranteed until expires_at. A checkout names it as fx_quote_id. Moves no money, so no Idempotency-Key is needed.',
        tags: TAGS,
        body: QuoteBody,
        response: { 201: QuoteWire, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const from = currencyAt(request.body.from_currency, 'from_currency');
      const to = currencyAt(request.body.to_currency, 'to_currency');
      if (from === to)
        throw new AppError('validation_failed', 'to_currency: must differ from from_currency', {
          field: 'to_currency',
        });
      const quote = await createQuote(
        pool,
        config,
        { from, to, lock: request.body.lock_duration, implicit: false, apiKeyId: request.apiKey?.id ?? null },
        now(),
      );
      return reply.code(201).send(quoteToWire(quote));
    },
  );
  app.get(
    '/v1/fx/quotes/:id',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: 'Retrieve an FX quote',
        description: 'A quote, named or implicit (the one a checkout without fx_quote_id was converted at).',
        tags: TAGS,
        params: z.object({ id: z.string().regex(/^fxq_[a-z0-9]{8,64}$/, 'must be a quote id (fxq_…)') }),
        response: { 200: QuoteWire, ...errorResponses() },
      },
    },
    async (request) => {
      const quote = await getQuote(pool, request.params.id);
      if (!quote) throw new AppError('fx_quote_not_found', `no FX quote ${request.params.id}`);
      return quoteToWire(quote);
    },
  );
}
