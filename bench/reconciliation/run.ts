/**
 * Reconciliation benchmark: a settlement report of a million lines against a database that matches it.
 *
 *   npx tsx bench/reconciliation/run.ts [--lines 1000000] [--chunk 2000] [--profile]
 *   npx tsx bench/reconciliation/run.ts --lines 10000000     # the linear-growth row: ~30 GB of disk, ~half an hour
 *
 * It starts its own embedded PostgreSQL (durability "full") in a temporary directory, applies the migrations, and
 * bulk-loads the matching records: one SUCCESS payment order per line (saved-method checkouts) and each line's PSP
 * fee already booked in the ledger (set-based SQL that keeps every posting chain valid), so that a clean run files
 * no exception. It writes the report as a CSV file in Stripe's columns, then times the two halves of
 * `bursar reconcile psp --file`: the import (fingerprint, streaming parse, staging in one transaction) and the
 * apply (matching every line in chunks), and prints lines per second and the peak resident memory of this process
 * (the reader and matcher; PostgreSQL's own memory is not counted; its V8 heap and external buffers apart) and the
 * CPU seconds of each phase, this process's and PostgreSQL's (steadier than wall times on a shared machine). Not
 * part of `npm test`. With `--profile` (or
 * `BENCH_PROFILE=1`) it prints the statements of the import and of the apply, counted and timed
 * (bench/lib/profile.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Registry } from 'prom-client';
import { ManualClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { createPool, type Pool } from '../../src/db/pool.ts';
import { withTransaction } from '../../src/db/tx.ts';
import { postEntry, pspFeeCharged } from '../../src/ledger/index.ts';
import { createLogger } from '../../src/log.ts';
import { composeModules } from '../../src/compose.ts';
import { fileInput, importPspReport, runReconciliation } from '../../src/reconciliation/index.ts';
import type { BenchOptions, BenchRow } from '../lib/types.ts';
import { migrateAsOwner, superuserPool } from '../lib/migrate.ts';
import { profilePool, profileWanted } from '../lib/profile.ts';

const FEE_MINOR = 59n;

/** utime + stime (own) and cutime + cstime (reaped children) of a process, in clock ticks; undefined when gone. */
function procTicks(pid: number): { ppid: number; own: number; reaped: number } | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: the fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const num = (index: number): number => Number.parseInt(fields[index] ?? '0', 10);
    return { ppid: num(1), own: num(11) + num(12), reaped: num(13) + num(14) };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds PostgreSQL has used so far: the postmaster, its live children (backends, writers: each leads a
 * process group of its own, so they are found by parent) and those already reaped. On a shared machine a phase's
 * wall time swings with the load; its CPU barely does.
 */
function postgresCpuSeconds(dataDir: string): number {
  let postmaster: number;
  try {
    const text = fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8');
    postmaster = Number.parseInt(text.split('\n')[0] ?? '', 10);
  } catch {
    return Number.NaN;
  }
  const own = procTicks(postmaster);
  if (own === undefined) return Number.NaN;
  let ticks = own.own + own.reaped;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = procTicks(Number.parseInt(entry, 10));
    if (child !== undefined && child.ppid === postmaster) ticks += child.own;
  }
  return ticks / 100; // clock ticks per second (sysconf(_SC_CLK_TCK)) on Linux
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}
const GROSS_MINOR = 1000n;

async function loadMatchingDatabase(pool: Pool, lines: number, log: (line: string) => void): Promise<void> {
  await pool.query(
    `INSERT INTO sellers.sellers (seller_account, name, currency) VALUES ('bench_seller', 'bench', 'USD')`,
  );
  // One real fee entry creates the accounts; the rest are bulk-loaded the way the ledger benchmark does it.
  await withTransaction(pool, (client) =>
    postEntry(
      client,
      pspFeeCharged({ currency: 'USD', feeId: 'bench_seed', feeMinor: FEE_MINOR, reason: 'seed' }),
    ),
  );
  const client = await pool.connect();
  try {
    await client.query('SET session_replication_role = replica');
    await client.query("SET work_mem = '256MB'");
    const chunk = 250_000;
    for (let from = 1; from <= lines; from += chunk) {
      const to = Math.min(lines, from + chunk - 1);
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO payins.payment_event (checkout_id, api_key_id, buyer_info, seller_info, credit_card_info, flow, currency, total_minor, is_payment_done)
         SELECT 'bco_' || g, 'key_bench', '{}', '{}', '{"payment_method":"pm_card_visa"}', 'saved_method', 'USD', $3, true
           FROM generate_series($1::int, $2::int) g`,
        [from, to, GROSS_MINOR],
      );
      await client.query(
        `INSERT INTO payins.payment_order (payment_order_id, checkout_id, position, buyer_account, seller_account, amount_minor,
           currency, fee_minor, payment_order_status, ledger_updated, wallet_updated, psp_payment_id)
         SELECT 'bpo_' || g, 'bco_' || g, 0, 'buyer', 'bench_seller', $3, 'USD', 0, 'SUCCESS', true, true, 'pi_b' || g
           FROM generate_series($1::int, $2::int) g`,
        [from, to, GROSS_MINOR],
      );
      await client.query(
        `CREATE TEMP TABLE bulk ON COMMIT DROP AS
         SELECT nextval('ledger.entries_id_seq') AS entry_id, g FROM generate_series($1::int, $2::int) g`,
        [from, to],
      );
      await client.query(
        `INSERT INTO ledger.entries (id, reference, kind, description, effective_at)
         SELECT entry_id, 'psp_fee:txn_b' || g, 'psp.fee', 'bulk-loaded PSP fee', now() FROM bulk`,
      );
      await client.query(
        `CREATE TEMP TABLE bulk_p ON COMMIT DROP AS
         SELECT b.entry_id, 0 AS line, (SELECT id FROM ledger.accounts WHERE code = 'platform:psp_fees:USD') AS account_id,
                false AS is_credit, $1::bigint AS amount FROM bulk b
         UNION ALL
         SELECT b.entry_id, 1, (SELECT id FROM ledger.accounts WHERE code = 'platform:psp_clearing:USD'), true, $1::bigint FROM bulk b`,
        [FEE_MINOR],
      );
      await client.query(
        `INSERT INTO ledger.postings (account_id, seq, entry_id, line, is_credit, amount_minor, currency, balance_after, posted_at)
         SELECT p.account_id, a.version + row_number() OVER w, p.entry_id, p.line, p.is_credit, p.amount, a.currency,
                (a.debits_minor - a.credits_minor) + sum(CASE WHEN p.is_credit THEN -p.amount ELSE p.amount END) OVER w,
                greatest(now(), a.updated_at)
           FROM bulk_p p JOIN ledger.accounts a ON a.id = p.account_id
         WINDOW w AS (PARTITION BY p.account_id ORDER BY p.entry_id, p.line ROWS UNBOUNDED PRECEDING)`,
      );
      await client.query(
        `UPDATE ledger.accounts a
            SET debits_minor = a.debits_minor + s.dr, credits_minor = a.credits_minor + s.cr,
                version = a.version + s.n, updated_at = greatest(now(), a.updated_at)
           FROM (SELECT account_id, coalesce(sum(amount) FILTER (WHERE NOT is_credit), 0) AS dr,
                        coalesce(sum(amount) FILTER (WHERE is_credit), 0) AS cr, count(*) AS n
                   FROM bulk_p GROUP BY account_id) s
          WHERE a.id = s.account_id`,
      );
      await client.query('COMMIT');
      log(`  loaded ${to} orders and fee entries`);
    }
    await client.query('SET session_replication_role = DEFAULT');
    await client.query(
      'VACUUM ANALYZE payins.payment_order, payins.payment_event, ledger.entries, ledger.postings',
    );
  } finally {
    client.release();
  }
}

async function writeReportFile(file: string, lines: number): Promise<number> {
  const out = fs.createWriteStream(file);
  const write = (text: string): Promise<void> =>
    new Promise((resolve) => {
      if (out.write(text)) resolve();
      else out.once('drain', () => resolve());
    });
  await write(
    'balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id,' +
      'description,payment_intent_id,payment_metadata[checkout_id],payment_metadata[payment_order_id]\n',
  );
  let batch = '';
  for (let i = 1; i <= lines; i++) {
    batch += `txn_b${i},2026-01-02 03:04:05,2026-01-04 00:00:00,usd,10.00,0.59,9.41,charge,ch_b${i},Bench charge,pi_b${i},bco_${i},bpo_${i}\n`;
    if (i % 10_000 === 0) {
      await write(batch);
      batch = '';
    }
  }
  if (batch !== '') await write(batch);
  await new Promise<void>((resolve) => out.end(() => resolve()));
  return fs.statSync(file).size;
}

export async function runReconciliationBench(
  options: {
    lines?: number;
    /** Lines per apply chunk (BURSAR_RECON_CHUNK_SIZE); the module's default when not given. */
    chunk?: number;
    tmpDir?: string;
    log?: (line: string) => void;
    profile?: boolean;
  } = {},
): Promise<BenchRow[]> {
  const lines = options.lines ?? 1_000_000;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dataDir = fs.mkdtempSync(path.join(options.tmpDir ?? os.tmpdir(), 'bursar-recon-bench-'));
  const server = await startEmbeddedPostgres({ dataDir, log: createLogger('warn'), durability: 'full' });
  const pool = createPool(server.url, { max: 4 });
  const profiler = (options.profile ?? profileWanted()) ? profilePool(pool) : undefined;
  try {
    await migrateAsOwner(server.ownerUrl);
    log(`loading ${lines} matching orders and fee entries…`);
    const loader = superuserPool(server);
    await loadMatchingDatabase(loader, lines, log).finally(() => loader.end());
    const file = path.join(dataDir, 'report.csv');
    const bytes = await writeReportFile(file, lines);
    log(`report written: ${lines} lines, ${(bytes / 1e6).toFixed(1)} MB`);

    global.gc?.();
    let peakRss = process.memoryUsage().rss;
    const baselineRss = peakRss;
    // Where resident memory goes: the V8 heap (JS objects) and, apart, buffers outside it (sockets, files).
    let peakHeap = 0;
    let peakExternal = 0;
    const sampler = setInterval(() => {
      const usage = process.memoryUsage();
      peakRss = Math.max(peakRss, usage.rss);
      peakHeap = Math.max(peakHeap, usage.heapTotal);
      peakExternal = Math.max(peakExternal, usage.external);
    }, 50);
    const ctx = {
      config: { ...loadConfig({}), databaseUrl: server.url },
      pool,
      log: createLogger('warn'),
      clock: new ManualClock(new Date()),
      metrics: new Registry(),
    };
    const composed = composeModules(ctx).reconciliation.runtime;
    const rt = options.chunk === undefined ? composed : { ...composed, chunkSize: options.chunk };
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    const pgStarted = postgresCpuSeconds(dataDir);
    profiler?.start();
    const staged = await importPspReport(rt, fileInput(file), { origin: 'file' });
    const importedAt = performance.now();
    const importCpu = cpuSeconds(cpuStarted);
    const importPg = postgresCpuSeconds(dataDir) - pgStarted;
    const cpuImported = process.cpuUsage();
    const pgImported = postgresCpuSeconds(dataDir);
    if (profiler) log(`import ${profiler.report(8)}`);
    profiler?.start();
    const report = await runReconciliation(rt, {
      kind: 'psp',
      trigger: 'bench',
      importIds: [staged.importId],
      internal: false,
    });
    const finished = performance.now();
    const applyCpu = cpuSeconds(cpuImported);
    const applyPg = postgresCpuSeconds(dataDir) - pgImported;
    if (profiler) log(`apply ${profiler.report(15)}`);
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const importS = (importedAt - started) / 1000;
    const applyS = (finished - importedAt) / 1000;
    const totalS = (finished - started) / 1000;
    const exceptions =
      Number(report.auto_fixed) +
      Number((report.queued as { finance: number; investigation: number }).finance) +
      Number((report.queued as { finance: number; investigation: number }).investigation);
    if (report.matched !== lines || exceptions !== 0) {
      throw new Error(`the clean run did not match cleanly: ${JSON.stringify(report)}`);
    }
    const mb = (value: number): number => Math.round(value / 1024 / 1024);
    const row: BenchRow = {
      name: `reconcile psp report ${lines} lines`,
      conditions: `clean report (${(bytes / 1e6).toFixed(0)} MB CSV) vs ${lines} matching orders and fee entries; durability full; chunk ${rt.chunkSize}`,
      throughputPerSec: Math.round(lines / totalS),
      p50Ms: 0,
      p99Ms: 0,
      peakRssMb: mb(peakRss),
      referenceMissing: 'no comparable reference: file reconciliation is not a TPC-B transaction',
      extra: {
        import_s: importS.toFixed(1),
        import_lines_per_s: Math.round(lines / importS),
        apply_s: applyS.toFixed(1),
        apply_lines_per_s: Math.round(lines / applyS),
        total_s: totalS.toFixed(1),
        baseline_rss_mb: mb(baselineRss),
        import_cpu_s: importCpu.toFixed(1),
        import_pg_cpu_s: importPg.toFixed(1),
        apply_cpu_s: applyCpu.toFixed(1),
        apply_pg_cpu_s: applyPg.toFixed(1),
        peak_heap_total_mb: mb(peakHeap),
        peak_external_mb: mb(peakExternal),
        matched: Number(report.matched),
        exceptions,
      },
    };
    log(
      `CPU: import ${importCpu.toFixed(1)} s here + ${importPg.toFixed(1)} s PostgreSQL, ` +
        `apply ${applyCpu.toFixed(1)} s here + ${applyPg.toFixed(1)} s PostgreSQL`,
    );
    log(
      `${row.name}: ${row.throughputPerSec} lines/s overall (import ${row.extra?.import_lines_per_s}/s in ${importS.toFixed(1)} s, ` +
        `apply ${row.extra?.apply_lines_per_s}/s in ${applyS.toFixed(1)} s); peak RSS ${row.peakRssMb} MB (before: ${mb(baselineRss)} MB; ` +
        `peak V8 heap ${mb(peakHeap)} MB, external ${mb(peakExternal)} MB)`,
    );
    return [row];
  } finally {
    await pool.end().catch(() => undefined);
    await server.stop().catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The entry point `npm run bench` (bench/run.ts) calls. */
export async function run(options: BenchOptions = {}): Promise<BenchRow[]> {
  return await runReconciliationBench({
    lines: options.quick ? 50_000 : 1_000_000,
    ...(options.tmpDir === undefined ? {} : { tmpDir: options.tmpDir }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const flag = (name: string): number | undefined => {
    const index = process.argv.indexOf(name);
    const raw = index >= 0 ? process.argv[index + 1] : undefined;
    return raw === undefined ? undefined : Number.parseInt(raw, 10);
  };
  const lines = flag('--lines');
  const chunk = flag('--chunk');
  runReconciliationBench({
    ...(lines === undefined ? {} : { lines }),
    ...(chunk === undefined ? {} : { chunk }),
  })
    .then((rows) => process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    });
}
