import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/pool.ts';
import type { RouteModule } from '../http/app.ts';
import type { BackgroundService } from '../services.ts';
import { loadFxConfig, type FxConfig } from './config.ts';
import { fxRoutes } from './http.ts';
import { ecbFileProvider, ecbUrlProvider, type RatesProvider } from './providers.ts';
import { convert, refreshAndLog, refreshRates, type Conversion } from './service.ts';

export interface FxDeps {
  ctx: AppContext;
  /** Over BURSAR_FX_* settings. */
  config?: Partial<FxConfig>;
  /** The rates source; default: BURSAR_FX_RATES_FILE, else BURSAR_FX_RATES_URL, else `fallbackUrl`. */
  provider?: RatesProvider;
  /** Where rates come from when nothing is configured (the sandbox's ECB-format file). */
  fallbackUrl?: string;
}

export interface FxModule {
  config: FxConfig;
  provider: RatesProvider;
  routes: RouteModule;
  /** The scheduled refresh of the rates (roles all, api and worker). */
  services: BackgroundService[];
  /** Fetches and stores the rates now; throws when the file is malformed or stale (the last good ones stay). */
  refresh(): Promise<{ rateDate: string; stored: number; currencies: number }>;
  /** Converts an amount at a named quote or at the current rate less the markup (an implicit quote). */
  convert(
    db: Queryable,
    input: { from: string; to: string; amountMinor: bigint; quoteId: string | undefined },
  ): Promise<Conversion>;
}

function providerOf(config: FxConfig, fallbackUrl: string | undefined): RatesProvider {
  if (config.ratesFile !== undefined) return ecbFileProvider(config.ratesFile);
  if (config.ratesUrl !== undefined) return ecbUrlProvider(config.ratesUrl);
  return ecbUrlProvider(fallbackUrl ?? 'http://127.0.0.1:8081/v1/fx/eurofxref-daily.xml');
}

const RETRY_MS = 30_000;

/** A timer that refreshes the rates at start and every `refreshMinutes`, logging refusals and going on. */
function refreshService(ctx: AppContext, provider: RatesProvider, config: FxConfig): BackgroundService {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  // After a refusal (the sandbox not listening yet at start, a network error) the next try comes sooner.
  const tick = () => {
    running = refreshAndLog(ctx.pool, provider, config, ctx.clock.now(), ctx.log).then((ok) => {
      const delay = ok ? config.refreshMinutes * 60_000 : Math.min(RETRY_MS, config.refreshMinutes * 60_000);
      if (!stopped) timer = setTimeout(tick, delay);
    });
  };
  return {
    name: 'fx-rates',
    start: async () => {
      stopped = false;
      tick();
      await running;
    },
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
    describe: () => [`fx rates: ${provider.source}, every ${config.refreshMinutes} min`],
  };
}

/** Builds the FX module: rates (behind the provider port), quotes, conversions (docs/currencies.md). */
export function createFx(deps: FxDeps): FxModule {
  const { ctx } = deps;
  const config = { ...loadFxConfig(), ...(deps.config ?? {}) };
  const provider = deps.provider ?? providerOf(config, deps.fallbackUrl);
  const now = () => ctx.clock.now();
  return {
    config,
    provider,
    routes: fxRoutes(ctx.pool, config, now),
    services: [refreshService(ctx, provider, config)],
    refresh: () => refreshRates(ctx.pool, provider, config, now()),
    convert: (db, input) => convert(db, config, input, now()),
  };
}
