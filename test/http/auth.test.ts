import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeKey } from '../../src/apikeys/store.ts';
import { bearer, createTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

describe('API keys on /v1 routes', () => {
  it('refuses a request without a key with 401 and the error shape', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/sellers/nobody' });
    expect(res.statusCode).toBe(401);
    const body = res.json();
    expect(body.error.code).toBe('unauthenticated');
    expect(body.error.request_id).toBe(res.headers['request-id']);
    expect(typeof body.error.message).toBe('string');
  });

  it('refuses a malformed Authorization header with 401', async () => {
    for (const authorization of ['Basic abc', 'Bearer', 'Bearer  two spaces', `Bearer ${'x'.repeat(300)}`]) {
      const res = await t.app.inject({
        method: 'GET',
        url: '/v1/sellers/nobody',
        headers: { authorization },
      });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('unauthenticated');
    }
  });

  it('refuses an unknown key with 401', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/v1/sellers/nobody',
      headers: bearer('bsk_not_a_real_key'),
    });
    expect(res.statusCode).toBe(401);
  });

  it('refuses a revoked key with 401', async () => {
    const key = await t.keyWith(['payments:read']);
    const ok = await t.app.inject({ method: 'GET', url: '/v1/sellers/nobody', headers: bearer(key) });
    expect(ok.statusCode).toBe(404);
    const rows = await t.db.pool.query<{ id: string }>(
      "SELECT id FROM core.api_keys WHERE name = 'test-scoped'",
    );
    for (const row of rows.rows) await revokeKey(t.db.pool, row.id);
    const res = await t.app.inject({ method: 'GET', url: '/v1/sellers/nobody', headers: bearer(key) });
    expect(res.statusCode).toBe(401);
  });

  it('refuses a key without the route’s scope with 403 naming the scope', async () => {
    const key = await t.keyWith(['payments:read']);
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/sellers',
      headers: bearer(key),
      payload: { seller_account: 's1', name: 'Seller', currency: 'USD' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('insufficient_scope');
    expect(res.json().error.message).toContain('payments:write');
  });

  it('guards /metrics with the ops scope', async () => {
    const readOnly = await t.keyWith(['payments:read']);
    expect((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    expect(
      (await t.app.inject({ method: 'GET', url: '/metrics', headers: bearer(readOnly) })).statusCode,
    ).toBe(403);
    const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: bearer(t.key) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
  });
});

describe('errors and request ids', () => {
  it('answers an unknown route with 404 not_found in the error shape', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/nope', headers: bearer(t.key) });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
  });

  it('puts a request id on every response and keeps a sane caller-given one', async () => {
    const mine = await t.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'trace-12345678' },
    });
    expect(mine.headers['request-id']).toBe('trace-12345678');
    const ours = await t.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'bad id!' },
    });
    expect(String(ours.headers['request-id'])).toMatch(/^req_[0-9a-f]{24}$/);
  });

  it('refuses invalid JSON with invalid_json and a non-JSON body with unsupported_media_type', async () => {
    const bad = await t.app.inject({
      method: 'POST',
      url: '/v1/sellers',
      headers: { ...bearer(t.key), 'content-type': 'application/json' },
      payload: '{"seller_account":',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('invalid_json');
    const text = await t.app.inject({
      method: 'POST',
      url: '/v1/sellers',
      headers: { ...bearer(t.key), 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(text.statusCode).toBe(415);
    expect(text.json().error.code).toBe('unsupported_media_type');
  });

  it('refuses a body holding a card number with card_data_not_accepted, before anything stores it', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/sellers',
      headers: bearer(t.key),
      payload: { seller_account: 's_card', name: 'Card 4242424242424242', currency: 'USD' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('card_data_not_accepted');
    const stored = await t.db.pool.query("SELECT 1 FROM sellers.sellers WHERE seller_account = 's_card'");
    expect(stored.rowCount).toBe(0);
  });

  it('names the field in a validation error', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/sellers',
      headers: bearer(t.key),
      payload: { seller_account: 'bad id!', name: 'x', currency: 'USD' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_failed');
    expect(res.json().error.field).toBe('seller_account');
    expect(res.json().error.message).toContain('seller_account');
  });
});
