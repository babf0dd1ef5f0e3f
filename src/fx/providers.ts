import fs from 'node:fs/promises';
import { formatEcbRates } from './ecb.ts';

/**
 * The rates provider port: where the reference rates come from. Each returns the document in the ECB's
 * eurofxref format and names its source; the service parses, checks and stores it.
 */
export interface RatesProvider {
  /** Stored with every rate, e.g. `ecb:file:/etc/rates.xml`, `ecb:https://…`, `fixed`. */
  readonly source: string;
  fetch(): Promise<string>;
}

/** The ECB file on disk (`BURSAR_FX_RATES_FILE`). */
export function ecbFileProvider(path: string): RatesProvider {
  return { source: `ecb:file:${path}`, fetch: async () => await fs.readFile(path, 'utf8') };
}

/** The ECB file over HTTP (`BURSAR_FX_RATES_URL`; the ECB's own, or the sandbox's `/v1/fx/eurofxref-daily.xml`). */
export function ecbUrlProvider(url: string, timeoutMs = 10_000): RatesProvider {
  return {
    source: `ecb:${url}`,
    fetch: async () => {
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) throw new Error(`rates download from ${url} answered HTTP ${response.status}`);
      return await response.text();
    },
  };
}

/**
 * Fixed rates for tests: "1 EUR = rate" per currency, published on `date` (a function, so that a test clock can
 * move it), served in the ECB's format so that they pass through the same reader.
 */
export function fixedRatesProvider(rates: Record<string, string>, date: () => string): RatesProvider {
  return { source: 'fixed', fetch: async () => formatEcbRates([{ date: date(), rates }]) };
}
