import type { FastifyInstance } from 'fastify';
import {
  convertMinor,
  crossRate,
  formatEcbRates,
  formatRate,
  parseRate,
  rateLessMarkup,
  ratePlusSpread,
} from '../src/fx/index.ts';
import type { SandboxRuntime } from './http.ts';

/**
 * The sandbox's foreign exchange (docs/sandbox.md "Currencies"): a fixed table of euro reference rates, served as
 * an ECB eurofxref-daily.xml dated today (by the sandbox clock) so Bursar's rates provider works offline; and the
 * conversion of a charge into the settlement currency at the reference rate less SANDBOX_FX_SPREAD_BPS, shown on
 * the balance transaction's `exchange_rate`; money going back (a refund, a dispute's withdrawal) is bought back at
 * the reference rate plus the spread.
 */

/** 1 EUR = … (ECB levels of late 2024; KWD is not an ECB currency but the sandbox quotes it for tests). */
export const SANDBOX_EUR_RATES: Record<string, string> = {
  USD: '1.0866',
  JPY: '169.09',
  GBP: '0.8553',
  CHF: '0.9876',
  CAD: '1.4789',
  AUD: '1.6312',
  SEK: '11.5435',
  NOK: '11.6105',
  DKK: '7.4589',
  PLN: '4.2935',
  KWD: '0.3334',
};

function perEur(currency: string): string | undefined {
  return currency === 'EUR' ? '1' : SANDBOX_EUR_RATES[currency];
}

/**
 * What the sandbox credits for `amountMinor` of `from` in `to`: the reference cross rate less the spread, the amount
 * rounded half-even to `to`'s minor unit. Undefined when a currency has no rate.
 */
export function sandboxSettlement(
  amountMinor: bigint,
  from: string,
  to: string,
  spreadBps: number,
  direction: 'in' | 'out' = 'in',
): { amountMinor: bigint; exchangeRate: string } | undefined {
  const fromRate = parseRate(perEur(from) ?? '');
  const toRate = parseRate(perEur(to) ?? '');
  if (!fromRate || !toRate) return undefined;
  const reference = crossRate(fromRate, toRate);
  const rate =
    direction === 'in' ? rateLessMarkup(reference, spreadBps) : ratePlusSpread(reference, spreadBps);
  return { amountMinor: convertMinor(amountMinor, rate, from, to), exchangeRate: formatRate(rate) };
}

/** `GET /v1/fx/eurofxref-daily.xml`: the reference rates, today, in the ECB's format (no key needed). */
export function registerFxRoutes(app: FastifyInstance, runtime: SandboxRuntime): void {
  app.get('/v1/fx/eurofxref-daily.xml', async (_request, reply) => {
    const date = runtime.now().toISOString().slice(0, 10);
    return reply
      .type('application/xml; charset=utf-8')
      .send(formatEcbRates([{ date, rates: SANDBOX_EUR_RATES }]));
  });
}
