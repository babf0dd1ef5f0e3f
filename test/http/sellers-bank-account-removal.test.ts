import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseDueHolds } from '../../src/payouts/index.ts';
import { listBankDetailsAudit } from '../../src/sellers/index.ts';
import { bookPayin } from '../support/debt.ts';
import { bearer, createTestApp, type TestApp } from '../support/app.ts';

/** `DELETE /v1/sellers/{seller_account}/bank_accounts/{currency}` (docs/payouts.md "Removing a currency's account"). */

let t: TestApp;

beforeAll(async () => {
  t = await createTestApp();
});

afterAll(async () => {
  await t.close();
});

type Body = { error?: { code: string; field?: string; message: string } } & Record<string, unknown>;

async function send(
  method: 'POST' | 'PATCH' | 'GET' | 'DELETE',
  url: string,
  options: { payload?: unknown; key?: string | null; headers?: Record<string, string> } = {},
) {
  const key = options.key === undefined ? t.key : options.key;
  const response = await t.app.inject({
    method,
    url,
    headers: { ...(key === null ? {} : bearer(key)), ...options.headers },
    ...(options.payload === undefined ? {} : { payload: options.payload as Record<string, unknown> }),
  });
  return { status: response.statusCode, body: response.json() as Body };
}

const GBP = { currency: 'GBP', iban: 'GB82 WEST 1234 5698 7654 32', bic: 'WESTGB2L', minimum_amount: '5.00' };
const USD = { currency: 'USD', account_number: '12345678', routing_number: '021000021' };

async function register(id: string): Promise<void> {
  const created = await send('POST', '/v1/sellers', {
    payload: {
      seller_account: id,
      name: id,
      currency: 'EUR',
      payout: { iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', bank_accounts: [GBP, USD] },
    },
  });
  expect(created.status).toBe(201);
}

const currencies = async (id: string) =>
  (
    (await send('GET', `/v1/sellers/${id}`)).body.payout as { bank_accounts: Array<{ currency: string }> }
  ).bank_accounts.map((a) => a.currency);

describe('DELETE /v1/sellers/{seller_account}/bank_accounts/{currency}', () => {
  it('removes that currency’s account, keeps the others, and audits it with the currency and the API key', async () => {
    await register('rm_http');
    const removed = await send('DELETE', '/v1/sellers/rm_http/bank_accounts/GBP');
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({
      object: 'bank_account',
      seller_account: 'rm_http',
      currency: 'GBP',
      deleted: true,
    });
    expect(await currencies('rm_http')).toEqual(['EUR', 'USD']);
    const audit = (await listBankDetailsAudit(t.ctx.pool, 'rm_http')).at(-1);
    expect(audit).toMatchObject({
      currency: 'GBP',
      after: null,
      before: { iban_last4: '5432', bic: 'WESTGB2L' },
    });
    expect(audit?.apiKeyId).toMatch(/\S/);
    // Gone is gone: again is 404 with its own code; adding it back is an ordinary PATCH.
    const again = await send('DELETE', '/v1/sellers/rm_http/bank_accounts/GBP');
    expect(again.status).toBe(404);
    expect(again.body.error).toMatchObject({ code: 'bank_account_not_found', field: 'currency' });
    const back = await send('PATCH', '/v1/sellers/rm_http', {
      payload: { payout: { bank_accounts: [GBP] } },
    });
    expect(back.status).toBe(200);
    expect(await currencies('rm_http')).toEqual(['EUR', 'GBP', 'USD']);
  });

  it('refuses the seller’s own currency (422 bank_account_is_default), an unknown seller (404), and a malformed currency (400)', async () => {
    const own = await send('DELETE', '/v1/sellers/rm_http/bank_accounts/EUR');
    expect(own.status).toBe(422);
    expect(own.body.error).toMatchObject({ code: 'bank_account_is_default', field: 'currency' });
    expect(own.body.error?.message).toContain('PATCH');
    expect(await currencies('rm_http')).toContain('EUR');
    const nobody = await send('DELETE', '/v1/sellers/rm_nobody/bank_accounts/GBP');
    expect(nobody.status).toBe(404);
    expect(nobody.body.error?.code).toBe('not_found');
    for (const [currency, code] of [
      ['gbp', 'currency_not_uppercase'],
      ['XXY', 'currency_unknown'],
      ['GBPX', 'validation_failed'],
      ['G1P', 'validation_failed'],
    ]) {
      const bad = await send('DELETE', `/v1/sellers/rm_http/bank_accounts/${currency}`);
      expect(bad.status, currency).toBe(400);
      expect(bad.body.error?.code, currency).toBe(code);
    }
    const none = await send('DELETE', '/v1/sellers/rm_http/bank_accounts/CHF');
    expect(none.body.error).toMatchObject({ code: 'bank_account_not_found' });
  });

  it('refuses while a payout in that currency is pending or in transit (409 bank_account_payouts_in_flight, naming it)', async () => {
    await bookPayin(t.ctx.pool, {
      paymentOrderId: 'rm_http_gbp',
      sellerId: 'rm_http',
      currency: 'GBP',
      grossMinor: 2_000n,
    });
    await releaseDueHolds(t.ctx.pool, new Date().toISOString().slice(0, 10));
    const payout = await send('POST', '/v1/payouts', {
      payload: { seller_account: 'rm_http', amount: '20.00', currency: 'GBP' },
      headers: { 'idempotency-key': 'rm-http-1' },
    });
    expect(payout.status).toBe(201);
    const refused = await send('DELETE', '/v1/sellers/rm_http/bank_accounts/GBP');
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'bank_account_payouts_in_flight', field: 'currency' });
    expect(refused.body.error?.message).toContain(String(payout.body.id));
    expect(await currencies('rm_http')).toContain('GBP');
    // Another currency with nothing in flight can still go.
    expect((await send('DELETE', '/v1/sellers/rm_http/bank_accounts/USD')).status).toBe(200);
  });

  it('needs an API key with payments:write: none is 401, payments:read is 403 naming the scope', async () => {
    const anonymous = await send('DELETE', '/v1/sellers/rm_http/bank_accounts/GBP', { key: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error?.code).toBe('unauthenticated');
    const reader = await send('DELETE', '/v1/sellers/rm_http/bank_accounts/GBP', {
      key: await t.keyWith(['payments:read']),
    });
    expect(reader.status).toBe(403);
    expect(reader.body.error).toMatchObject({ code: 'insufficient_scope' });
    expect(reader.body.error?.message).toContain('payments:write');
    expect(await currencies('rm_http')).toContain('GBP');
  });

  it('is in /openapi.json with its auth marker, parameters and responses', async () => {
    const doc = (await send('GET', '/openapi.json')).body as {
      paths: Record<
        string,
        Record<string, { 'x-bursar-auth'?: unknown; responses?: Record<string, unknown> }>
      >;
    };
    const op = doc.paths['/v1/sellers/{seller_account}/bank_accounts/{currency}']?.delete;
    expect(op?.['x-bursar-auth']).toEqual({ scope: 'payments:write' });
    expect(Object.keys(op?.responses ?? {})).toEqual(
      expect.arrayContaining(['200', '400', '401', '403', '404', '409', '422']),
    );
  });
});
