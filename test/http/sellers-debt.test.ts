import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { bearer, createTestApp, type TestApp } from '../support/app.ts';
import { bookClawback, bookPayin, registerDailySeller } from '../support/debt.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const clock = new ManualClock(new Date());
let t: TestApp;
const URL = '/v1/sellers/hd_owes/debt/write_off';

beforeAll(async () => {
  t = await createTestApp({ clock });
  await registerDailySeller(t.db.pool, 'hd_owes', 'EUR', 11);
  await registerDailySeller(t.db.pool, 'hd_clean', 'EUR', 12);
  // 30.00 sold and still pending; a 75.00 dispute takes it and leaves 45.00 owed.
  await bookPayin(t.db.pool, {
    paymentOrderId: 'hd_po1',
    sellerId: 'hd_owes',
    currency: 'EUR',
    grossMinor: 3_000n,
    holdDays: 7,
  });
  await bookClawback(t.db.pool, {
    id: 'hd_dp1',
    kind: 'chargeback',
    sellerId: 'hd_owes',
    currency: 'EUR',
    amountMinor: 7_500n,
  });
});
afterAll(async () => {
  await t.close();
});

function writeOff(body: unknown, headers: Record<string, string> = {}, url = URL) {
  return t.app.inject({
    method: 'POST',
    url,
    headers: { ...bearer(t.key), 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(body),
  });
}

describe('GET /v1/sellers/{seller_account}/balance with a debt', () => {
  it('shows what the seller owes as a negative balance_due with its age, the other buckets as they are', async () => {
    // The manual clock started before the debt was booked (at real time): an hour more makes it three full days.
    clock.advanceMs(3 * DAY_MS + 60 * 60 * 1000);
    const res = await t.app.inject({
      method: 'GET',
      url: '/v1/sellers/hd_owes/balance',
      headers: bearer(t.key),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      pending: '0.00',
      available: '0.00',
      reserved: '0.00',
      balance_due: '-45.00',
      balance_due_age_days: 3,
    });
    expect(typeof res.json().balance_due_since).toBe('string');
    const clean = await t.app.inject({
      method: 'GET',
      url: '/v1/sellers/hd_clean/balance',
      headers: bearer(t.key),
    });
    expect(clean.json()).toMatchObject({
      balance_due: '0.00',
      balance_due_since: null,
      balance_due_age_days: null,
    });
  });
});

describe('POST /v1/payouts for a seller in debt', () => {
  it('is refused with 422 seller_has_debt', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/payouts',
      headers: { ...bearer(t.key), 'content-type': 'application/json', 'idempotency-key': 'hd-manual-1' },
      payload: JSON.stringify({ seller_account: 'hd_owes', amount: '1.00', currency: 'EUR' }),
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('seller_has_debt');
  });
});

describe('POST /v1/sellers/{seller_account}/debt/write_off', () => {
  it('needs an API key with the ops scope, and an Idempotency-Key', async () => {
    const anonymous = await t.app.inject({
      method: 'POST',
      url: URL,
      headers: { 'content-type': 'application/json', 'idempotency-key': 'hd-a' },
      payload: JSON.stringify({ currency: 'EUR' }),
    });
    expect(anonymous.statusCode).toBe(401);
    const writer = await t.keyWith(['payments:write', 'payments:read']);
    const wrongScope = await writeOff(
      { currency: 'EUR' },
      { authorization: `Bearer ${writer}`, 'idempotency-key': 'hd-b' },
    );
    expect(wrongScope.statusCode).toBe(403);
    expect(wrongScope.json().error.code).toBe('insufficient_scope');
    const noKey = await writeOff({ currency: 'EUR' });
    expect(noKey.statusCode).toBe(400);
    expect(noKey.json().error.code).toBe('idempotency_key_missing');
  });

  it('refuses a debt younger than the age with 409 debt_too_recent, and bad input with its own codes', async () => {
    const young = await writeOff({ currency: 'EUR' }, { 'idempotency-key': 'hd-young' });
    expect(young.statusCode).toBe(409);
    expect(young.json().error.code).toBe('debt_too_recent');
    const currency = await writeOff({ currency: 'eur' }, { 'idempotency-key': 'hd-cur' });
    expect(currency.statusCode).toBe(400);
    expect(currency.json().error.field).toBe('currency');
    const unknownField = await writeOff(
      { currency: 'EUR', amount: '1.00' },
      { 'idempotency-key': 'hd-extra' },
    );
    expect(unknownField.statusCode).toBe(400);
    const unknown = await writeOff(
      { currency: 'EUR' },
      { 'idempotency-key': 'hd-unknown' },
      '/v1/sellers/hd_nobody/debt/write_off',
    );
    expect(unknown.statusCode).toBe(404);
    const clean = await writeOff(
      { currency: 'EUR', older_than_days: 0 },
      { 'idempotency-key': 'hd-clean' },
      '/v1/sellers/hd_clean/debt/write_off',
    );
    expect(clean.statusCode).toBe(409);
    expect(clean.json().error.code).toBe('seller_has_no_debt');
  });

  it('previews with dry_run, then writes off once per Idempotency-Key, audited with the API key', async () => {
    clock.advanceMs(90 * DAY_MS);
    const preview = await writeOff({ currency: 'EUR', dry_run: true }, { 'idempotency-key': 'hd-dry' });
    expect(preview.statusCode).toBe(200);
    expect(preview.json()).toMatchObject({ dry_run: true, amount: '45.00', ledger_entry_id: null });

    const body = { currency: 'EUR', reason: 'seller closed the shop' };
    const done = await writeOff(body, { 'idempotency-key': 'hd-go' });
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({
      object: 'debt_write_off',
      seller_account: 'hd_owes',
      amount: '45.00',
      balance_due_before: '-45.00',
      balance_due_after: '0.00',
      older_than_days: 90,
      reason: 'seller closed the shop',
      dry_run: false,
    });
    expect(done.json().ledger_entry_id).toMatch(/^je_/);
    expect(done.json().actor).not.toMatch(/^cli:/);

    const replay = await writeOff(body, { 'idempotency-key': 'hd-go' });
    expect(replay.statusCode).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json()).toEqual(done.json());
    const reused = await writeOff({ currency: 'EUR' }, { 'idempotency-key': 'hd-go' });
    expect(reused.statusCode).toBe(422);
    expect(reused.json().error.code).toBe('idempotency_key_reused');

    const again = await writeOff(body, { 'idempotency-key': 'hd-again' });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('seller_has_no_debt');

    const audit = await t.db.pool.query('SELECT actor FROM sellers.debt_write_offs');
    expect(audit.rows).toEqual([{ actor: done.json().actor }]);
    const balance = await t.app.inject({
      method: 'GET',
      url: '/v1/sellers/hd_owes/balance',
      headers: bearer(t.key),
    });
    expect(balance.json()).toMatchObject({ balance_due: '0.00', balance_due_since: null });
  });
});
