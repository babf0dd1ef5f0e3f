import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

describe('GET /openapi.json', () => {
  it('describes every /v1 route from the schemas that validate it', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as {
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: unknown }>>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of ['/v1/payments', '/v1/sellers', '/v1/payouts', '/v1/reconciliation/exceptions']) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    const body = JSON.stringify(doc.paths['/v1/payments']?.post?.requestBody);
    for (const field of ['checkout_id', 'buyer_info', 'credit_card_info', 'payment_orders'])
      expect(body).toContain(field);
  });
});
