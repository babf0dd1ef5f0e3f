/**
 * Ledger benchmark: journal entries per second (two postings each) through the ledger's real code paths.
 *
 *   npx tsx bench/ledger/run.ts [--phase-ms 3000] [--load-postings 3000000]
 *
 * It starts its own embedded PostgreSQL in a temporary directory with durability "full" (fsync on,
 * synchronous_commit on, full_page_writes on: every COMMIT waits for its WAL flush, as in production), applies
 * the migrations, and measures, at 1, 8 and 32 concurrent posters:
 *   - over many accounts (each entry moves money between two of 10,000 accounts) and over one hot pair;
 *   - (a) one entry per transaction (postEntry in withTransaction) and (b) the group-commit LedgerWriter;
 * then bulk-loads a few million postings into the same accounts (set-based SQL that keeps every chain and cached
 * balance valid, proven by verifyLedger afterwards, which is timed too) and measures the many-accounts case again,
 * to show that the cost of an entry does not grow with the size of the ledger.
 * Not part of `npm test`; `npm run bench` aggregates `runLedgerBench`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { createPool, type Pool } from '../../src/db/pool.ts';
import { withTransaction } from '../../src/db/tx.ts';
import { createLogger } from '../../src/log.ts';
import {
  LedgerWriter,
  postEntry,
  verifyLedger,
  type AccountSpec,
  type EntryInput,
} from '../../src/ledger/index.ts';
import { measureTpcb, type TpcbResult } from '../lib/pgbench.ts';
import type { BenchOptions, BenchRow } from '../lib/types.ts';
import { migrateAsOwner, superuserPool } from '../lib/migrate.ts';

export type { BenchRow } from '../lib/types.ts';

export interface LedgerBenchOptions {
  /** How long each measured phase runs. */
  phaseMs?: number;
  /** Postings to bulk-load before the "large ledger" phases (0 skips them). */
  loadPostings?: number;
  concurrencies?: number[];
  /** Where to put the temporary cluster (a fresh directory under it). */
  tmpDir?: string;
  log?: (line: string) => void;
  /** Seconds of pgbench TPC-B on the same server as the rows' reference (0 skips it). */
  referenceSeconds?: number;
}

const MANY_ACCOUNTS = 10_000;
const CURRENCY = 'USD';
const manyAccount = (i: number): AccountSpec => ({
  code: `bench:acct:${i}`,
  type: 'asset',
  currency: CURRENCY,
});
const hotA: AccountSpec = { code: 'bench:hot:a', type: 'asset', currency: CURRENCY };
const hotB: AccountSpec = { code: 'bench:hot:b', type: 'asset', currency: CURRENCY };

type Pattern = 'many' | 'hot';
type Mode = 'per-transaction' | 'group-commit';

let referenceCounter = 0;

function nextEntry(pattern: Pattern): EntryInput {
  referenceCounter += 1;
  let from = hotA;
  let to = hotB;
  if (pattern === 'many') {
    const i = Math.floor(Math.random() * MANY_ACCOUNTS);
    let j = Math.floor(Math.random() * (MANY_ACCOUNTS - 1));
    if (j >= i) j += 1;
    from = manyAccount(i);
    to = manyAccount(j);
  } else if (referenceCounter % 2 === 0) {
    from = hotB;
    to = hotA;
  }
  const amountMinor = BigInt(1 + Math.floor(Math.random() * 10_000));
  return {
    reference: `bench:${process.pid}:${referenceCounter}`,
    kind: 'bench.transfer',
    description: 'benchmark transfer',
    postings: [
      { account: from, direction: 'credit', amountMinor },
      { account: to, direction: 'debit', amountMinor },
    ],
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? 0;
}

async function ledgerBytes(pool: Pool): Promise<{ bytes: bigint; postings: bigint }> {
  const result = await pool.query<{ bytes: bigint; postings: bigint }>(
    `SELECT (pg_total_relation_size('ledger.postings') + pg_total_relation_size('ledger.entries')
             + pg_total_relation_size('ledger.accounts'))::bigint AS bytes,
            (SELECT count(*) FROM ledger.postings) AS postings`,
  );
  return result.rows[0] ?? { bytes: 0n, postings: 0n };
}

async function phase(
  pool: Pool,
  mode: Mode,
  pattern: Pattern,
  concurrency: number,
  phaseMs: number,
  label: string,
): Promise<BenchRow> {
  const writer = mode === 'group-commit' ? new LedgerWriter(pool, { maxBatch: 1000 }) : undefined;
  const before = await ledgerBytes(pool);
  const latencies: number[] = [];
  let peakRss = process.memoryUsage().rss;
  const rssTimer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 100);
  const started = performance.now();
  const deadline = started + phaseMs;
  const poster = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const input = nextEntry(pattern);
      const t0 = performance.now();
      if (writer !== undefined) await writer.post(input);
      else await withTransaction(pool, (client) => postEntry(client, input));
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => poster()));
  const elapsedMs = performance.now() - started;
  await writer?.close();
  clearInterval(rssTimer);
  const after = await ledgerBytes(pool);
  latencies.sort((a, b) => a - b);
  const postings = after.postings - before.postings;
  const stats = writer?.stats();
  return {
    name: `ledger ${mode} ${pattern === 'many' ? 'many accounts' : 'hot pair'} x${concurrency}${label}`,
    conditions:
      `${concurrency} concurrent posters, 2-posting entries, ` +
      `${pattern === 'many' ? `${MANY_ACCOUNTS} accounts` : 'one hot pair of accounts'}, ` +
      `${mode === 'group-commit' ? 'LedgerWriter group commit' : 'one entry per transaction'}, ` +
      `embedded PostgreSQL fsync=on synchronous_commit=on, ${os.cpus().length} cores${label}`,
    throughputPerSec: Math.round((latencies.length / elapsedMs) * 1000),
    p50Ms: Number(percentile(latencies, 50).toFixed(2)),
    p99Ms: Number(percentile(latencies, 99).toFixed(2)),
    peakRssMb: Math.round(peakRss / 1024 / 1024),
    extra: {
      entries: latencies.length,
      bytesPerPosting: postings > 0n ? Number((after.bytes - before.bytes) / postings) : 0,
      ledgerPostings: Number(after.postings),
      ...(stats === undefined
        ? {}
        : { batches: stats.batches, avgBatch: Math.round(stats.entries / Math.max(1, stats.batches)) }),
    },
  };
}

/**
 * Loads `postings` postings (two per entry) between the many-accounts set, set-based, in chunks. Triggers are
 * switched off for the load (session_replication_role = replica; loaded as the embedded cluster's superuser);
 * the SQL computes chain numbers, balances-after and account totals itself, and verifyLedger checks the result.
 */
async function bulkLoad(pool: Pool, postings: number, log: (line: string) => void): Promise<number> {
  const client = await pool.connect();
  const started = performance.now();
  try {
    await client.query('SET session_replication_role = replica');
    await client.query("SET work_mem = '256MB'");
    const chunkEntries = 250_000;
    let remaining = Math.floor(postings / 2);
    while (remaining > 0) {
      const n = Math.min(chunkEntries, remaining);
      remaining -= n;
      await client.query('BEGIN');
      await client.query(
        `CREATE TEMP TABLE bulk ON COMMIT DROP AS
         SELECT nextval('ledger.entries_id_seq') AS entry_id,
                (SELECT id FROM ledger.accounts WHERE code = 'bench:acct:' || (g % ${MANY_ACCOUNTS})) AS from_id,
                (SELECT id FROM ledger.accounts WHERE code = 'bench:acct:' || ((g * 7919 + 13) % ${MANY_ACCOUNTS})) AS to_id,
                1 + (random() * 9999)::bigint AS amount
           FROM generate_series(1, $1::int) g`,
        [n],
      );
      await client.query(
        `INSERT INTO ledger.entries (id, reference, kind, description, effective_at)
         SELECT entry_id, 'bulk:' || entry_id, 'bench.bulk', 'bulk load', now() FROM bulk`,
      );
      await client.query(
        `CREATE TEMP TABLE bulk_p ON COMMIT DROP AS
         SELECT entry_id, 0 AS line, from_id AS account_id, true AS is_credit, amount FROM bulk
         UNION ALL
         SELECT entry_id, 1, to_id, false, amount FROM bulk`,
      );
      await client.query(
        `INSERT INTO ledger.postings (account_id, seq, entry_id, line, is_credit, amount_minor, currency, balance_after, posted_at)
         SELECT p.account_id, a.version + row_number() OVER w, p.entry_id, p.line, p.is_credit, p.amount, a.currency,
                (a.debits_minor - a.credits_minor)
                  + sum(CASE WHEN p.is_credit THEN -p.amount ELSE p.amount END) OVER w,
                greatest(now(), a.updated_at)
           FROM bulk_p p JOIN ledger.accounts a ON a.id = p.account_id
         WINDOW w AS (PARTITION BY p.account_id ORDER BY p.entry_id, p.line ROWS UNBOUNDED PRECEDING)`,
      );
      await client.query(
        `UPDATE ledger.accounts a
            SET debits_minor = a.debits_minor + s.dr, credits_minor = a.credits_minor + s.cr,
                version = a.version + s.n, updated_at = greatest(now(), a.updated_at)
           FROM (SELECT account_id,
                        coalesce(sum(amount) FILTER (WHERE NOT is_credit), 0) AS dr,
                        coalesce(sum(amount) FILTER (WHERE is_credit), 0) AS cr,
                        count(*) AS n
                   FROM bulk_p GROUP BY account_id) s
          WHERE a.id = s.account_id`,
      );
      await client.query('COMMIT');
      log(`  loaded ${Math.floor(postings / 2) - remaining} entries`);
    }
    await client.query('SET session_replication_role = DEFAULT');
    await client.query('VACUUM ANALYZE ledger.accounts, ledger.entries, ledger.postings');
  } finally {
    client.release();
  }
  return performance.now() - started;
}

export async function runLedgerBench(options: LedgerBenchOptions = {}): Promise<BenchRow[]> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const phaseMs = options.phaseMs ?? 3_000;
  const loadPostings = options.loadPostings ?? 3_000_000;
  const concurrencies = options.concurrencies ?? [1, 8, 32];
  const dataDir = fs.mkdtempSync(path.join(options.tmpDir ?? os.tmpdir(), 'bursar-ledger-bench-'));
  const server = await startEmbeddedPostgres({ dataDir, log: createLogger('warn'), durability: 'full' });
  const pool = createPool(server.url, { max: 40, applicationName: 'bursar-bench' });
  const rows: BenchRow[] = [];
  try {
    await migrateAsOwner(server.ownerUrl);
    // Create the accounts up front so every phase measures posting, not account creation.
    await withTransaction(pool, async (client) => {
      for (let i = 0; i < MANY_ACCOUNTS; i += 1000) {
        const specs = Array.from({ length: Math.min(1000, MANY_ACCOUNTS - i) }, (_, k) => manyAccount(i + k));
        await client.query(
          `INSERT INTO ledger.accounts (code, type, currency) SELECT code, 'asset', $2 FROM unnest($1::text[]) AS code`,
          [specs.map((s) => s.code), CURRENCY],
        );
      }
      await client.query(
        `INSERT INTO ledger.accounts (code, type, currency) VALUES ($1, 'asset', $3), ($2, 'asset', $3)`,
        [hotA.code, hotB.code, CURRENCY],
      );
    });
    const settings = await pool.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'server_version')`,
    );
    log(`PostgreSQL: ${settings.rows.map((r) => `${r.name}=${r.setting}`).join(', ')}`);
    const referenceSeconds = options.referenceSeconds ?? 10;
    const tpcb: TpcbResult =
      referenceSeconds > 0
        ? await measureTpcb(server.urlFor('postgres'), { clients: 10, seconds: referenceSeconds, log })
        : { ok: false, reason: 'reference skipped' };
    const withReference = (row: BenchRow): BenchRow =>
      tpcb.ok
        ? { ...row, reference: { name: `pgbench TPC-B (${tpcb.clients} clients)`, perSec: tpcb.tps } }
        : { ...row, referenceMissing: tpcb.reason };

    for (const mode of ['per-transaction', 'group-commit'] as Mode[]) {
      for (const pattern of ['many', 'hot'] as Pattern[]) {
        for (const concurrency of concurrencies) {
          const row = withReference(await phase(pool, mode, pattern, concurrency, phaseMs, ''));
          log(formatRow(row));
          rows.push(row);
        }
      }
    }

    if (loadPostings > 0) {
      log(`bulk-loading ${loadPostings} postings…`);
      const loader = superuserPool(server);
      const loadMs = await bulkLoad(loader, loadPostings, log).finally(() => loader.end());
      const report = await verifyLedger(pool);
      const size = await ledgerBytes(pool);
      const verifyRow: BenchRow = {
        name: 'ledger verify',
        conditions: `verifyLedger over ${report.postings} postings, ${report.entries} entries, ${report.accounts} accounts`,
        throughputPerSec: Math.round(Number(report.postings) / Math.max(0.001, report.durationMs / 1000)),
        p50Ms: report.durationMs,
        p99Ms: report.durationMs,
        peakRssMb: Math.round(process.memoryUsage().rss / 1024 / 1024),
        extra: {
          ok: report.ok ? 'yes' : 'NO',
          loadSeconds: Math.round(loadMs / 1000),
          ledgerMb: Number(size.bytes / 1024n / 1024n),
          bytesPerPostingOverall: size.postings > 0n ? Number(size.bytes / size.postings) : 0,
        },
      };
      log(formatRow(verifyRow));
      rows.push(verifyRow);
      if (!report.ok)
        throw new Error(
          `the bulk load left an inconsistent ledger: ${JSON.stringify(report.failures.slice(0, 3))}`,
        );
      for (const mode of ['per-transaction', 'group-commit'] as Mode[]) {
        for (const concurrency of [concurrencies[concurrencies.length - 1] ?? 32]) {
          const row = withReference(
            await phase(pool, mode, 'many', concurrency, phaseMs, `, after loading ${loadPostings} postings`),
          );
          log(formatRow(row));
          rows.push(row);
        }
      }
    }
  } finally {
    await pool.end().catch(() => undefined);
    await server.stop().catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return rows;
}

/** The entry point `npm run bench` (bench/run.ts) calls. */
export async function run(options: BenchOptions = {}): Promise<BenchRow[]> {
  return await runLedgerBench({
    ...(options.quick ? { phaseMs: 1_000, loadPostings: 200_000, referenceSeconds: 3 } : {}),
    ...(options.tmpDir === undefined ? {} : { tmpDir: options.tmpDir }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
}

function formatRow(row: BenchRow): string {
  const extra = Object.entries(row.extra ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  return `${row.name.padEnd(72)} ${String(row.throughputPerSec).padStart(7)}/s  p50 ${row.p50Ms
    .toFixed(2)
    .padStart(8)} ms  p99 ${row.p99Ms.toFixed(2).padStart(8)} ms  rss ${row.peakRssMb} MB  ${extra}`;
}

export function formatTable(rows: BenchRow[]): string {
  const header = `${'benchmark'.padEnd(72)} ${'entries'.padStart(9)}  ${'p50'.padStart(11)}  ${'p99'.padStart(11)}`;
  return [header, ...rows.map(formatRow)].join('\n');
}

function argValue(name: string): number | undefined {
  const index = process.argv.indexOf(name);
  const value = index >= 0 ? process.argv[index + 1] : undefined;
  return value === undefined ? undefined : Number.parseInt(value, 10);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const phaseMs = argValue('--phase-ms');
  const loadPostings = argValue('--load-postings');
  runLedgerBench({
    ...(phaseMs === undefined ? {} : { phaseMs }),
    ...(loadPostings === undefined ? {} : { loadPostings }),
  })
    .then((rows) => {
      process.stdout.write(`\n${formatTable(rows)}\n`);
    })
    .catch((error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    });
}
