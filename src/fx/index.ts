/** The FX module's public face (docs/currencies.md): rates behind a provider port, quotes, conversions. */
export { createFx, type FxDeps, type FxModule } from './module.ts';
export { loadFxConfig, DEFAULT_FX_CONFIG, type FxConfig } from './config.ts';
export { ecbFileProvider, ecbUrlProvider, fixedRatesProvider, type RatesProvider } from './providers.ts';
export { formatEcbRates, parseEcbRates, EcbFormatError, type EcbDay } from './ecb.ts';
export type { Conversion } from './service.ts';
export {
  convertMinor,
  crossRate,
  formatRate,
  parseRate,
  rateLessMarkup,
  ratePlusSpread,
  RATE_SIGNIFICANT_DIGITS,
  type Rate,
} from './rate.ts';
