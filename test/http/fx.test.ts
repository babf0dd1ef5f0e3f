import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { fixedRatesProvider } from '../../src/fx/index.ts';
import { getBalances } from '../../src/ledger/read.ts';
import { executeOrder } from '../../src/payins/executor.ts';
import { refundTick } from '../../src/refunds/index.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { FakePsp } from '../support/payins-fake-psp.ts';
import { bearer, registerSellers, savedMethodBody, uid } from '../support/payins.ts';

const clock = new ManualClock('2024-05-17T15:00:00Z');
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({
    clock,
    routes: (modules) => [
      modules.sellers.routes,
      modules.payins.routes,
      modules.fx.routes,
      modules.refunds.routes,
    ],
    overrides: {
      psp: new FakePsp(),
      fx: { markupBps: 100, maxAgeHours: 96 },
      fxRates: fixedRatesProvider({ USD: '1.0866', JPY: '169.09', GBP: '0.85518' }, () =>
        clock.now().toISOString().slice(0, 10),
      ),
      platformFee: { basisPoints: 1000n, fixedMinor: 0n },
    },
  });
  await t.modules.fx.refresh();
  await registerSellers(t.db.pool, ['fx_usd']);
  await registerSellers(t.db.pool, ['fx_brl'], 'BRL');
});

afterAll(async () => {
  await t.close();
});

function code(response: { json(): unknown }): string {
  return (response.json() as { error: { code: string } }).error.code;
}

async function quote(body: Record<string, unknown>, key = t.key) {
  return await t.app.inject({ method: 'POST', url: '/v1/fx/quotes', headers: bearer(key), payload: body });
}

async function pay(body: Record<string, unknown>) {
  return await t.app.inject({
    method: 'POST',
    url: '/v1/payments',
    headers: { ...bearer(t.key), 'idempotency-key': uid('idem') },
    payload: body,
  });
}

describe('POST /v1/fx/quotes', () => {
  it('quotes the mid rate through EUR less the markup, locked for the asked duration, with source and date', async () => {
    const response = await quote({ from_currency: 'EUR', to_currency: 'USD', lock_duration: '5m' });
    expect(response.statusCode).toBe(201);
    const body = response.json() as Record<string, unknown>;
    expect(body).toMatchObject({
      object: 'fx_quote',
      from_currency: 'EUR',
      to_currency: 'USD',
      mid_rate: '1.0866',
      rate: '1.075734',
      markup_bps: 100,
      source: 'fixed',
      rate_date: '2024-05-17',
      implicit: false,
      expires_at: '2024-05-17T15:05:00.000Z',
    });
    expect(body.id).toMatch(/^fxq_[a-f0-9]{24}$/);
    const cross = await quote({ from_currency: 'GBP', to_currency: 'JPY', lock_duration: '1h' });
    expect((cross.json() as { mid_rate: string }).mid_rate).toBe('197.7244557');
  });

  it('refuses without a key (401), without payments:write (403), a pair with no rate (422) and the same currency twice (400)', async () => {
    const anonymous = await t.app.inject({ method: 'POST', url: '/v1/fx/quotes', payload: {} });
    expect(anonymous.statusCode).toBe(401);
    const reader = await t.keyWith(['payments:read']);
    const scoped = await quote({ from_currency: 'EUR', to_currency: 'USD' }, reader);
    expect([scoped.statusCode, code(scoped)]).toEqual([403, 'insufficient_scope']);
    const unknown = await quote({ from_currency: 'EUR', to_currency: 'BRL' });
    expect([unknown.statusCode, code(unknown)]).toEqual([422, 'fx_rate_unavailable']);
    const same = await quote({ from_currency: 'USD', to_currency: 'USD' });
    expect([same.statusCode, code(same)]).toEqual([400, 'validation_failed']);
    const bad = await quote({ from_currency: 'EUR', to_currency: 'USD', lock_duration: '2h' });
    expect(bad.statusCode).toBe(400);
  });
});

describe('GET /v1/fx/quotes/{id} and GET /v1/fx/rates', () => {
  it('reads a quote back; 404 fx_quote_not_found for an unknown one; 401 without a key', async () => {
    const created = (await quote({ from_currency: 'EUR', to_currency: 'JPY' })).json() as { id: string };
    const read = await t.app.inject({
      method: 'GET',
      url: `/v1/fx/quotes/${created.id}`,
      headers: bearer(t.key),
    });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ id: created.id, mid_rate: '169.09' });
    const missing = await t.app.inject({
      method: 'GET',
      url: '/v1/fx/quotes/fxq_abcdefabcdef',
      headers: bearer(t.key),
    });
    expect([missing.statusCode, code(missing)]).toEqual([404, 'fx_quote_not_found']);
    expect((await t.app.inject({ method: 'GET', url: `/v1/fx/quotes/${created.id}` })).statusCode).toBe(401);
  });

  it('shows the current rates with source, publication date and fetch time; refuses them once stale (fx_rate_stale)', async () => {
    const rates = await t.app.inject({ method: 'GET', url: '/v1/fx/rates', headers: bearer(t.key) });
    expect(rates.statusCode).toBe(200);
    expect(rates.json()).toMatchObject({
      base_currency: 'EUR',
      source: 'fixed',
      rate_date: '2024-05-17',
      rates: { USD: '1.0866', JPY: '169.09' },
    });
    clock.set('2024-05-23T00:00:00Z');
    try {
      const stale = await t.app.inject({ method: 'GET', url: '/v1/fx/rates', headers: bearer(t.key) });
      expect([stale.statusCode, code(stale)]).toEqual([503, 'fx_rate_stale']);
      const staleQuote = await quote({ from_currency: 'EUR', to_currency: 'USD' });
      expect(code(staleQuote)).toBe('fx_rate_stale');
    } finally {
      clock.set('2024-05-17T15:00:00Z');
    }
  });
});

describe('POST /v1/payments in another currency than the seller’s', () => {
  it('converts a EUR order for a USD seller at the current rate less markup (implicit quote) and credits the seller in USD', async () => {
    const body = savedMethodBody(['fx_usd'], { amount: '100.00', currency: 'EUR' });
    const response = await pay(body);
    expect(response.statusCode).toBe(201);
    const id = `${body.checkout_id}_po0`;
    await executeOrder(t.modules.payins.runtime, id);
    const fx = await t.db.pool.query<{ settlement_minor: bigint; mid_value_minor: bigint; quote_id: string }>(
      'SELECT settlement_minor, mid_value_minor, quote_id FROM payins.order_fx WHERE payment_order_id = $1',
      [id],
    );
    // 100.00 EUR × 1.075734 = 107.5734 → 107.57 USD; at mid 108.66 USD; markup 1.09 USD.
    expect(fx.rows[0]).toMatchObject({ settlement_minor: 10_757n, mid_value_minor: 10_866n });
    const implicit = await t.app.inject({
      method: 'GET',
      url: `/v1/fx/quotes/${fx.rows[0]?.quote_id ?? ''}`,
      headers: bearer(t.key),
    });
    expect(implicit.json()).toMatchObject({ implicit: true, lock_duration: 'none' });
    const order = await t.app.inject({ method: 'GET', url: `/v1/payments/${id}`, headers: bearer(t.key) });
    expect(order.json()).toMatchObject({
      amount: '100.00',
      currency: 'EUR',
      settlement: {
        amount: '107.57',
        currency: 'USD',
        rate: '1.075734',
        mid_rate: '1.0866',
        source: 'fixed',
      },
    });
    const balances = await getBalances(t.db.pool, [
      'seller:fx_usd:pending:USD',
      'seller:fx_usd:pending:EUR',
      'platform:fx_revenue:USD',
    ]);
    expect(balances.get('seller:fx_usd:pending:USD')?.balanceMinor).toBe(9_681n);
    expect(balances.get('platform:fx_revenue:USD')?.balanceMinor).toBe(109n);
    expect(balances.get('seller:fx_usd:pending:EUR')).toBeUndefined();
    const report = await t.modules.ledger.verify();
    expect(report.ok).toBe(true);
  });

  it('converts at a named 5-minute quote; refuses it expired (fx_quote_expired) and for another pair (fx_quote_mismatch)', async () => {
    const q = (await quote({ from_currency: 'EUR', to_currency: 'USD', lock_duration: '5m' })).json() as {
      id: string;
    };
    const ok = await pay({
      ...savedMethodBody(['fx_usd'], { amount: '10.00', currency: 'EUR' }),
      fx_quote_id: q.id,
    });
    expect(ok.statusCode).toBe(201);
    const jpy = await pay({
      ...savedMethodBody(['fx_usd'], { amount: '1000', currency: 'JPY' }),
      fx_quote_id: q.id,
    });
    expect([jpy.statusCode, code(jpy)]).toEqual([422, 'fx_quote_mismatch']);
    clock.set('2024-05-17T15:05:01Z');
    try {
      const late = await pay({
        ...savedMethodBody(['fx_usd'], { amount: '10.00', currency: 'EUR' }),
        fx_quote_id: q.id,
      });
      expect([late.statusCode, code(late)]).toEqual([422, 'fx_quote_expired']);
      expect((late.json() as { error: { field: string } }).error.field).toBe('payment_orders.0.fx_quote_id');
    } finally {
      clock.set('2024-05-17T15:00:00Z');
    }
  });

  it('refuses a checkout no rate converts into the seller’s currency (currency_not_supported_for_seller)', async () => {
    const response = await pay(savedMethodBody(['fx_brl'], { amount: '10.00', currency: 'EUR' }));
    expect([response.statusCode, code(response)]).toEqual([422, 'currency_not_supported_for_seller']);
    const count = await t.db.pool.query('SELECT 1 FROM payins.payment_order WHERE seller_account = $1', [
      'fx_brl',
    ]);
    expect(count.rowCount).toBe(0);
  });

  it('refunds a converted order in the buyer’s currency and takes the seller’s share back at the order’s rate; each currency balances', async () => {
    const body = savedMethodBody(['fx_usd'], { amount: '40.00', currency: 'EUR' });
    expect((await pay(body)).statusCode).toBe(201);
    const id = `${body.checkout_id}_po0`;
    await executeOrder(t.modules.payins.runtime, id);
    const before = await getBalances(t.db.pool, ['seller:fx_usd:pending:USD']);
    const refund = await t.app.inject({
      method: 'POST',
      url: '/v1/refunds',
      headers: { ...bearer(t.key), 'idempotency-key': uid('rk') },
      payload: { payment_order_id: id, amount: '10.00' },
    });
    expect(refund.statusCode, refund.body).toBe(201);
    expect(refund.json()).toMatchObject({ amount: '10.00', currency: 'EUR' });
    await refundTick(t.modules.refunds.runtime);
    const entry = await t.db.pool.query<{ currency: string; net: bigint }>(
      `SELECT p.currency, sum(CASE WHEN p.is_credit THEN -p.amount_minor ELSE p.amount_minor END)::int8 AS net
         FROM ledger.entries e JOIN ledger.postings p ON p.entry_id = e.id
        WHERE e.kind = 'refund' AND e.metadata ->> 'paymentOrderId' = $1 GROUP BY p.currency ORDER BY 1`,
      [id],
    );
    expect(entry.rows.map((row) => [row.currency, BigInt(row.net)])).toEqual([
      ['EUR', 0n],
      ['USD', 0n],
    ]);
    // 10.00 EUR at the order's 1.075734 → 10.76 USD, less the platform fee given back (proportional: 1.07).
    const after = await getBalances(t.db.pool, ['seller:fx_usd:pending:USD', 'seller:fx_usd:pending:EUR']);
    const taken =
      (before.get('seller:fx_usd:pending:USD')?.balanceMinor ?? 0n) -
      (after.get('seller:fx_usd:pending:USD')?.balanceMinor ?? 0n);
    expect(taken).toBeGreaterThan(900n);
    expect(taken).toBeLessThanOrEqual(1_076n);
    expect(after.get('seller:fx_usd:pending:EUR')).toBeUndefined();
    expect((await t.modules.ledger.verify()).ok).toBe(true);
  });
});
