import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

function post(payload: Record<string, unknown>) {
  return t.app.inject({ method: 'POST', url: '/v1/sellers', headers: bearer(t.key), payload });
}

describe('POST /v1/sellers', () => {
  it('registers a seller and answers 201 with it', async () => {
    const res = await post({
      seller_account: 'acme',
      name: 'Acme Tools',
      currency: 'USD',
      metadata: { tier: 'gold' },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      seller_account: 'acme',
      name: 'Acme Tools',
      currency: 'USD',
      metadata: { tier: 'gold' },
    });
  });

  it('answers 200 with the same seller when the same registration is retried', async () => {
    const res = await post({
      seller_account: 'acme',
      name: 'Acme Tools',
      currency: 'USD',
      metadata: { tier: 'gold' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().seller_account).toBe('acme');
  });

  it('refuses the same seller_account with other details with 409 seller_exists', async () => {
    const res = await post({
      seller_account: 'acme',
      name: 'Acme Tools',
      currency: 'EUR',
      metadata: { tier: 'gold' },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('seller_exists');
  });

  it('refuses lowercase and unknown currencies with their own codes, naming the field', async () => {
    const lower = await post({ seller_account: 's2', name: 'S', currency: 'usd' });
    expect(lower.statusCode).toBe(400);
    expect(lower.json().error).toMatchObject({ code: 'currency_not_uppercase', field: 'currency' });
    const unknown = await post({ seller_account: 's2', name: 'S', currency: 'ABC' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error).toMatchObject({ code: 'currency_unknown', field: 'currency' });
  });

  it('refuses missing and unexpected fields with validation_failed naming the field', async () => {
    const missing = await post({ seller_account: 's3', currency: 'USD' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error).toMatchObject({ code: 'validation_failed', field: 'name' });
    const extra = await post({ seller_account: 's3', name: 'S', currency: 'USD', balance: '100.00' });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().error.code).toBe('validation_failed');
  });
});

describe('GET /v1/sellers/{seller_account}/balance', () => {
  it('shows a new seller’s wallet as zero in every bucket, amounts as strings', async () => {
    await post({ seller_account: 'jp_shop', name: 'JP', currency: 'JPY' });
    const res = await t.app.inject({
      method: 'GET',
      url: '/v1/sellers/jp_shop/balance',
      headers: bearer(t.key),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      seller_account: 'jp_shop',
      currency: 'JPY',
      pending: '0',
      available: '0',
      reserved: '0',
      in_transit: '0',
      paid_out: '0',
    });
  });

  it('answers 404 for an unknown seller', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/v1/sellers/ghost/balance',
      headers: bearer(t.key),
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
  });
});
