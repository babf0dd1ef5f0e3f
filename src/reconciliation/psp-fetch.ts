import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { AppError } from '../errors.ts';
import type { StripePspConfig } from '../psp/index.ts';
import { fileInput } from './input.ts';
import type { ReportFetcher } from './runtime.ts';

/**
 * Downloads the itemized balance-change report (Stripe's `balance_change_from_activity.itemized.3` columns) from
 * the sandbox PSP's report route with the Stripe secret key, streaming it to a temporary file so that a day of
 * any size is never held in memory. Real Stripe produces the same report through its asynchronous Reporting API
 * (report runs and file downloads), which this fetcher does not drive: there, download the report and use
 * `bursar reconcile psp --file`.
 */
export function sandboxReportFetcher(config: StripePspConfig): ReportFetcher {
  return async (interval) => {
    if (config.host === undefined || config.host === 'api.stripe.com') {
      throw new AppError(
        'reconciliation_source_unavailable',
        "fetching Stripe's own report needs its Reporting API; download it and run `bursar reconcile psp --file`",
        { retryAfterSeconds: 3600 },
      );
    }
    const protocol = config.protocol ?? 'https';
    const port = config.port ?? (protocol === 'https' ? 443 : 80);
    const url = new URL(
      `${protocol}://${config.host}:${port}/v1/sandbox/reports/balance_change_from_activity.itemized.3.csv`,
    );
    url.searchParams.set('interval_start', String(Math.floor(interval.start.getTime() / 1000)));
    url.searchParams.set('interval_end', String(Math.floor(interval.end.getTime() / 1000)));
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${config.secretKey}` },
      signal: AbortSignal.timeout(config.timeoutMs ?? 60_000),
    });
    if (!response.ok || response.body === null) {
      throw new AppError(
        'reconciliation_source_unavailable',
        `the PSP answered ${response.status} for its report`,
        {
          retryAfterSeconds: 60,
        },
      );
    }
    const file = path.join(os.tmpdir(), `bursar-psp-report-${randomBytes(8).toString('hex')}.csv`);
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      fs.createWriteStream(file),
    );
    const day = interval.start.toISOString().slice(0, 10);
    return {
      ...fileInput(file),
      name: `psp-report-${day}.csv`,
      cleanup: async () => {
        await fs.promises.rm(file, { force: true });
      },
    };
  };
}
