import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordBankCorrection } from '../../src/sellers/index.ts';
import { bearer, createTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
let correctionId = '';
let otherId = '';

beforeAll(async () => {
  t = await createTestApp();
  const created = await t.app.inject({
    method: 'POST',
    url: '/v1/sellers',
    headers: bearer(t.key),
    payload: {
      seller_account: 'us_shop',
      name: 'US Shop',
      currency: 'USD',
      payout: {
        account_number: '12345678',
        routing_number: '021000021',
        account_holder_type: 'individual',
        account_type: 'savings',
      },
    },
  });
  expect(created.statusCode).toBe(201);
  const noc = (code: string, data: string, corrected: Record<string, string>) =>
    recordBankCorrection(t.db.pool, {
      sellerAccount: 'us_shop',
      payoutId: `po_noc${code.toLowerCase()}`,
      changeCode: code,
      correctedData: data,
      corrected,
      source: 'noc.ach#line 4',
    });
  correctionId = (await noc('C01', '87654321', { accountNumber: '87654321' })).id;
  otherId = (await noc('C04', 'US SHOP LLC', { text: 'US SHOP LLC' })).id;
});
afterAll(async () => {
  await t.close();
});

const base = '/v1/sellers/us_shop/bank_corrections';

describe('seller bank corrections (ACH notifications of change)', () => {
  it('shows the ACH holder and account type on the seller (CCD/PPD and transaction code come from them)', async () => {
    const seller = await t.app.inject({ method: 'GET', url: '/v1/sellers/us_shop', headers: bearer(t.key) });
    expect(seller.json()).toMatchObject({
      payout: { bank_account: { account_last4: '5678', holder_type: 'individual', account_type: 'savings' } },
    });
  });

  it('lists open corrections with the corrected account masked, never the whole number', async () => {
    const res = await t.app.inject({ method: 'GET', url: `${base}?status=open`, headers: bearer(t.key) });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ data: Array<Record<string, unknown>> }>();
    expect(body.data).toHaveLength(2);
    expect(body.data[0]).toMatchObject({
      change_code: 'C01',
      corrected: { account_last4: '4321' },
      status: 'open',
    });
    expect(res.body).not.toContain('87654321');
  });

  it('confirming makes the corrected details the seller’s; confirming again is bank_correction_resolved', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: `${base}/${correctionId}/confirm`,
      headers: bearer(t.key),
      payload: { note: 'seller confirmed by phone' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'confirmed', note: 'seller confirmed by phone' });
    const seller = await t.app.inject({ method: 'GET', url: '/v1/sellers/us_shop', headers: bearer(t.key) });
    expect(seller.json()).toMatchObject({
      payout: { bank_account: { account_last4: '4321', account_type: 'savings' } },
    });
    const again = await t.app.inject({
      method: 'POST',
      url: `${base}/${correctionId}/dismiss`,
      headers: bearer(t.key),
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: { code: 'bank_correction_resolved' } });
  });

  it('answers bank_correction_not_found for an id of no correction of this seller', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: `${base}/bc_nosuchthing/dismiss`,
      headers: bearer(t.key),
    });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: { code: 'bank_correction_not_found' } });
  });

  it('refuses requests without an API key, and a read-only key may list but not resolve', async () => {
    expect((await t.app.inject({ method: 'GET', url: base })).statusCode).toBe(401);
    const reader = await t.keyWith(['payments:read']);
    expect((await t.app.inject({ method: 'GET', url: base, headers: bearer(reader) })).statusCode).toBe(200);
    const refused = await t.app.inject({
      method: 'POST',
      url: `${base}/${otherId}/dismiss`,
      headers: bearer(reader),
    });
    expect(refused.statusCode).toBe(403);
    const open = await t.app.inject({ method: 'GET', url: `${base}?status=open`, headers: bearer(t.key) });
    expect(open.json<{ data: unknown[] }>().data).toHaveLength(1);
  });

  it('is described in the OpenAPI document', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<string, unknown>;
    }>();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/sellers/{seller_account}/bank_corrections',
        '/v1/sellers/{seller_account}/bank_corrections/{id}/confirm',
        '/v1/sellers/{seller_account}/bank_corrections/{id}/dismiss',
      ]),
    );
  });
});
