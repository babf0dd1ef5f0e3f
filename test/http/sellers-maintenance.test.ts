import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/tx.ts';
import { holdReleased, payinSucceeded, postEntry } from '../../src/ledger/index.ts';
import { sellerAudit } from '../../src/sellers/maintenance.ts';
import { bearer, createTestApp, type TestApp } from '../support/app.ts';
import { FakePsp } from '../support/payins-fake-psp.ts';
import { savedMethodBody, uid } from '../support/payins.ts';

/** Seller maintenance (docs/api.md): name and metadata changes, deactivation and reactivation, all audited. */

let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ overrides: { psp: new FakePsp() } });
  for (const id of ['shop', 'other']) {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/sellers',
      headers: bearer(t.key),
      payload: {
        seller_account: id,
        name: 'Shop',
        currency: 'USD',
        metadata: { tier: 'gold', region: 'eu' },
      },
    });
    expect(res.statusCode).toBe(201);
  }
});
afterAll(async () => {
  await t.close();
});

function patch(payload: unknown, key = t.key, id = 'shop') {
  return t.app.inject({
    method: 'PATCH',
    url: `/v1/sellers/${id}`,
    headers: bearer(key),
    payload: payload as object,
  });
}
function action(name: string, payload?: object, key = t.key, id = 'shop') {
  return t.app.inject({
    method: 'POST',
    url: `/v1/sellers/${id}/${name}`,
    headers: bearer(key),
    ...(payload === undefined ? {} : { payload }),
  });
}
function code(res: { json(): unknown }): string {
  return (res.json() as { error: { code: string } }).error.code;
}
async function outbox(type: string): Promise<Array<Record<string, unknown>>> {
  const rows = await t.db.pool.query<{ payload: Record<string, unknown> }>(
    `SELECT data->'object' AS payload FROM events.events WHERE type = $1 ORDER BY seq`,
    [type],
  );
  return rows.rows.map((row) => row.payload);
}

describe('PATCH /v1/sellers/{seller_account} name and metadata', () => {
  it('changes the name and merges metadata (an empty string removes a key), audited with before and after', async () => {
    const res = await patch({ name: 'Shop & Co', metadata: { tier: 'platinum', region: '', vat: 'DE1' } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      name: 'Shop & Co',
      metadata: { tier: 'platinum', vat: 'DE1' },
      status: 'active',
      payout: { currency: 'USD' },
    });
    expect(res.json<{ metadata: Record<string, string> }>().metadata).not.toHaveProperty('region');
    const audit = await sellerAudit(t.db.pool, 'shop');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      action: 'update',
      before: { name: 'Shop', metadata: { tier: 'gold', region: 'eu' } },
      after: { name: 'Shop & Co', metadata: { tier: 'platinum', vat: 'DE1' } },
    });
    expect(audit[0]?.apiKeyId).toEqual(expect.any(String));
    const events = await outbox('seller.updated');
    expect(events.at(-1)).toMatchObject({ seller_account: 'shop', name: 'Shop & Co' });
  });

  it('writes no audit row and no event when nothing changes', async () => {
    const before = (await sellerAudit(t.db.pool, 'shop')).length;
    const res = await patch({ name: 'Shop & Co' });
    expect(res.statusCode).toBe(200);
    expect(await sellerAudit(t.db.pool, 'shop')).toHaveLength(before);
  });

  it('refuses a bad name, oversize metadata and too many keys with validation_failed', async () => {
    expect(code(await patch({ name: '' }))).toBe('validation_failed');
    expect(code(await patch({ name: 'x'.repeat(201) }))).toBe('validation_failed');
    expect(code(await patch({ metadata: { k: 'v'.repeat(501) } }))).toBe('validation_failed');
    expect(code(await patch({ metadata: { ['k'.repeat(41)]: 'v' } }))).toBe('validation_failed');
    expect(code(await patch({ metadata: { n: 5 } }))).toBe('validation_failed');
    const many = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`key${i}`, 'v']));
    const res = await patch({ metadata: many });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: { field: string } }>().error.field).toBe('metadata');
  });

  it('answers 404 for an unknown seller, 401 without a key and 403 without payments:write', async () => {
    expect((await patch({ name: 'X' }, t.key, 'nobody')).statusCode).toBe(404);
    const none = await t.app.inject({ method: 'PATCH', url: '/v1/sellers/shop', payload: { name: 'X' } });
    expect(none.statusCode).toBe(401);
    const reader = await t.keyWith(['payments:read']);
    expect((await patch({ name: 'X' }, reader)).statusCode).toBe(403);
    expect((await action('deactivate', undefined, reader)).statusCode).toBe(403);
  });
});

describe('POST /v1/sellers/{seller_account}/deactivate and /reactivate', () => {
  function checkout(sellers: string[]) {
    return t.app.inject({
      method: 'POST',
      url: '/v1/payments',
      headers: { ...bearer(t.key), 'idempotency-key': uid('idem') },
      payload: savedMethodBody(sellers),
    });
  }

  it('deactivates: new checkouts for the seller are refused with seller_inactive, naming the order', async () => {
    const res = await action('deactivate', { reason: 'closed their shop' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ seller_account: 'shop', status: 'inactive' });
    const refused = await checkout(['other', 'shop']);
    expect(refused.statusCode).toBe(422);
    expect(refused.json<{ error: { code: string; field: string } }>().error).toMatchObject({
      code: 'seller_inactive',
      field: 'payment_orders.1.seller_account',
    });
    const audit = await sellerAudit(t.db.pool, 'shop');
    expect(audit.at(-1)).toMatchObject({
      action: 'deactivate',
      reason: 'closed their shop',
      before: { status: 'active' },
      after: { status: 'inactive' },
    });
    expect((await outbox('seller.deactivated')).at(-1)).toMatchObject({
      seller_account: 'shop',
      status: 'inactive',
    });
    const listed = await t.app.inject({
      method: 'GET',
      url: '/v1/sellers?status=inactive',
      headers: bearer(t.key),
    });
    expect(
      listed.json<{ data: Array<{ seller_account: string }> }>().data.map((s) => s.seller_account),
    ).toEqual(['shop']);
  });

  it('deactivating again changes nothing and writes no second audit row', async () => {
    const before = (await sellerAudit(t.db.pool, 'shop')).length;
    const res = await action('deactivate');
    expect(res.statusCode).toBe(200);
    expect(await sellerAudit(t.db.pool, 'shop')).toHaveLength(before);
  });

  it('still takes checkouts for other sellers, and for the seller once reactivated', async () => {
    const other = await checkout(['other']);
    expect(other.statusCode, other.body).toBe(201);
    const res = await action('reactivate');
    expect(res.json()).toMatchObject({ status: 'active' });
    expect((await sellerAudit(t.db.pool, 'shop')).at(-1)).toMatchObject({ action: 'reactivate' });
    const again = await checkout(['shop']);
    expect(again.statusCode, again.body).toBe(201);
  });

  it('keeps the audit append-only', async () => {
    await expect(
      t.db.pool.query("DELETE FROM sellers.seller_audit WHERE seller_account = 'shop'"),
    ).rejects.toThrow(/append-only/);
    await expect(t.db.pool.query("UPDATE sellers.seller_audit SET reason = 'x'")).rejects.toThrow(
      /append-only/,
    );
  });

  it('answers 404 for an unknown seller and refuses unknown body fields', async () => {
    expect((await action('deactivate', undefined, t.key, 'nobody')).statusCode).toBe(404);
    expect((await action('deactivate', { why: 'x' })).statusCode).toBe(400);
  });
});

describe('a deactivated seller is still paid what is owed', () => {
  it('takes a manual payout of its available balance after deactivation', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/sellers',
      headers: bearer(t.key),
      payload: {
        seller_account: 'leaving',
        name: 'Leaving',
        currency: 'EUR',
        payout: { iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' },
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const base = { currency: 'EUR', sellerId: 'leaving' };
    for (const entry of [
      payinSucceeded({ ...base, paymentOrderId: 'lv_1', grossMinor: 5_000n, platformFeeMinor: 0n }),
      holdReleased({ ...base, releaseId: 'lv_1', amountMinor: 5_000n }),
    ]) {
      await withTransaction(t.db.pool, (client) => postEntry(client, entry));
    }
    expect((await action('deactivate', undefined, t.key, 'leaving')).statusCode).toBe(200);
    const payout = await t.app.inject({
      method: 'POST',
      url: '/v1/payouts',
      headers: { ...bearer(t.key), 'idempotency-key': uid('idem') },
      payload: { seller_account: 'leaving', amount: '50.00', currency: 'EUR' },
    });
    expect(payout.statusCode, payout.body).toBe(201);
  });
});
