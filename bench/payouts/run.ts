/**
 * Payout-run benchmark (not part of `npm test`): `npx tsx bench/payouts/run.ts [--sellers N]` (default 100,000).
 * Starts its own embedded PostgreSQL, seeds N daily-scheduled sellers with bank details and an available balance
 * (set-based SQL, then one `hold.released`-free ledger load through postEntries in batches), then times
 * `runPayouts` — payouts, ledger entries and one streamed pain.001 file — and prints time, peak RSS, and the file's
 * size. Memory should not grow with N: the file is streamed a page of payouts at a time into 256 KiB chunks.
 * With `--profile` (or `BENCH_PROFILE=1`) it also prints where the run's time went: every statement the run sent,
 * counted and timed, and the server's PL/pgSQL functions (triggers) with their calls and own time
 * (bench/lib/profile.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { createPool } from '../../src/db/pool.ts';
import { withTransaction } from '../../src/db/tx.ts';
import { payinSucceeded, holdReleased, postEntries } from '../../src/ledger/index.ts';
import { createLogger } from '../../src/log.ts';
import {
  createIso20022Provider,
  DEFAULT_DEBTOR,
  ibanWithCheckDigits,
  runPayouts,
} from '../../src/payouts/index.ts';
import { CostMeter, type CostSnapshot } from '../lib/cost.ts';
import { functionProfile, profilePool, profileWanted, TRACK_FUNCTIONS } from '../lib/profile.ts';
import type { BenchOptions, BenchRow } from '../lib/types.ts';
import { migrateAsOwner } from '../lib/migrate.ts';
import { runWhenMain } from '../lib/standalone.ts';

function argValue(name: string): number | undefined {
  const index = process.argv.indexOf(name);
  const value = index >= 0 ? process.argv[index + 1] : undefined;
  return value === undefined ? undefined : Number.parseInt(value, 10);
}

const DATE = '2030-06-15';

/** The payout run over `sellers` sellers (100,000 by default, 5,000 with `quick`), as one row of the table. */
export async function run(
  options: BenchOptions & { sellers?: number; profile?: boolean } = {},
): Promise<BenchRow[]> {
  const SELLERS = options.sellers ?? (options.quick ? 5_000 : 100_000);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  sampler.unref();
  const dataDir = fs.mkdtempSync(path.join(options.tmpDir ?? os.tmpdir(), 'bursar-payouts-bench-'));
  const profiling = options.profile ?? profileWanted();
  const server = await startEmbeddedPostgres({
    dataDir,
    log: createLogger('warn'),
    durability: 'full',
    ...(profiling ? { settings: TRACK_FUNCTIONS } : {}),
  });
  const pool = createPool(server.url, { max: 8, applicationName: 'bursar-bench' });
  const profiler = profiling ? profilePool(pool) : undefined;
  const functions = profiling ? functionProfile(pool) : undefined;
  try {
    await migrateAsOwner(server.ownerUrl);
    const seedStarted = performance.now();
    const iban = ibanWithCheckDigits('DE', '370400440532013000');
    await pool.query(
      `INSERT INTO sellers.sellers (seller_account, name, currency)
       SELECT 'b_' || lpad(i::text, 7, '0'), 'Seller ' || i, 'EUR' FROM generate_series(1, $1) AS i`,
      [SELLERS],
    );
    await pool.query(
      `INSERT INTO sellers.payout_settings (seller_account, iban, bic, schedule_interval)
       SELECT seller_account, $1, 'COBADEFFXXX', 'daily' FROM sellers.sellers`,
      [iban],
    );
    for (let from = 1; from <= SELLERS; from += 2000) {
      const ids = Array.from({ length: Math.min(2000, SELLERS - from + 1) }, (_, k) => from + k);
      await withTransaction(pool, (client) =>
        postEntries(
          client,
          ids.flatMap((i) => {
            const sellerId = `b_${String(i).padStart(7, '0')}`;
            const amountMinor = BigInt(1_000 + (i % 50_000));
            return [
              payinSucceeded({
                currency: 'EUR',
                paymentOrderId: `bench_${i}`,
                sellerId,
                grossMinor: amountMinor,
                platformFeeMinor: 0n,
              }),
              holdReleased({ currency: 'EUR', releaseId: `bench_${i}`, sellerId, amountMinor }),
            ];
          }),
        ),
      );
    }
    log(`seeded ${SELLERS} sellers in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);

    // CPU time (PostgreSQL's process group and this process) of each phase: far less sensitive than wall time to
    // the load of a shared machine, so the figure to compare between runs in different conditions.
    const meter = new CostMeter(
      pool,
      { bench: () => process.pid },
      () => {
        const text = fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8');
        const pid = Number.parseInt(text.split('\n')[0] ?? '', 10);
        return Number.isNaN(pid) ? undefined : pid;
      },
      'bursar',
    );
    const cpuBefore = await meter.snapshot(0);
    let cpuAtFile: CostSnapshot | undefined;
    const rssBefore = process.memoryUsage().rss;
    peakRss = rssBefore;
    const started = performance.now();
    profiler?.start();
    await functions?.start();
    // The file phase (the provider's submit: the pain.001 written, its payouts moved to in_transit) is timed on
    // its own; the rest of the run is the pages' decisions.
    const iso20022 = createIso20022Provider({ version: 'pain.001.001.09', debtorFor: () => DEFAULT_DEBTOR });
    let fileStartedAt = 0;
    const provider: typeof iso20022 = {
      ...iso20022,
      submitPending: async (...args) => {
        fileStartedAt = performance.now();
        cpuAtFile = await meter.snapshot(0);
        return await iso20022.submitPending(...args);
      },
    };
    const report = await runPayouts(
      { pool, log: createLogger('warn'), provider, now: new Date(`${DATE}T06:00:00Z`) },
      DATE,
    );
    const elapsedMs = performance.now() - started;
    const filePhaseMs = fileStartedAt === 0 ? 0 : performance.now() - fileStartedAt;
    const cpuAfter = await meter.snapshot(0);
    const pagesCost = meter.perUnit(cpuBefore, cpuAtFile ?? cpuAfter, 1);
    const fileCost = meter.perUnit(cpuAtFile ?? cpuAfter, cpuAfter, 1);
    const cpuLine = (cost: typeof pagesCost) =>
      `PostgreSQL ${((cost.cpuMs.postgres ?? 0) / 1000).toFixed(1)} s + bench ${((cost.cpuMs.bench ?? 0) / 1000).toFixed(1)} s, WAL ${(cost.walKb / 1024).toFixed(0)} MiB`;
    if (profiler) log(profiler.report());
    if (functions) log(await functions.report());
    const file = report.submit.files[0];
    const fileStarted = performance.now();
    // Reading it back through the same chunk stream the download route uses.
    let streamed = 0;
    const { payoutFileStream } = await import('../../src/payouts/index.ts');
    if (file) for await (const chunk of payoutFileStream(pool, file.id)) streamed += (chunk as Buffer).length;
    const downloadMs = performance.now() - fileStarted;
    const lines = [
      `sellers:            ${SELLERS}`,
      `payouts created:    ${report.payoutsCreated}`,
      `payout run:         ${(elapsedMs / 1000).toFixed(1)} s (${Math.round(report.payoutsCreated / (elapsedMs / 1000))} payouts/s, file included)`,
      `  of which pages:   ${((elapsedMs - filePhaseMs) / 1000).toFixed(1)} s, file phase: ${(filePhaseMs / 1000).toFixed(1)} s`,
      `CPU, pages:         ${cpuLine(pagesCost)}`,
      `CPU, file phase:    ${cpuLine(fileCost)}`,
      `pain.001 file:      ${file ? `${file.txCount} tx, ${(file.sizeBytes / 1_048_576).toFixed(1)} MiB` : 'none'}`,
      `file read back:     ${(streamed / 1_048_576).toFixed(1)} MiB in ${(downloadMs / 1000).toFixed(1)} s`,
      `RSS before run:     ${(rssBefore / 1_048_576).toFixed(0)} MiB`,
      `peak RSS during:    ${(peakRss / 1_048_576).toFixed(0)} MiB`,
    ];
    log(lines.join('\n'));
    return [
      {
        name: 'payout run, pain.001 streamed',
        conditions: `${SELLERS} daily sellers with available balances, one pain.001.001.09 file, fsync=on synchronous_commit=on`,
        throughputPerSec: Math.round(report.payoutsCreated / (elapsedMs / 1000)),
        p50Ms: 0,
        p99Ms: 0,
        peakRssMb: Math.round(peakRss / 1_048_576),
        extra: {
          sellers: SELLERS,
          payouts: report.payoutsCreated,
          runSeconds: Number((elapsedMs / 1000).toFixed(1)),
          filePhaseSeconds: Number((filePhaseMs / 1000).toFixed(1)),
          pagesPgCpuSeconds: Number(((pagesCost.cpuMs.postgres ?? 0) / 1000).toFixed(1)),
          filePgCpuSeconds: Number(((fileCost.cpuMs.postgres ?? 0) / 1000).toFixed(1)),
          fileMiB: file ? Number((file.sizeBytes / 1_048_576).toFixed(1)) : 0,
          rssBeforeMb: Math.round(rssBefore / 1_048_576),
          readBackSeconds: Number((downloadMs / 1000).toFixed(1)),
        },
      },
    ];
  } finally {
    clearInterval(sampler);
    await pool.end();
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

runWhenMain(import.meta.url, () => {
  const sellers = argValue('--sellers');
  return run({ quick: process.argv.includes('--quick'), ...(sellers === undefined ? {} : { sellers }) });
});
