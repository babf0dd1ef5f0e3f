import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/db/pool.ts';
import { bearer, createTestApp, type TestApp } from '../support/app.ts';
import { registerSellers } from '../support/payins.ts';

/**
 * Every list route (docs/api.md "Lists"): each filter, cursors in both directions that stay stable while rows are
 * inserted, limits, and refusals. Rows are written directly with chosen creation times, so the order is known.
 */

let t: TestApp;
const T0 = Date.parse('2026-03-01T00:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

interface OrderSpec {
  id: string;
  seller: string;
  status?: 'NOT_STARTED' | 'EXECUTING' | 'PENDING' | 'SUCCESS' | 'FAILED';
  currency?: string;
}

async function checkout(
  pool: Pool,
  id: string,
  buyer: string,
  minute: number,
  orders: OrderSpec[],
): Promise<void> {
  const currency = orders[0]?.currency ?? 'USD';
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO payins.payment_event (checkout_id, api_key_id, buyer_info, seller_info, credit_card_info, flow,
         currency, total_minor, created_at)
       VALUES ($1, 'k', $2, '{}', '{"payment_method":"pm_x"}', 'saved_method', $3, $4, $5)`,
      [id, JSON.stringify({ id: buyer }), currency, 100 * orders.length, at(minute)],
    );
    for (const [position, order] of orders.entries()) {
      await client.query(
        `INSERT INTO payins.payment_order (payment_order_id, checkout_id, position, buyer_account, seller_account,
           amount_minor, currency, created_at)
         VALUES ($1, $2, $3, $4, $5, 100, $6, $7)`,
        [order.id, id, position, buyer, order.seller, order.currency ?? 'USD', at(minute)],
      );
    }
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  for (const order of orders) {
    if (order.status === 'SUCCESS') {
      await pool.query(
        `UPDATE payins.payment_order SET payment_order_status = 'SUCCESS', fee_minor = 0, ledger_updated = true,
           wallet_updated = true WHERE payment_order_id = $1`,
        [order.id],
      );
    } else if (order.status !== undefined && order.status !== 'NOT_STARTED') {
      await pool.query(
        'UPDATE payins.payment_order SET payment_order_status = $2 WHERE payment_order_id = $1',
        [order.id, order.status],
      );
    }
  }
}

async function get(url: string, key = t.key) {
  return t.app.inject({ method: 'GET', url, headers: bearer(key) });
}

interface ListBody {
  object: string;
  data: Array<Record<string, unknown>>;
  has_more: boolean;
}

async function ids(url: string, idField: string): Promise<string[]> {
  const res = await get(url);
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json<ListBody>();
  expect(body.object).toBe('list');
  return body.data.map((row) => String(row[idField]));
}

/** Walks a list forwards with `limit`, then back from the end with ending_before; both give the same order. */
async function walk(url: string, idField: string, limit: number): Promise<string[]> {
  const sep = url.includes('?') ? '&' : '?';
  const forward: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const res = await get(
      `${url}${sep}limit=${limit}${cursor === undefined ? '' : `&starting_after=${cursor}`}`,
    );
    const body = res.json<ListBody>();
    forward.push(...body.data.map((row) => String(row[idField])));
    if (!body.has_more) break;
    cursor = forward.at(-1);
  }
  const backward: string[] = [];
  let before = forward.at(-1);
  if (before !== undefined) backward.push(before);
  for (;;) {
    if (before === undefined) break;
    const res = await get(`${url}${sep}limit=${limit}&ending_before=${before}`);
    const body = res.json<ListBody>();
    backward.unshift(...body.data.map((row) => String(row[idField])));
    if (!body.has_more) break;
    before = backward[0];
  }
  expect(backward).toEqual(forward);
  return forward;
}

beforeAll(async () => {
  t = await createTestApp();
  const pool = t.db.pool;
  await registerSellers(pool, ['s_a', 's_b', 's_c']);
  await checkout(pool, 'co_1', 'buyer_x', 1, [{ id: 'po_1', seller: 's_a', status: 'SUCCESS' }]);
  await checkout(pool, 'co_2', 'buyer_x', 2, [
    { id: 'po_2a', seller: 's_a', status: 'FAILED' },
    { id: 'po_2b', seller: 's_b', status: 'SUCCESS' },
  ]);
  await checkout(pool, 'co_3', 'buyer_y', 3, [
    { id: 'po_3', seller: 's_b', status: 'PENDING', currency: 'EUR' },
  ]);
  await checkout(pool, 'co_4', 'buyer_y', 4, [{ id: 'po_4', seller: 's_c', status: 'FAILED' }]);
  await checkout(pool, 'co_5', 'buyer_z', 5, [{ id: 'po_5', seller: 's_c' }]);
});

afterAll(async () => {
  await t.close();
});

describe('GET /v1/payments', () => {
  it('lists payment orders newest first in the list shape', async () => {
    expect(await ids('/v1/payments', 'payment_order_id')).toEqual([
      'po_5',
      'po_4',
      'po_3',
      'po_2b',
      'po_2a',
      'po_1',
    ]);
  });

  it('filters by buyer_id, seller_account, checkout_id, status and currency', async () => {
    expect(await ids('/v1/payments?buyer_id=buyer_x', 'payment_order_id')).toEqual([
      'po_2b',
      'po_2a',
      'po_1',
    ]);
    expect(await ids('/v1/payments?seller_account=s_b', 'payment_order_id')).toEqual(['po_3', 'po_2b']);
    expect(await ids('/v1/payments?checkout_id=co_2', 'payment_order_id')).toEqual(['po_2b', 'po_2a']);
    expect(await ids('/v1/payments?status=FAILED', 'payment_order_id')).toEqual(['po_4', 'po_2a']);
    expect(await ids('/v1/payments?currency=EUR', 'payment_order_id')).toEqual(['po_3']);
    expect(await ids('/v1/payments?seller_account=s_a&status=SUCCESS', 'payment_order_id')).toEqual(['po_1']);
  });

  it('filters by created[gte] and created[lt], as ISO 8601 or Unix seconds', async () => {
    const gte = encodeURIComponent(at(3).toISOString());
    expect(await ids(`/v1/payments?created[gte]=${gte}`, 'payment_order_id')).toEqual([
      'po_5',
      'po_4',
      'po_3',
    ]);
    const lt = Math.floor(at(2).getTime() / 1000);
    expect(await ids(`/v1/payments?created%5Blt%5D=${lt}`, 'payment_order_id')).toEqual(['po_1']);
    expect(
      await ids(
        `/v1/payments?created[gte]=${at(2).toISOString()}&created[lt]=${at(4).toISOString()}`,
        'payment_order_id',
      ),
    ).toEqual(['po_3', 'po_2b', 'po_2a']);
  });

  it('pages forwards and backwards with every limit and gives the same order', async () => {
    const all = await ids('/v1/payments?limit=100', 'payment_order_id');
    for (const limit of [1, 2, 4]) expect(await walk('/v1/payments', 'payment_order_id', limit)).toEqual(all);
    expect(await walk('/v1/payments?seller_account=s_a', 'payment_order_id', 1)).toEqual(['po_2a', 'po_1']);
  });

  it('keeps a cursor stable while newer and older rows are inserted', async () => {
    const first = await get('/v1/payments?limit=2');
    const page1 = first.json<ListBody>().data.map((row) => row.payment_order_id);
    expect(first.json<ListBody>().has_more).toBe(true);
    const page2Before = await ids(
      `/v1/payments?limit=2&starting_after=${String(page1[1])}`,
      'payment_order_id',
    );
    await checkout(t.db.pool, 'co_new', 'buyer_x', 60, [{ id: 'po_new', seller: 's_a' }]);
    const page2After = await ids(
      `/v1/payments?limit=2&starting_after=${String(page1[1])}`,
      'payment_order_id',
    );
    expect(page2After).toEqual(page2Before);
    const newer = await ids(`/v1/payments?ending_before=${String(page1[0])}`, 'payment_order_id');
    expect(newer).toEqual(['po_new']);
  });
});

describe('GET /v1/checkouts', () => {
  it('lists checkouts with their orders, filtered by buyer, derived status and creation time', async () => {
    expect(await ids('/v1/checkouts?buyer_id=buyer_y', 'checkout_id')).toEqual(['co_4', 'co_3']);
    expect(await ids('/v1/checkouts?status=succeeded', 'checkout_id')).toEqual(['co_1']);
    expect(await ids('/v1/checkouts?status=partially_succeeded', 'checkout_id')).toEqual(['co_2']);
    expect(await ids('/v1/checkouts?status=failed', 'checkout_id')).toEqual(['co_4']);
    expect(await ids('/v1/checkouts?status=processing&buyer_id=buyer_z', 'checkout_id')).toEqual(['co_5']);
    expect(await ids(`/v1/checkouts?created[lt]=${at(2).toISOString()}`, 'checkout_id')).toEqual(['co_1']);
    const res = await get('/v1/checkouts?checkout_id_is_no_filter=1');
    expect(res.statusCode).toBe(400);
    const body = (
      await get(`/v1/checkouts?buyer_id=buyer_x&limit=1&created[lt]=${at(10).toISOString()}`)
    ).json<ListBody>();
    expect(body.data[0]).toMatchObject({ checkout_id: 'co_2', status: 'partially_succeeded' });
    expect((body.data[0]?.payment_orders as unknown[]).length).toBe(2);
  });

  it('keeps the stored status equal to the one derived from the orders as orders change', async () => {
    await t.db.pool.query(
      `UPDATE payins.payment_order SET payment_order_status = 'SUCCESS', fee_minor = 0, ledger_updated = true,
         wallet_updated = true WHERE payment_order_id = 'po_5'`,
    );
    expect(await ids('/v1/checkouts?status=succeeded', 'checkout_id')).toEqual(['co_5', 'co_1']);
    const one = (await get('/v1/checkouts/co_5')).json<{ status: string }>();
    expect(one.status).toBe('succeeded');
  });
});

describe('list refusals', () => {
  it('refuses limits outside 1–100, unknown filters and values, bad timestamps and unknown cursors', async () => {
    for (const url of ['/v1/payments?limit=0', '/v1/payments?limit=101', '/v1/payments?limit=ten']) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json<{ error: { code: string } }>().error.code).toBe('validation_failed');
    }
    const unknownKey = await get('/v1/payments?colour=red');
    expect(unknownKey.statusCode).toBe(400);
    const unknownStatus = await get('/v1/payments?status=DONE');
    expect(unknownStatus.statusCode).toBe(400);
    expect(unknownStatus.json<{ error: { field: string } }>().error.field).toBe('status');
    for (const bad of ['yesterday', '2026-13-01T00:00:00Z', '2026-03-01T00:00:00', '-5']) {
      const res = await get(`/v1/payments?created[gte]=${encodeURIComponent(bad)}`);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json<{ error: { code: string; field: string } }>().error).toMatchObject({
        code: 'timestamp_invalid',
        field: 'created[gte]',
      });
    }
    const cursor = await get('/v1/payments?starting_after=po_nope');
    expect(cursor.json<{ error: { code: string } }>().error.code).toBe('cursor_not_found');
    const both = await get('/v1/payments?starting_after=po_1&ending_before=po_3');
    expect(both.statusCode).toBe(400);
  });

  it('asks for a key with the read scope (401 without, 403 with the wrong scope)', async () => {
    const none = await t.app.inject({ method: 'GET', url: '/v1/payments' });
    expect(none.statusCode).toBe(401);
    const opsOnly = await t.keyWith(['ops']);
    for (const url of ['/v1/payments', '/v1/checkouts', '/v1/sellers', '/v1/payouts']) {
      expect((await get(url, opsOnly)).statusCode, url).toBe(403);
    }
    const readOnly = await t.keyWith(['payments:read']);
    expect((await get('/v1/reconciliation/runs', readOnly)).statusCode).toBe(403);
  });
});

describe('GET /v1/sellers', () => {
  it('filters by status and flagged, newest first', async () => {
    const pool = t.db.pool;
    await pool.query(`UPDATE sellers.sellers SET created_at = $2 WHERE seller_account = $1`, ['s_a', at(1)]);
    await pool.query(`UPDATE sellers.sellers SET created_at = $2 WHERE seller_account = $1`, ['s_b', at(2)]);
    await pool.query(`UPDATE sellers.sellers SET created_at = $2 WHERE seller_account = $1`, ['s_c', at(3)]);
    await pool.query(`UPDATE sellers.sellers SET status = 'inactive' WHERE seller_account = 's_b'`);
    await pool.query(
      `INSERT INTO sellers.payout_settings (seller_account, needs_bank_details, needs_bank_details_reason)
       VALUES ('s_c', true, 'closed account')`,
    );
    expect(await ids('/v1/sellers', 'seller_account')).toEqual(['s_c', 's_b', 's_a']);
    expect(await ids('/v1/sellers?status=inactive', 'seller_account')).toEqual(['s_b']);
    expect(await ids('/v1/sellers?status=active', 'seller_account')).toEqual(['s_c', 's_a']);
    expect(await ids('/v1/sellers?flagged=true', 'seller_account')).toEqual(['s_c']);
    expect(await ids('/v1/sellers?flagged=false', 'seller_account')).toEqual(['s_b', 's_a']);
    expect(await ids('/v1/sellers?flagged=false&status=active', 'seller_account')).toEqual(['s_a']);
    expect(await walk('/v1/sellers', 'seller_account', 1)).toEqual(['s_c', 's_b', 's_a']);
    const flagged = (await get('/v1/sellers?limit=1')).json<ListBody>().data[0];
    expect(flagged).toMatchObject({ seller_account: 's_c', flagged: true, status: 'active' });
    expect((await get('/v1/sellers?flagged=yes')).statusCode).toBe(400);
    expect((await get('/v1/sellers?status=deleted')).statusCode).toBe(400);
    await pool.query(`UPDATE sellers.sellers SET status = 'active' WHERE seller_account = 's_b'`);
  });
});

describe('GET /v1/payouts', () => {
  it('filters by seller_account, status and run_date', async () => {
    const rows: Array<[string, string, string, string | null, number]> = [
      ['po_p1', 's_a', 'paid', '2026-03-01', 1],
      ['po_p2', 's_b', 'paid', '2026-03-01', 2],
      ['po_p3', 's_a', 'pending', '2026-03-02', 3],
      ['po_p4', 's_b', 'returned', null, 4],
    ];
    for (const [id, seller, status, runDate, minute] of rows) {
      await t.db.pool.query(
        `INSERT INTO payouts.payouts (id, seller_account, currency, amount_minor, status, source, run_date, provider,
           destination, ledger_entry_id, created_at)
         VALUES ($1, $2, 'USD', 100, $3, $4, $5::date, 'sandbox',
           '{"kind":"sepa","iban":"DE89370400440532013000","bic":"COBADEFFXXX","holderName":null}', 'je_1', $6)`,
        [id, seller, status, runDate === null ? 'manual' : 'scheduled', runDate, at(minute)],
      );
    }
    expect(await ids('/v1/payouts', 'id')).toEqual(['po_p4', 'po_p3', 'po_p2', 'po_p1']);
    expect(await ids('/v1/payouts?seller_account=s_a', 'id')).toEqual(['po_p3', 'po_p1']);
    expect(await ids('/v1/payouts?status=paid', 'id')).toEqual(['po_p2', 'po_p1']);
    expect(await ids('/v1/payouts?run_date=2026-03-01', 'id')).toEqual(['po_p2', 'po_p1']);
    expect(await ids('/v1/payouts?run_date=2026-03-01&seller_account=s_b', 'id')).toEqual(['po_p2']);
    expect(await walk('/v1/payouts', 'id', 3)).toEqual(['po_p4', 'po_p3', 'po_p2', 'po_p1']);
    for (const bad of ['run_date=2026-02-30', 'run_date=March', 'status=lost']) {
      expect((await get(`/v1/payouts?${bad}`)).statusCode, bad).toBe(400);
    }
  });
});

describe('GET /v1/reconciliation/runs', () => {
  it('lists runs newest first by start, with cursors', async () => {
    for (const [id, minute] of [
      ['rrun_a', 1],
      ['rrun_b', 2],
      ['rrun_c', 3],
    ] as const) {
      await t.db.pool.query(
        `INSERT INTO recon.runs (id, kind, trigger, status, started_at) VALUES ($1, 'internal', 'test', 'succeeded', $2)`,
        [id, at(minute)],
      );
    }
    expect(await ids('/v1/reconciliation/runs', 'id')).toEqual(['rrun_c', 'rrun_b', 'rrun_a']);
    expect(await walk('/v1/reconciliation/runs', 'id', 2)).toEqual(['rrun_c', 'rrun_b', 'rrun_a']);
    expect((await get('/v1/reconciliation/runs?kind=psp')).statusCode).toBe(400);
  });
});
