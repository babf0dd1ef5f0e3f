import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeOrder } from '../../src/payins/executor.ts';
import { refundTick } from '../../src/refunds/index.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { FakePsp } from '../support/payins-fake-psp.ts';
import { bearer, registerSellers, savedMethodBody, uid } from '../support/payins.ts';

let t: TestApp;
let psp: FakePsp;
let paid: string;

beforeAll(async () => {
  psp = new FakePsp();
  t = await createTestApp({
    routes: (modules) => [modules.sellers.routes, modules.payins.routes, modules.refunds.routes],
    overrides: { psp },
  });
  await registerSellers(t.db.pool, ['rh_one']);
  paid = await order('20.00', true);
});

afterAll(async () => {
  await t.close();
});

async function order(amount: string, execute: boolean): Promise<string> {
  const body = savedMethodBody(['rh_one'], { amount });
  const response = await t.app.inject({
    method: 'POST',
    url: '/v1/payments',
    headers: { ...bearer(t.key), 'idempotency-key': uid('idem') },
    payload: body,
  });
  expect(response.statusCode).toBe(201);
  const id = `${body.checkout_id}_po0`;
  if (execute) await executeOrder(t.modules.payins.runtime, id);
  return id;
}

function post(payload: unknown, options: { key?: string | null; auth?: string; url?: string } = {}) {
  const key = options.key === undefined ? uid('rk') : options.key;
  return t.app.inject({
    method: 'POST',
    url: options.url ?? '/v1/refunds',
    headers: {
      ...(options.auth === '' ? {} : bearer(options.auth ?? t.key)),
      ...(key === null ? {} : { 'idempotency-key': key }),
    },
    payload: payload as Record<string, unknown>,
  });
}

function code(response: { json(): unknown }): string {
  return (response.json() as { error: { code: string } }).error.code;
}

describe('POST /v1/refunds', () => {
  it('refuses without an API key (401), without payments:write (403) and without an Idempotency-Key (400)', async () => {
    expect((await post({ payment_order_id: paid }, { auth: '' })).statusCode).toBe(401);
    const readOnly = await t.keyWith(['payments:read']);
    const scoped = await post({ payment_order_id: paid }, { auth: readOnly });
    expect(scoped.statusCode).toBe(403);
    expect(code(scoped)).toBe('insufficient_scope');
    const keyless = await post({ payment_order_id: paid }, { key: null });
    expect(keyless.statusCode).toBe(400);
    expect(code(keyless)).toBe('idempotency_key_missing');
  });

  it('answers 404 for an unknown order, 422 payment_not_refundable for an order not in SUCCESS', async () => {
    const unknown = await post({ payment_order_id: 'no_such_order' });
    expect(unknown.statusCode).toBe(404);
    const notPaid = await post({ payment_order_id: await order('5.00', false) });
    expect(notPaid.statusCode).toBe(422);
    expect(code(notPaid)).toBe('payment_not_refundable');
  });

  it('refuses a wrong currency, a wrong precision, a zero and unknown fields with the money codes', async () => {
    const currency = await post({ payment_order_id: paid, amount: '1.00', currency: 'EUR' });
    expect([currency.statusCode, code(currency)]).toEqual([400, 'currency_mismatch']);
    const precise = await post({ payment_order_id: paid, amount: '1.001' });
    expect([precise.statusCode, code(precise)]).toEqual([400, 'amount_too_precise']);
    const zero = await post({ payment_order_id: paid, amount: '0.00' });
    expect(code(zero)).toBe('amount_zero');
    const extra = await post({ payment_order_id: paid, amount: '1.00', card: 'x' });
    expect(code(extra)).toBe('validation_failed');
  });

  it('refuses more than what is left (refund_exceeds_remaining), counting pending refunds', async () => {
    const first = await post({ payment_order_id: paid, amount: '15.00' });
    expect(first.statusCode).toBe(201);
    const beyond = await post({ payment_order_id: paid, amount: '5.01' });
    expect([beyond.statusCode, code(beyond)]).toEqual([422, 'refund_exceeds_remaining']);
  });

  it('replays the same key and body, and refuses the same key with another body', async () => {
    const o = await order('9.00', true);
    const key = uid('rk');
    const a = await post({ payment_order_id: o, amount: '1.00' }, { key });
    const b = await post({ payment_order_id: o, amount: '1.00' }, { key });
    expect(b.statusCode).toBe(201);
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect(b.json()).toEqual(a.json());
    const c = await post({ payment_order_id: o, amount: '2.00' }, { key });
    expect([c.statusCode, code(c)]).toEqual([422, 'idempotency_key_reused']);
  });
});

describe('reading refunds', () => {
  it('GET /v1/refunds/{id} with history; 404 refund_not_found; 403 without payments:read', async () => {
    const o = await order('3.00', true);
    const made = (await post({ payment_order_id: o })).json() as { id: string };
    await refundTick(t.modules.refunds.runtime);
    const got = await t.app.inject({ method: 'GET', url: `/v1/refunds/${made.id}`, headers: bearer(t.key) });
    expect(got.json()).toMatchObject({
      id: made.id,
      status: 'succeeded',
      amount: '3.00',
      source: 'api',
      status_history: [{ to: 'pending' }, { from: 'pending', to: 'succeeded' }],
    });
    // Outgoing events, recorded in the transactions of the changes (recordEvent).
    const events = await t.db.pool.query<{ topic: string }>(
      `SELECT type AS topic FROM events.events WHERE data -> 'object' ->> 'id' = $1 ORDER BY seq`,
      [made.id],
    );
    expect(events.rows.map((row) => row.topic)).toEqual(['refund.created', 'refund.succeeded']);
    const missing = await t.app.inject({ method: 'GET', url: '/v1/refunds/rf_0000', headers: bearer(t.key) });
    expect([missing.statusCode, code(missing)]).toEqual([404, 'refund_not_found']);
    const writeOnly = await t.keyWith(['payments:write']);
    const forbidden = await t.app.inject({
      method: 'GET',
      url: `/v1/refunds/${made.id}`,
      headers: bearer(writeOnly),
    });
    expect(forbidden.statusCode).toBe(403);
  });

  it('GET /v1/refunds filters and pages newest first; GET /v1/payments/{id}/refunds lists an order’s', async () => {
    const o = await order('6.00', true);
    const ids: string[] = [];
    for (const amount of ['1.00', '2.00', '3.00'])
      ids.push(((await post({ payment_order_id: o, amount })).json() as { id: string }).id);
    const page1 = await t.app.inject({
      method: 'GET',
      url: `/v1/refunds?payment_order_id=${o}&limit=2`,
      headers: bearer(t.key),
    });
    const body1 = page1.json() as { data: Array<{ id: string }>; has_more: boolean };
    expect(body1.data.map((r) => r.id)).toEqual([ids[2], ids[1]]);
    expect(body1.has_more).toBe(true);
    const page2 = await t.app.inject({
      method: 'GET',
      url: `/v1/refunds?payment_order_id=${o}&limit=2&starting_after=${ids[1]}`,
      headers: bearer(t.key),
    });
    expect((page2.json() as { data: Array<{ id: string }> }).data.map((r) => r.id)).toEqual([ids[0]]);
    const pending = await t.app.inject({
      method: 'GET',
      url: `/v1/refunds?seller_account=rh_one&status=canceled`,
      headers: bearer(t.key),
    });
    expect((pending.json() as { data: unknown[] }).data).toEqual([]);
    const future = await t.app.inject({
      method: 'GET',
      url: `/v1/refunds?payment_order_id=${o}&created[gte]=2999-01-01T00:00:00Z`,
      headers: bearer(t.key),
    });
    expect((future.json() as { data: unknown[] }).data).toEqual([]);
    const ofOrder = await t.app.inject({
      method: 'GET',
      url: `/v1/payments/${o}/refunds`,
      headers: bearer(t.key),
    });
    expect((ofOrder.json() as { data: unknown[] }).data).toHaveLength(3);
    const none = await t.app.inject({
      method: 'GET',
      url: `/v1/payments/nope/refunds`,
      headers: bearer(t.key),
    });
    expect(none.statusCode).toBe(404);
  });
});

describe('POST /v1/checkouts/{id}/refunds', () => {
  it('404 for an unknown checkout; an amount needs exactly one listed order', async () => {
    const unknown = await post({}, { url: '/v1/checkouts/nope/refunds' });
    expect(unknown.statusCode).toBe(404);
    const withAmount = await post({ amount: '1.00' }, { url: '/v1/checkouts/nope/refunds' });
    expect(code(withAmount)).toBe('validation_failed');
  });
});

describe('seller refund policy', () => {
  it('GET/PUT /v1/sellers/{id}/refund-policy: overrides over the platform-wide policy', async () => {
    const put = await t.app.inject({
      method: 'PUT',
      url: '/v1/sellers/rh_one/refund-policy',
      headers: bearer(t.key),
      payload: { platform_fee: 'proportional', psp_fee: 'seller' },
    });
    expect(put.json()).toMatchObject({ platform_fee: 'proportional', psp_fee: 'seller' });
    const reset = await t.app.inject({
      method: 'PUT',
      url: '/v1/sellers/rh_one/refund-policy',
      headers: bearer(t.key),
      payload: {},
    });
    expect(reset.json()).toMatchObject({
      platform_fee: 'keep',
      psp_fee: 'platform',
      overrides: { platform_fee: null, psp_fee: null },
    });
  });
});
