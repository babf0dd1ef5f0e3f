/**
 * Dashboard page-data benchmark (not part of `npm test`): `npx tsx bench/dashboard/run.ts [--orders N] [--quick]`.
 * Starts its own embedded PostgreSQL, bulk-loads N checkouts with one payment order each (default 1,000,000;
 * 20,000 with --quick; set-based, as the superuser with triggers off, like bench/lists), spread evenly over the
 * last DAYS days so the home page's 30-day window holds a realistic share, plus some refunds and disputes. Then it
 * builds the whole app (composition root, every route) and, signed in as a viewer operator with a session cookie,
 * times every GET each dashboard page makes to draw itself, through Fastify's `inject` (routing, session check,
 * validation, serialization; no socket): p50/p95/p99 per route. The issue asks p95 within 300 ms.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../src/clock.ts';
import { composeModules, createContext, routeModules } from '../../src/compose.ts';
import { loadConfig } from '../../src/config.ts';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { createPool, type Pool } from '../../src/db/pool.ts';
import { buildApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';
import { createOperator, loadOperatorsConfig, signIn } from '../../src/operators/index.ts';
import { migrateAsOwner, superuserPool } from '../lib/migrate.ts';
import { latencySummary, percentile } from '../lib/stats.ts';
import type { BenchOptions, BenchRow } from '../lib/types.ts';
import { runWhenMain } from '../lib/standalone.ts';

const SELLERS = 1_000;
const BUYERS = 50_000;
const DAYS = 120;

function argValue(name: string): number | undefined {
  const index = process.argv.indexOf(name);
  const value = index >= 0 ? process.argv[index + 1] : undefined;
  return value === undefined ? undefined : Number.parseInt(value, 10);
}

/** Orders 1..n, the newest now and the oldest DAYS days ago; every 200th refunded in part, every 1000th disputed. */
async function load(loader: Pool, orders: number): Promise<void> {
  const client = await loader.connect();
  const stepMs = Math.floor((DAYS * 86_400_000) / orders);
  const start = new Date(Date.now() - DAYS * 86_400_000);
  try {
    await client.query('SET session_replication_role = replica');
    await client.query("SET work_mem = '256MB'");
    for (let from = 1; from <= orders; from += 250_000) {
      const to = Math.min(orders, from + 249_999);
      await client.query('BEGIN');
      await client.query(
        `CREATE TEMP TABLE bulk ON COMMIT DROP AS
         SELECT i, 'co_' || i AS checkout_id, 'ord_' || i AS order_id,
                'buyer_' || (i % ${BUYERS}) AS buyer, 's_' || (i % ${SELLERS}) AS seller,
                CASE WHEN i % 7 = 0 THEN 'EUR' ELSE 'USD' END AS currency,
                CASE WHEN i % 20 = 0 THEN 'FAILED' WHEN i % 50 = 1 THEN 'PENDING' ELSE 'SUCCESS' END AS status,
                $3::timestamptz + make_interval(secs => i * $4::double precision / 1000) AS created_at
           FROM generate_series($1::int, $2::int) AS i`,
        [from, to, start, stepMs],
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
      await client.query(
        `INSERT INTO refunds.refundable (payment_order_id, currency, captured_minor, refunded_minor)
         SELECT order_id, currency, 1000 + i % 5000, 500 FROM bulk WHERE status = 'SUCCESS' AND i % 200 = 3`,
      );
      await client.query(
        `INSERT INTO refunds.refunds (id, payment_order_id, checkout_id, seller_account, amount_minor, currency, status,
           source, psp_payment_id, psp_refund_id, created_at, updated_at)
         SELECT 'rf_' || i, order_id, checkout_id, seller, 500, currency, 'succeeded', 'api', 'pi_' || i, 're_' || i,
                created_at, created_at
           FROM bulk WHERE status = 'SUCCESS' AND i % 200 = 3`,
      );
      await client.query(
        `INSERT INTO disputes.disputes (id, psp, psp_dispute_id, psp_payment_id, amount_minor, currency, status,
           created_at, updated_at)
         SELECT 'dsp_' || lpad(to_hex(i), 8, '0'), 'stripe', 'dp_' || i, 'pi_' || i, 1000 + i % 5000, currency,
                'needs_response', created_at, created_at
           FROM bulk WHERE status = 'SUCCESS' AND i % 1000 = 7`,
      );
      await client.query('COMMIT');
    }
    await client.query('SET session_replication_role = DEFAULT');
    await client.query(
      'VACUUM ANALYZE payins.payment_event, payins.payment_order, refunds.refunds, refunds.refundable, disputes.disputes',
    );
  } finally {
    client.release();
  }
}

/** Every GET a page makes to draw itself (web/src/pages), with data that exists at any size. */
function pageRoutes(orders: number): Array<{ page: string; url: string }> {
  const order = `ord_${orders - 3}`;
  const today = new Date().toISOString().slice(0, 10);
  const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
  return [
    { page: 'home', url: '/dashboard/api/overview' },
    { page: 'payments', url: '/v1/payments?limit=20' },
    { page: 'payments search', url: '/v1/payments?limit=20&seller_account=s_7&status=SUCCESS' },
    { page: 'payments search', url: `/v1/payments?limit=20&created[gte]=${monthAgo}T00:00:00Z` },
    { page: 'payments search', url: '/v1/payments?limit=20&buyer_id=buyer_7' },
    { page: 'payments search', url: '/v1/payments?limit=20&checkout_id=co_77' },
    { page: 'payment', url: `/v1/payments/${order}` },
    { page: 'payment', url: `/v1/checkouts/co_${orders - 3}` },
    { page: 'payment', url: `/dashboard/api/payments/${order}/timeline` },
    { page: 'payment', url: `/v1/payments/${order}/refunds` },
    { page: 'payment', url: `/v1/disputes?payment_order_id=${order}` },
    { page: 'sellers', url: '/v1/sellers?limit=20' },
    { page: 'seller', url: '/v1/sellers/s_7' },
    { page: 'seller', url: '/v1/sellers/s_7/balance' },
    {
      page: 'seller',
      url: `/v1/sellers/s_7/statement?from=${monthAgo}T00:00:00Z&to=${today}T23:59:59Z&currency=USD`,
    },
    { page: 'seller', url: '/dashboard/api/sellers/s_7/bank_details_history' },
    { page: 'payouts', url: '/v1/payouts?limit=20' },
    { page: 'payouts', url: '/v1/payout-files?limit=20' },
    { page: 'disputes', url: '/v1/disputes?limit=20' },
    { page: 'disputes', url: '/v1/disputes?limit=20&status=needs_response' },
    { page: 'reconciliation', url: '/v1/reconciliation/exceptions?status=open&limit=50' },
    { page: 'reconciliation', url: '/v1/reconciliation/runs?limit=20' },
    { page: 'dead letters', url: '/v1/dead_letters?limit=20' },
    { page: 'audit log', url: '/dashboard/api/audit?limit=20' },
  ];
}

const p95 = (values: number[]) =>
  Number(
    percentile(
      [...values].sort((a, b) => a - b),
      95,
    ).toFixed(2),
  );

async function measure(
  inject: (url: string) => Promise<number>,
  routes: Array<{ page: string; url: string }>,
  iterations: number,
  conditions: string,
): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const route of routes) {
    const status = await inject(route.url);
    if (status !== 200) throw new Error(`GET ${route.url} answered ${status}`);
    const samples: number[] = [];
    for (let k = 0; k < iterations; k++) {
      const started = performance.now();
      await inject(route.url);
      samples.push(performance.now() - started);
    }
    const summary = latencySummary(samples);
    rows.push({
      name: `dashboard ${route.page}: GET ${route.url.split('?')[0]}${route.url.includes('?') ? '?' + route.url.split('?')[1]?.replace(/\d{4}-\d\d-\d\dT[\d:]+Z/g, '…') : ''}`,
      conditions,
      throughputPerSec: summary.p50Ms > 0 ? Math.round(1000 / summary.p50Ms) : 0,
      ...summary,
      peakRssMb: Math.round(process.memoryUsage().rss / 1_048_576),
      extra: { p95Ms: p95(samples), withinP95Target: p95(samples) <= 300 ? 'yes' : 'NO' },
    });
  }
  return rows;
}

export async function run(options: BenchOptions & { orders?: number } = {}): Promise<BenchRow[]> {
  const ORDERS = options.orders ?? (options.quick ? 20_000 : 1_000_000);
  const iterations = options.quick ? 10 : 50;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dataDir = fs.mkdtempSync(path.join(options.tmpDir ?? os.tmpdir(), 'bursar-dashboard-bench-'));
  const server = await startEmbeddedPostgres({ dataDir, log: createLogger('warn'), durability: 'full' });
  const pool = createPool(server.url, { max: 8, applicationName: 'bursar-bench' });
  try {
    await migrateAsOwner(server.ownerUrl);
    const loader = superuserPool(server);
    await loader.query(
      `INSERT INTO sellers.sellers (seller_account, name, currency)
       SELECT 's_' || i, 'Seller ' || i, 'USD' FROM generate_series(0, ${SELLERS - 1}) AS i`,
    );
    const started = performance.now();
    await load(loader, ORDERS);
    await loader.end();
    log(`loaded ${ORDERS} orders in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const ctx = createContext(
      { ...loadConfig({}), databaseUrl: server.url },
      pool,
      createLogger('warn'),
      systemClock,
    );
    const app = await buildApp(ctx, routeModules(composeModules(ctx)));
    await app.ready();
    try {
      const password = 'a long benchmark password';
      await createOperator(pool, { email: 'bench@example.com', role: 'viewer', password, actor: 'bench' });
      const session = await signIn(pool, loadOperatorsConfig(), {
        email: 'bench@example.com',
        password,
        clientIp: '127.0.0.1',
      });
      const cookie = `bursar_session=${session.token}`;
      const inject = async (url: string) =>
        (await app.inject({ method: 'GET', url, headers: { cookie } })).statusCode;
      const conditions = `${ORDERS} orders over ${DAYS} days (+${Math.floor(ORDERS / 200)} refunds, ${Math.floor(ORDERS / 1000)} disputes), viewer session, in-process inject, ${iterations} sequential requests`;
      return await measure(inject, pageRoutes(ORDERS), iterations, conditions);
    } finally {
      await app.close();
    }
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
