/**
 * List-page benchmark (not part of `npm test`): `npx tsx bench/lists/run.ts [--orders N] [--quick]`.
 * Starts its own embedded PostgreSQL, bulk-loads checkouts with one payment order each (set-based, as the
 * superuser with triggers off, the way the other benches load), first a tenth of N then all N (default 1,000,000;
 * 20,000 with --quick), and at both sizes times pages of `GET /v1/payments` and `GET /v1/checkouts` through the
 * stores the routes call (listOrders, listCheckouts): for each filter the first page and a deep cursor page (a
 * cursor far down the filtered rows). Keyset pagination over an index per filter: the page's cost should not grow
 * with the table, so the big/small ratio of each row stays near 1.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { createPool, type Pool } from '../../src/db/pool.ts';
import type { PageRequest } from '../../src/http/pagination.ts';
import { createLogger } from '../../src/log.ts';
import { listCheckouts, listOrders, type OrderFilter } from '../../src/payins/index.ts';
import { latencySummary, percentile } from '../lib/stats.ts';
import type { BenchOptions, BenchRow } from '../lib/types.ts';
import { migrateAsOwner, superuserPool } from '../lib/migrate.ts';
import { runWhenMain } from '../lib/standalone.ts';

const SELLERS = 1_000;
const BUYERS = 50_000;
const PAGE = 25;
const T0 = Date.parse('2030-01-01T00:00:00Z');

function argValue(name: string): number | undefined {
  const index = process.argv.indexOf(name);
  const value = index >= 0 ? process.argv[index + 1] : undefined;
  return value === undefined ? undefined : Number.parseInt(value, 10);
}

/** Loads orders `from`..`to` (1-based): checkout i has order i, one a minute apart, statuses and currencies mixed. */
async function load(loader: Pool, from: number, to: number): Promise<void> {
  const client = await loader.connect();
  try {
    await client.query('SET session_replication_role = replica');
    await client.query("SET work_mem = '256MB'");
    for (let start = from; start <= to; start += 250_000) {
      const end = Math.min(to, start + 249_999);
      await client.query('BEGIN');
      await client.query(
        `CREATE TEMP TABLE bulk ON COMMIT DROP AS
         SELECT i, 'co_' || i AS checkout_id, 'ord_' || i AS order_id,
                'buyer_' || (i % ${BUYERS}) AS buyer, 's_' || (i % ${SELLERS}) AS seller,
                CASE WHEN i % 7 = 0 THEN 'EUR' ELSE 'USD' END AS currency,
                CASE WHEN i % 20 = 0 THEN 'FAILED' WHEN i % 50 = 1 THEN 'PENDING' ELSE 'SUCCESS' END AS status,
                $3::timestamptz + make_interval(mins => i) AS created_at
           FROM generate_series($1::int, $2::int) AS i`,
        [start, end, new Date(T0)],
      );
      await client.query(
        `INSERT INTO payins.payment_event (checkout_id, api_key_id, buyer_info, seller_info, credit_card_info, flow,
           currency, total_minor, is_payment_done, status, created_at, updated_at)
         SELECT checkout_id, 'bench', jsonb_build_object('id', buyer), '{}', '{"payment_method":"pm_x"}',
                'saved_method', currency, 1000 + i % 5000, status <> 'PENDING',
                CASE status WHEN 'SUCCESS' THEN 'succeeded' WHEN 'FAILED' THEN 'failed' ELSE 'processing' END,
                created_at, created_at
           FROM bulk`,
      );
      await client.query(
        `INSERT INTO payins.payment_order (payment_order_id, checkout_id, position, buyer_account, seller_account,
           amount_minor, currency, fee_minor, payment_order_status, ledger_updated, wallet_updated, created_at,
           updated_at)
         SELECT order_id, checkout_id, 0, buyer, seller, 1000 + i % 5000, currency,
                CASE WHEN status = 'SUCCESS' THEN 30 END, status, status = 'SUCCESS', status = 'SUCCESS',
                created_at, created_at
           FROM bulk`,
      );
      await client.query('COMMIT');
    }
    await client.query('SET session_replication_role = DEFAULT');
    await client.query('VACUUM ANALYZE payins.payment_event, payins.payment_order');
  } finally {
    client.release();
  }
}

interface Case {
  name: string;
  list: 'payments' | 'checkouts';
  filter: OrderFilter;
  checkoutStatus?: 'failed';
  /** SQL for the deep cursor: the id `depth` rows down the filtered list. */
  deepSql: string;
}

function cases(orders: number): Case[] {
  const deep = (table: string, id: string, where: string) =>
    `SELECT ${id} AS id FROM ${table} WHERE ${where} ORDER BY created_at DESC, ${id} DESC
      OFFSET GREATEST(0, LEAST($1::int, (SELECT count(*) FROM ${table} WHERE ${where}) - ${PAGE + 1})) LIMIT 1`;
  const mid = new Date(T0 + (orders / 2) * 60_000);
  const o = (where: string) => deep('payins.payment_order', 'payment_order_id', where);
  const c = (where: string) => deep('payins.payment_event', 'checkout_id', where);
  return [
    { name: 'payments (no filter)', list: 'payments', filter: { created: {} }, deepSql: o('true') },
    {
      name: 'payments buyer_id',
      list: 'payments',
      filter: { buyerId: 'buyer_7', created: {} },
      deepSql: o("buyer_account = 'buyer_7'"),
    },
    {
      name: 'payments seller_account',
      list: 'payments',
      filter: { sellerAccount: 's_7', created: {} },
      deepSql: o("seller_account = 's_7'"),
    },
    {
      name: 'payments checkout_id',
      list: 'payments',
      filter: { checkoutId: 'co_77', created: {} },
      deepSql: o("checkout_id = 'co_77'"),
    },
    {
      name: 'payments status=FAILED',
      list: 'payments',
      filter: { status: 'FAILED', created: {} },
      deepSql: o("payment_order_status = 'FAILED'"),
    },
    {
      name: 'payments currency=EUR',
      list: 'payments',
      filter: { currency: 'EUR', created: {} },
      deepSql: o("currency = 'EUR'"),
    },
    {
      name: 'payments created[lt]',
      list: 'payments',
      filter: { created: { lt: mid } },
      deepSql: o(`created_at < '${mid.toISOString()}'`),
    },
    { name: 'checkouts (no filter)', list: 'checkouts', filter: { created: {} }, deepSql: c('true') },
    {
      name: 'checkouts buyer_id',
      list: 'checkouts',
      filter: { buyerId: 'buyer_7', created: {} },
      deepSql: c("(buyer_info ->> 'id') = 'buyer_7'"),
    },
    {
      name: 'checkouts status=failed',
      list: 'checkouts',
      filter: { created: {} },
      checkoutStatus: 'failed',
      deepSql: c("status = 'failed'"),
    },
  ];
}

async function page(pool: Pool, kase: Case, request: PageRequest): Promise<number> {
  const started = performance.now();
  if (kase.list === 'payments') await listOrders(pool, kase.filter, request);
  else {
    const filter = {
      buyerId: kase.filter.buyerId,
      status: kase.checkoutStatus,
      created: kase.filter.created,
    };
    await listCheckouts(pool, filter, request);
  }
  return performance.now() - started;
}

/** p50/p95/p99 of `iterations` first pages and deep pages of each case at the current size. */
async function measure(pool: Pool, orders: number, iterations: number) {
  const results = new Map<string, { first: number[]; deep: number[] }>();
  for (const kase of cases(orders)) {
    const cursor = await pool.query<{ id: string }>(kase.deepSql, [Math.floor(orders * 0.9)]);
    const deepId = cursor.rows[0]?.id;
    const first: number[] = [];
    const deep: number[] = [];
    for (let k = 0; k < iterations; k++) {
      first.push(await page(pool, kase, { limit: PAGE }));
      if (deepId !== undefined) deep.push(await page(pool, kase, { limit: PAGE, startingAfter: deepId }));
    }
    results.set(kase.name, { first, deep });
  }
  return results;
}

const p95 = (values: number[]) =>
  Number(
    percentile(
      [...values].sort((a, b) => a - b),
      95,
    ).toFixed(2),
  );

export async function run(options: BenchOptions & { orders?: number } = {}): Promise<BenchRow[]> {
  const ORDERS = options.orders ?? (options.quick ? 20_000 : 1_000_000);
  const iterations = options.quick ? 20 : 100;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dataDir = fs.mkdtempSync(path.join(options.tmpDir ?? os.tmpdir(), 'bursar-lists-bench-'));
  const server = await startEmbeddedPostgres({ dataDir, log: createLogger('warn'), durability: 'full' });
  const pool = createPool(server.url, { max: 4, applicationName: 'bursar-bench' });
  try {
    await migrateAsOwner(server.ownerUrl);
    const loader = superuserPool(server);
    await loader.query(
      `INSERT INTO sellers.sellers (seller_account, name, currency)
       SELECT 's_' || i, 'Seller ' || i, 'USD' FROM generate_series(0, ${SELLERS - 1}) AS i`,
    );
    const small = Math.max(PAGE * 40, Math.floor(ORDERS / 10));
    let started = performance.now();
    await load(loader, 1, small);
    log(`loaded ${small} orders in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const atSmall = await measure(pool, small, iterations);
    started = performance.now();
    await load(loader, small + 1, ORDERS);
    log(`loaded ${ORDERS} orders in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    await loader.end();
    const atBig = await measure(pool, ORDERS, iterations);
    const rows: BenchRow[] = [];
    for (const [name, big] of atBig) {
      const before = atSmall.get(name);
      for (const kind of ['first', 'deep'] as const) {
        if (big[kind].length === 0) continue;
        const summary = latencySummary(big[kind]);
        const smallP50 = latencySummary(before?.[kind] ?? []).p50Ms;
        rows.push({
          name: `list ${name}, ${kind} page`,
          conditions: `${ORDERS} orders (vs ${small}), page of ${PAGE}, ${iterations} pages, store query`,
          throughputPerSec: summary.p50Ms > 0 ? Math.round(1000 / summary.p50Ms) : 0,
          ...summary,
          peakRssMb: Math.round(process.memoryUsage().rss / 1_048_576),
          extra: {
            p95Ms: p95(big[kind]),
            [`p50Ms@${small}`]: smallP50,
            [`p95Ms@${small}`]: p95(before?.[kind] ?? []),
            growth: smallP50 > 0 ? Number((summary.p50Ms / smallP50).toFixed(2)) : 0,
          },
        });
      }
    }
    return rows;
  } finally {
    await pool.end();
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

runWhenMain(import.meta.url, () => {
  const orders = argValue('--orders');
  return run({ quick: process.argv.includes('--quick'), ...(orders === undefined ? {} : { orders }) });
});
