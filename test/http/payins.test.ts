import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/db/pool.ts';
import { purgeExpiredIdempotencyKeys } from '../../src/payins/idempotency.ts';
import { buyerActivity } from '../../src/payins/store.ts';
import { createBuiltinRisk } from '../../src/risk/builtin.ts';
import { DEFAULT_RISK_RULES } from '../../src/risk/rules.ts';
import type { TestApp } from '../support/app.ts';
import { createPayinsTestApp } from '../support/payins-app.ts';
import { FakePsp } from '../support/payins-fake-psp.ts';
import { bearer, registerSellers, savedMethodBody, uid } from '../support/payins.ts';

let t: TestApp;
let psp: FakePsp;

beforeAll(async () => {
  psp = new FakePsp();
  const db: { pool?: Pool } = {};
  t = await createPayinsTestApp({
    psp,
    risk: createBuiltinRisk(
      (key, currency, now) => {
        if (db.pool === undefined) throw new Error('the test database is not open yet');
        return buyerActivity(db.pool, key, currency, now);
      },
      { ...DEFAULT_RISK_RULES, blockedCountries: ['KP'], maxCheckoutMinor: { USD: 100_000n } },
      () => new Date(),
    ),
  });
  db.pool = t.db.pool;
  await registerSellers(t.db.pool, ['s_alpha', 's_beta']);
});

afterAll(async () => {
  await t.close();
});

function post(body: unknown, key: string | null = uid('idem'), auth = t.key) {
  return t.app.inject({
    method: 'POST',
    url: '/v1/payments',
    headers: {
      ...bearer(auth),
      'content-type': 'application/json',
      ...(key === null ? {} : { 'idempotency-key': key }),
    },
    payload: JSON.stringify(body),
  });
}

function errorCode(response: { json(): unknown }): string {
  return (response.json() as { error: { code: string } }).error.code;
}

describe('POST /v1/payments validation', () => {
  it('refuses a request without an API key (401) and a key without payments:write (403)', async () => {
    const anonymous = await t.app.inject({
      method: 'POST',
      url: '/v1/payments',
      payload: savedMethodBody(['s_alpha']),
    });
    expect(anonymous.statusCode).toBe(401);
    const readOnly = await t.keyWith(['payments:read']);
    const scoped = await post(savedMethodBody(['s_alpha']), uid('idem'), readOnly);
    expect(scoped.statusCode).toBe(403);
    expect(errorCode(scoped)).toBe('insufficient_scope');
  });

  it('refuses a money-moving POST without an Idempotency-Key with 400 idempotency_key_missing', async () => {
    const response = await post(savedMethodBody(['s_alpha']), null);
    expect(response.statusCode).toBe(400);
    expect(errorCode(response)).toBe('idempotency_key_missing');
  });

  it('refuses an Idempotency-Key with spaces or over 255 characters', async () => {
    expect(errorCode(await post(savedMethodBody(['s_alpha']), 'has space'))).toBe('idempotency_key_invalid');
    expect(errorCode(await post(savedMethodBody(['s_alpha']), 'k'.repeat(256)))).toBe(
      'idempotency_key_invalid',
    );
  });

  it('refuses card numbers anywhere in the body with card_data_not_accepted', async () => {
    const body = savedMethodBody(['s_alpha'], { buyer: { id: 'b', note: 'card 4242 4242 4242 4242' } });
    const response = await post(body);
    expect(response.statusCode).toBe(400);
    expect(errorCode(response)).toBe('card_data_not_accepted');
    const compact = await post({
      ...savedMethodBody(['s_alpha']),
      credit_card_info: { payment_method: '4000056655665556' },
    });
    expect(errorCode(compact)).toBe('card_data_not_accepted');
  });

  const invalid: Array<[string, (body: Record<string, unknown>) => Record<string, unknown>, string, string]> =
    [
      [
        'checkout_id with a space',
        (b) => ({ ...b, checkout_id: 'bad id' }),
        'validation_failed',
        'checkout_id',
      ],
      [
        'checkout_id of 65 characters',
        (b) => ({ ...b, checkout_id: 'c'.repeat(65) }),
        'validation_failed',
        'checkout_id',
      ],
      ['missing checkout_id', ({ checkout_id: _omit, ...rest }) => rest, 'validation_failed', 'checkout_id'],
      [
        'buyer_info over 4 KiB',
        (b) => ({ ...b, buyer_info: { id: 'b', pad: 'x'.repeat(4100) } }),
        'validation_failed',
        'buyer_info',
      ],
      ['buyer_info not an object', (b) => ({ ...b, buyer_info: 'buyer' }), 'validation_failed', 'buyer_info'],
      [
        'credit_card_info with card fields',
        (b) => ({ ...b, credit_card_info: { number: 'x', cvc: '123' } }),
        'validation_failed',
        'credit_card_info',
      ],
      [
        'hosted flow without a return_url',
        (b) => ({ ...b, credit_card_info: { flow: 'hosted_page' } }),
        'validation_failed',
        'credit_card_info',
      ],
      ['an unknown top-level field', (b) => ({ ...b, extra: 1 }), 'validation_failed', 'body'],
      ['no payment orders', (b) => ({ ...b, payment_orders: [] }), 'validation_failed', 'payment_orders'],
      [
        '101 payment orders',
        (b) => ({
          ...b,
          payment_orders: Array.from({ length: 101 }, (_, i) => ({
            payment_order_id: `p${i}`,
            seller_account: 's_alpha',
            amount: '1.00',
            currency: 'USD',
          })),
        }),
        'validation_failed',
        'payment_orders',
      ],
      [
        'an amount as a number',
        (b) => withOrder(b, { amount: 12.34 }),
        'amount_not_string',
        'payment_orders.0.amount',
      ],
      [
        'an amount with three decimals in USD',
        (b) => withOrder(b, { amount: '1.234' }),
        'amount_too_precise',
        'payment_orders.0.amount',
      ],
      ['a zero amount', (b) => withOrder(b, { amount: '0' }), 'amount_zero', 'payment_orders.0.amount'],
      [
        'a negative amount',
        (b) => withOrder(b, { amount: '-1.00' }),
        'amount_negative',
        'payment_orders.0.amount',
      ],
      [
        'an unknown currency',
        (b) => withOrder(b, { currency: 'XYZ' }),
        'currency_unknown',
        'payment_orders.0.currency',
      ],
      [
        'a bad payment_order_id',
        (b) => withOrder(b, { payment_order_id: 'a/b' }),
        'validation_failed',
        'payment_orders.0.payment_order_id',
      ],
    ];

  for (const [name, change, code, field] of invalid) {
    it(`refuses ${name} with ${code} naming ${field}`, async () => {
      const response = await post(change(savedMethodBody(['s_alpha'])));
      expect(response.statusCode).toBe(400);
      const error = (response.json() as { error: { code: string; field?: string; message: string } }).error;
      expect(error.code).toBe(code);
      expect(`${error.field ?? ''} ${error.message}`).toContain(field === 'body' ? '' : field);
    });
  }

  it('refuses two currencies in one checkout with currency_mismatch', async () => {
    const body = savedMethodBody(['s_alpha', 's_beta']);
    const orders = body.payment_orders as Array<Record<string, unknown>>;
    orders[1] = { ...orders[1], currency: 'EUR', amount: '1.00' };
    const response = await post(body);
    expect(response.statusCode).toBe(400);
    expect(errorCode(response)).toBe('currency_mismatch');
  });

  it('refuses the same payment_order_id twice in one checkout', async () => {
    const body = savedMethodBody(['s_alpha', 's_beta']);
    const orders = body.payment_orders as Array<Record<string, unknown>>;
    orders[1] = { ...orders[1], payment_order_id: orders[0]?.payment_order_id };
    const response = await post(body);
    expect(response.statusCode).toBe(400);
    expect((response.json() as { error: { field: string } }).error.field).toBe(
      'payment_orders.1.payment_order_id',
    );
  });

  it('refuses an order for a seller that is not registered with 422 seller_unknown', async () => {
    const response = await post(savedMethodBody(['s_alpha', 'nobody']));
    expect(response.statusCode).toBe(422);
    expect((response.json() as { error: { code: string; field: string } }).error).toMatchObject({
      code: 'seller_unknown',
      field: 'payment_orders.1.seller_account',
    });
  });
});

describe('POST /v1/payments idempotency', () => {
  it('answers 201 with the checkout, its orders, amounts, currency, sellers and statuses', async () => {
    const body = savedMethodBody(['s_alpha', 's_beta'], { amount: '10.05' });
    const response = await post(body);
    expect(response.statusCode).toBe(201);
    const json = response.json() as Record<string, unknown>;
    expect(json).toMatchObject({
      checkout_id: body.checkout_id,
      status: 'processing',
      amount: '20.10',
      currency: 'USD',
    });
    expect(json.payment_orders).toEqual([
      expect.objectContaining({
        payment_order_id: `${String(body.checkout_id)}_po0`,
        seller_account: 's_alpha',
        amount: '10.05',
        currency: 'USD',
        status: 'NOT_STARTED',
      }),
      expect.objectContaining({
        payment_order_id: `${String(body.checkout_id)}_po1`,
        seller_account: 's_beta',
        amount: '10.05',
        currency: 'USD',
        status: 'NOT_STARTED',
      }),
    ]);
  });

  it('replays the original status and body with Idempotent-Replayed: true for the same key and body', async () => {
    const key = uid('idem');
    const body = savedMethodBody(['s_alpha']);
    const first = await post(body, key);
    const again = await post(body, key);
    expect(again.statusCode).toBe(first.statusCode);
    expect(again.json()).toEqual(first.json());
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    // Key order in the JSON does not make a different request.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    expect((await post(reordered, key)).headers['idempotent-replayed']).toBe('true');
  });

  it('refuses the same key with a different body with 422 idempotency_key_reused', async () => {
    const key = uid('idem');
    const body = savedMethodBody(['s_alpha']);
    expect((await post(body, key)).statusCode).toBe(201);
    const changed = await post({ ...body, buyer_info: { id: 'someone-else' } }, key);
    expect(changed.statusCode).toBe(422);
    expect(errorCode(changed)).toBe('idempotency_key_reused');
  });

  it('answers 409 naming the existing checkout for a new key with a used checkout_id', async () => {
    const body = savedMethodBody(['s_alpha']);
    expect((await post(body)).statusCode).toBe(201);
    const orders = body.payment_orders as Array<Record<string, unknown>>;
    const again = await post({
      ...body,
      payment_orders: orders.map((o) => ({ ...o, payment_order_id: uid('po') })),
    });
    expect(again.statusCode).toBe(409);
    expect(errorCode(again)).toBe('checkout_exists');
    expect((again.json() as { error: { message: string } }).error.message).toContain(
      String(body.checkout_id),
    );
  });

  it('answers 409 naming the existing payment order for a new key with a used payment_order_id', async () => {
    const body = savedMethodBody(['s_alpha']);
    expect((await post(body)).statusCode).toBe(201);
    const orders = body.payment_orders as Array<Record<string, unknown>>;
    const again = await post({ ...body, checkout_id: uid('co') });
    expect(again.statusCode).toBe(409);
    expect(errorCode(again)).toBe('payment_order_exists');
    expect((again.json() as { error: { message: string } }).error.message).toContain(
      String(orders[0]?.payment_order_id),
    );
  });

  it('scopes keys to the API key: another API key with the same Idempotency-Key is a new request', async () => {
    const key = uid('idem');
    const body = savedMethodBody(['s_alpha']);
    expect((await post(body, key)).statusCode).toBe(201);
    const other = await t.keyWith(['payments:write', 'payments:read']);
    const response = await post(body, key, other);
    expect(response.statusCode).toBe(409);
    expect(response.headers['idempotent-replayed']).toBeUndefined();
  });

  it('purges keys past their expiry, after which the key is free again', async () => {
    const key = uid('idem');
    const body = savedMethodBody(['s_alpha']);
    expect((await post(body, key)).statusCode).toBe(201);
    await t.db.pool.query(
      `UPDATE idempotency.keys SET created_at = now() - interval '2 seconds', expires_at = now() - interval '1 second' WHERE idempotency_key = $1`,
      [key],
    );
    expect(await purgeExpiredIdempotencyKeys(t.db.pool)).toBeGreaterThanOrEqual(1);
    const rows = await t.db.pool.query('SELECT 1 FROM idempotency.keys WHERE idempotency_key = $1', [key]);
    expect(rows.rowCount).toBe(0);
    // A different request under the purged key is now simply new (and meets the existing checkout).
    expect(errorCode(await post(body, key))).toBe('checkout_exists');
  });

  it('keeps keys 24 hours by default', async () => {
    const key = uid('idem');
    expect((await post(savedMethodBody(['s_alpha']), key)).statusCode).toBe(201);
    const row = await t.db.pool.query<{ hours: string }>(
      `SELECT round(extract(epoch FROM expires_at - created_at) / 3600)::text AS hours FROM idempotency.keys WHERE idempotency_key = $1`,
      [key],
    );
    expect(row.rows[0]?.hours).toBe('24');
  });
});

describe('GET /v1/payments/:id and /v1/checkouts/:id', () => {
  it('returns one order with its status history, and the whole checkout', async () => {
    const body = savedMethodBody(['s_alpha']);
    await post(body);
    const orderId = `${String(body.checkout_id)}_po0`;
    const order = await t.app.inject({
      method: 'GET',
      url: `/v1/payments/${orderId}`,
      headers: bearer(t.key),
    });
    expect(order.statusCode).toBe(200);
    expect(order.json()).toMatchObject({
      payment_order_id: orderId,
      status: 'NOT_STARTED',
      status_history: [{ from: null, to: 'NOT_STARTED', why: 'created' }],
    });
    const checkout = await t.app.inject({
      method: 'GET',
      url: `/v1/checkouts/${String(body.checkout_id)}`,
      headers: bearer(t.key),
    });
    expect(checkout.statusCode).toBe(200);
    expect(checkout.json()).toMatchObject({
      checkout_id: body.checkout_id,
      payment_orders: [{ payment_order_id: orderId }],
    });
  });

  it('answers 404 for unknown ids and 403 without payments:read', async () => {
    expect(
      (await t.app.inject({ method: 'GET', url: '/v1/payments/nope', headers: bearer(t.key) })).statusCode,
    ).toBe(404);
    expect(
      (await t.app.inject({ method: 'GET', url: '/v1/checkouts/nope', headers: bearer(t.key) })).statusCode,
    ).toBe(404);
    const writeOnly = await t.keyWith(['payments:write']);
    expect(
      (await t.app.inject({ method: 'GET', url: '/v1/payments/nope', headers: bearer(writeOnly) }))
        .statusCode,
    ).toBe(403);
  });
});

describe('risk check on POST /v1/payments', () => {
  it('fails every order of a rejected checkout with risk_rejected, stores the decision, and calls no PSP', async () => {
    const before = psp.chargeCalls + psp.sessions.size;
    const body = savedMethodBody(['s_alpha', 's_beta'], { buyer: { id: 'b2', country: 'KP' } });
    const response = await post(body);
    expect(response.statusCode).toBe(201);
    const json = response.json() as {
      status: string;
      is_payment_done: boolean;
      risk: unknown;
      payment_orders: Array<{ status: string; status_reason: string }>;
    };
    expect(json.status).toBe('failed');
    expect(json.is_payment_done).toBe(true);
    expect(json.risk).toEqual({ decision: 'reject', reasons: ['country_blocked'] });
    expect(json.payment_orders.map((o) => [o.status, o.status_reason])).toEqual([
      ['FAILED', 'risk_rejected'],
      ['FAILED', 'risk_rejected'],
    ]);
    const stored = await t.db.pool.query(
      'SELECT decision, reasons FROM payins.risk_decisions WHERE checkout_id = $1',
      [body.checkout_id],
    );
    expect(stored.rows).toEqual([{ decision: 'reject', reasons: ['country_blocked'] }]);
    const queued = await t.db.pool.query(
      `SELECT 1 FROM payins.payment_order WHERE checkout_id = $1 AND execute_at IS NOT NULL`,
      [body.checkout_id],
    );
    expect(queued.rowCount).toBe(0);
    expect(psp.chargeCalls + psp.sessions.size).toBe(before);
  });

  it('rejects a checkout above the configured maximum', async () => {
    const response = await post(savedMethodBody(['s_alpha'], { amount: '1000.01' }));
    expect((response.json() as { risk: unknown }).risk).toEqual({
      decision: 'reject',
      reasons: ['max_checkout_amount'],
    });
  });

  it('queues every order of an approved checkout for the executor, in the statement that creates them', async () => {
    const body = savedMethodBody(['s_alpha', 's_beta']);
    await post(body);
    const orders = await t.db.pool.query<{ queued: boolean }>(
      `SELECT o.execute_at = c.created_at AS queued FROM payins.payment_order o
         JOIN payins.payment_event c USING (checkout_id) WHERE o.checkout_id = $1 ORDER BY o.position`,
      [body.checkout_id],
    );
    expect(orders.rows).toEqual([{ queued: true }, { queued: true }]);
  });
});

function withOrder(body: Record<string, unknown>, change: Record<string, unknown>): Record<string, unknown> {
  const orders = body.payment_orders as Array<Record<string, unknown>>;
  return { ...body, payment_orders: [{ ...orders[0], ...change }, ...orders.slice(1)] };
}
