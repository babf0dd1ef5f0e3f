/** Foreign-exchange settings (docs/currencies.md), read from BURSAR_FX_* and BURSAR_SETTLEMENT_CURRENCY. */
export interface FxConfig {
  /** Where the ECB-format rates come from: a file, a URL, or none (then only a provider given in code). */
  ratesFile: string | undefined;
  ratesUrl: string | undefined;
  /** How often the rates are fetched again. */
  refreshMinutes: number;
  /** A rate whose publication date is older than this is refused (`fx_rate_stale`). */
  maxAgeHours: number;
  /** The platform's markup on the mid rate, in basis points, for quotes and implicit conversions. */
  markupBps: number;
  /** The currency the PSP settles to the platform in. */
  settlementCurrency: string;
}

export const DEFAULT_FX_CONFIG: FxConfig = {
  ratesFile: undefined,
  ratesUrl: undefined,
  refreshMinutes: 60,
  // The ECB publishes on TARGET working days only: a Friday's rates are still the latest on Monday afternoon.
  maxAgeHours: 96,
  markupBps: 100,
  settlementCurrency: 'USD',
};

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,6}$/.test(raw)) throw new Error(`${name} must be a whole number, got "${raw}"`);
  return Number.parseInt(raw, 10);
}

function text(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
}

export function loadFxConfig(env: NodeJS.ProcessEnv = process.env): FxConfig {
  const d = DEFAULT_FX_CONFIG;
  return {
    ratesFile: text(env, 'BURSAR_FX_RATES_FILE'),
    ratesUrl: text(env, 'BURSAR_FX_RATES_URL'),
    refreshMinutes: int(env, 'BURSAR_FX_REFRESH_MINUTES', d.refreshMinutes),
    maxAgeHours: int(env, 'BURSAR_FX_MAX_AGE_HOURS', d.maxAgeHours),
    markupBps: int(env, 'BURSAR_FX_MARKUP_BPS', d.markupBps),
    settlementCurrency: text(env, 'BURSAR_SETTLEMENT_CURRENCY') ?? d.settlementCurrency,
  };
}
