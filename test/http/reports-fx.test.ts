import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportCommand } from '../../src/cli/report.ts';
import { withTransaction } from '../../src/db/tx.ts';
import {
  fxSettled,
  fxSettlementDifference,
  payinConverted,
  postEntry,
  type EntryInput,
} from '../../src/ledger/index.ts';
import { bearer, createTestApp, type TestApp } from '../support/app.ts';

/**
 * GET /v1/reports/fx-positions and `bursar report fx-positions` (docs/reports.md): per currency pair, from the
 * ledger's FX accounts, and tying out to them per currency. Ledger: a EUR sale for a USD seller and one for a GBP
 * seller, both settled by the PSP in USD, and a settlement difference booked by reconciliation.
 */

let t: TestApp;
let from: string;
let ops: string;

const fx = {
  quoteId: 'fxq_test0001',
  rate: '1.075734',
  midRate: '1.0866',
  source: 'ecb:test',
  rateDate: '2026-03-02',
};

async function post(entries: EntryInput[]): Promise<void> {
  for (const entry of entries) await withTransaction(t.db.pool, (client) => postEntry(client, entry));
}

beforeAll(async () => {
  t = await createTestApp();
  ops = await t.keyWith(['ops']);
  from = new Date(Date.now() - 60_000).toISOString();
  const sale = { presentmentCurrency: 'EUR', grossMinor: 10_000n, fx };
  await post([
    payinConverted({
      ...sale,
      paymentOrderId: 'ord_usd',
      sellerId: 's_usd',
      settlementCurrency: 'USD',
      settlementMinor: 10_757n,
      midValueMinor: 10_866n,
      platformFeeMinor: 1_076n,
    }),
    payinConverted({
      ...sale,
      paymentOrderId: 'ord_gbp',
      sellerId: 's_gbp',
      settlementCurrency: 'GBP',
      settlementMinor: 8_467n,
      midValueMinor: 8_553n,
      platformFeeMinor: 847n,
    }),
    fxSettled({
      settlementId: 'txn_usd',
      presentmentCurrency: 'EUR',
      amountMinor: 10_000n,
      settlementCurrency: 'USD',
      settledMinor: 10_812n,
      realisedMinor: -54n,
      exchangeRate: '1.081167',
    }),
    fxSettled({
      settlementId: 'txn_gbp',
      presentmentCurrency: 'EUR',
      amountMinor: 10_000n,
      settlementCurrency: 'USD',
      settledMinor: 10_812n,
      realisedMinor: 0n,
      exchangeRate: '1.081167',
    }),
    fxSettlementDifference({
      balanceTransactionId: 'txn_usd',
      presentmentCurrency: 'EUR',
      settlementCurrency: 'USD',
      differenceMinor: 3n,
    }),
  ]);
});
afterAll(async () => {
  await t.close();
});

function get(url: string, headers: Record<string, string> = {}, key = ops) {
  return t.app.inject({ method: 'GET', url, headers: { ...bearer(key), ...headers } });
}

type Wire = {
  pairs: Array<Record<string, string | number>>;
  currencies: Array<Record<string, string>>;
};

const cents = (amount: string | number | undefined) => Math.round(Number(amount) * 100);

describe('GET /v1/reports/fx-positions', () => {
  it('gives per pair the converted volume, FX revenue, realised result, settlement differences and position change', async () => {
    const res = await get(`/v1/reports/fx-positions?from=${encodeURIComponent(from)}`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<Wire>();
    expect(body.pairs).toEqual([
      {
        from_currency: 'EUR',
        to_currency: 'GBP',
        conversions: 1,
        converted_volume: '100.00',
        converted_value: '85.53',
        refunded_volume: '0.00',
        fx_revenue: '0.86',
        realised_gain_loss: '0.00',
        settlement_differences: '0.00',
        net_position_from: '100.00',
        net_position_to: '-85.53',
      },
      {
        from_currency: 'EUR',
        to_currency: 'USD',
        conversions: 1,
        converted_volume: '100.00',
        converted_value: '108.66',
        refunded_volume: '0.00',
        fx_revenue: '1.09',
        realised_gain_loss: '-0.54',
        settlement_differences: '0.03',
        net_position_from: '-100.00',
        net_position_to: '108.12',
      },
    ]);
  });

  it('ties out: per currency the pairs add up to the FX accounts’ movements in the ledger', async () => {
    const body = (await get(`/v1/reports/fx-positions?from=${encodeURIComponent(from)}`)).json<Wire>();
    for (const currency of body.currencies) {
      const c = currency.currency;
      const legs = body.pairs.reduce(
        (sum, p) =>
          sum +
          (p.from_currency === c ? cents(p.net_position_from) : 0) +
          (p.to_currency === c ? cents(p.net_position_to) : 0),
        0,
      );
      expect(legs, c).toBe(cents(currency.position_movement));
      expect(cents(currency.position_closing) - cents(currency.position_opening)).toBe(legs);
      const mine = body.pairs.filter((p) => p.to_currency === c);
      expect(mine.reduce((sum, p) => sum + cents(p.fx_revenue), 0)).toBe(cents(currency.fx_revenue));
      expect(
        mine.reduce((sum, p) => sum + cents(p.realised_gain_loss) + cents(p.settlement_differences), 0),
      ).toBe(cents(currency.gain_loss));
    }
    const ledger = await t.db.pool.query<{ code: string; balance: string }>(
      `SELECT code, (credits_minor - debits_minor)::text AS balance FROM ledger.accounts WHERE code LIKE 'platform:fx\\_%'`,
    );
    const closing = new Map(
      body.currencies.flatMap((c) => [[`platform:fx_position:${c.currency}`, cents(c.position_closing)]]),
    );
    for (const row of ledger.rows.filter((r) => r.code.startsWith('platform:fx_position:')))
      expect(closing.get(row.code), row.code).toBe(Number(row.balance));
  });

  it('answers CSV, one row per pair, with Accept: text/csv or format=csv', async () => {
    for (const [query, headers] of [
      ['&format=csv', {}],
      ['', { accept: 'text/csv' }],
    ] as const) {
      const res = await get(`/v1/reports/fx-positions?from=${encodeURIComponent(from)}${query}`, headers);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      const rows = parse(res.body, { columns: true }) as Array<Record<string, string>>;
      expect(rows.map((r) => `${r.from_currency}>${r.to_currency}`)).toEqual(['EUR>GBP', 'EUR>USD']);
      expect(rows[1]).toMatchObject({ settlement_differences: '0.03', net_position_to: '108.12' });
    }
  });

  it('refuses a window that ends before it starts, an unknown parameter, and a bad time with 400', async () => {
    const backwards = await get(`/v1/reports/fx-positions?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z`);
    expect([backwards.statusCode, backwards.json<{ error: { code: string } }>().error.code]).toEqual([
      400,
      'validation_failed',
    ]);
    expect((await get('/v1/reports/fx-positions?currency=USD')).statusCode).toBe(400);
    expect((await get('/v1/reports/fx-positions?from=yesterday')).statusCode).toBe(400);
  });

  it('is for ops keys only: another scope is 403, no key 401', async () => {
    const reader = await t.keyWith(['payments:read']);
    expect((await get('/v1/reports/fx-positions', {}, reader)).statusCode).toBe(403);
    const anonymous = await t.app.inject({ method: 'GET', url: '/v1/reports/fx-positions' });
    expect(anonymous.statusCode).toBe(401);
  });
});

describe('bursar report fx-positions', () => {
  it('writes the same pairs to a CSV file, or JSON on request', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bursar-fx-report-'));
    const lines: string[] = [];
    const db = { pool: t.db.pool };
    await reportCommand(['fx-positions', '--from', from, '--out', path.join(dir, 'fx.csv')], db, (l) =>
      lines.push(l),
    );
    const rows = parse(await readFile(path.join(dir, 'fx.csv'), 'utf8'), { columns: true }) as Array<
      Record<string, string>
    >;
    expect(rows.map((r) => r.realised_gain_loss)).toEqual(['0.00', '-0.54']);
    await reportCommand(
      ['fx-positions', '--from', from, '--format', 'json', '--out', path.join(dir, 'fx.json')],
      db,
      (l) => lines.push(l),
    );
    const json = JSON.parse(await readFile(path.join(dir, 'fx.json'), 'utf8')) as Wire;
    expect(json.pairs).toHaveLength(2);
    expect(lines).toEqual([
      expect.stringMatching(/2 currency pair/),
      expect.stringMatching(/2 currency pair/),
    ]);
  });
});
