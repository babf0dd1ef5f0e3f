import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { reportCommand } from '../../src/cli/report.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/tx.ts';
import {
  holdReleased,
  payinSucceeded,
  payoutStarted,
  postEntry,
  refund,
  type EntryInput,
} from '../../src/ledger/index.ts';
import { bearer, createTestApp, type TestApp } from '../support/app.ts';

/** The report routes (docs/reports.md): statement, payout transactions, platform report; JSON and CSV. */

let t: TestApp;
let from: string;

async function post(entries: EntryInput[]): Promise<string[]> {
  const ids: string[] = [];
  for (const entry of entries) {
    ids.push((await withTransaction(t.db.pool, (client) => postEntry(client, entry))).entryId);
  }
  return ids;
}

beforeAll(async () => {
  t = await createTestApp();
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/sellers',
    headers: bearer(t.key),
    payload: { seller_account: 'shop', name: 'Shop', currency: 'EUR' },
  });
  expect(res.statusCode).toBe(201);
  from = new Date(Date.now() - 60_000).toISOString();
  const base = { currency: 'EUR', sellerId: 'shop' };
  const payoutEntry = payoutStarted({ ...base, payoutId: 'po_one', amountMinor: 8_000n });
  const [, , , , payoutEntryId] = await post([
    payinSucceeded({ ...base, paymentOrderId: 'ord_1', grossMinor: 10_000n, platformFeeMinor: 1_000n }),
    payinSucceeded({ ...base, paymentOrderId: 'ord_2', grossMinor: 2_000n, platformFeeMinor: 0n }),
    holdReleased({ ...base, releaseId: 'ord_1', amountMinor: 9_000n }),
    refund({ ...base, refundId: 're_1', paymentOrderId: 'ord_1', amountMinor: 1_000n, from: 'available' }),
    payoutEntry,
  ]);
  await t.db.pool.query(
    `INSERT INTO payouts.payouts (id, seller_account, currency, amount_minor, status, source, provider, destination,
       ledger_entry_id)
     VALUES ('po_one', 'shop', 'EUR', 8000, 'pending', 'manual', 'sandbox',
       '{"kind":"sepa","iban":"DE89370400440532013000","bic":"COBADEFFXXX","holderName":null}', $1)`,
    [payoutEntryId],
  );
});
afterAll(async () => {
  await t.close();
});

function get(url: string, headers: Record<string, string> = {}, key = t.key) {
  return t.app.inject({ method: 'GET', url, headers: { ...bearer(key), ...headers } });
}

describe('GET /v1/sellers/{seller_account}/statement', () => {
  it('gives opening, every movement classified with its references, and closing, in major units', async () => {
    const res = await get(`/v1/sellers/shop/statement?from=${encodeURIComponent(from)}`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{
      opening_balance: Record<string, string>;
      closing_balance: Record<string, string>;
      movements: Array<{ category: string; references: Record<string, string>; net: string }>;
    }>();
    expect(body.opening_balance.net).toBe('0.00');
    expect(body.movements.map((m) => m.category)).toEqual([
      'sale',
      'platform_fee',
      'sale',
      'hold_release',
      'refund',
      'payout',
    ]);
    expect(body.movements[0]).toMatchObject({ net: '100.00', references: { payment_order_id: 'ord_1' } });
    expect(body.movements[1]).toMatchObject({ net: '-10.00' });
    expect(body.movements[4]).toMatchObject({ net: '-10.00', references: { refund_id: 're_1' } });
    expect(body.movements[5]).toMatchObject({ references: { payout_id: 'po_one' } });
    expect(body.closing_balance).toMatchObject({
      pending: '20.00',
      available: '0.00',
      in_transit: '80.00',
      due: '0.00',
      net: '100.00',
    });
  });

  it('answers CSV for Accept: text/csv and for format=csv, which csv-parse reads back', async () => {
    for (const res of [
      await get(`/v1/sellers/shop/statement?from=${encodeURIComponent(from)}`, { accept: 'text/csv' }),
      await get(`/v1/sellers/shop/statement?from=${encodeURIComponent(from)}&format=csv`),
    ]) {
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      const rows = parse(res.body, { columns: true }) as Array<Record<string, string>>;
      expect(rows.map((row) => row.row)).toEqual([
        'opening',
        ...Array<string>(6).fill('movement'),
        'closing',
      ]);
      expect(rows.at(-1)).toMatchObject({ currency: 'EUR', in_transit: '80.00', net: '100.00' });
    }
  });

  it('refuses bad bounds, unknown sellers and callers without a key', async () => {
    const bad = await get('/v1/sellers/shop/statement?from=last-week');
    expect(bad.json<{ error: { code: string; field: string } }>().error).toMatchObject({
      code: 'timestamp_invalid',
      field: 'from',
    });
    const backwards = await get('/v1/sellers/shop/statement?from=2026-02-01&to=2026-01-01');
    expect(backwards.statusCode).toBe(400);
    expect((await get('/v1/sellers/nobody/statement')).statusCode).toBe(404);
    expect((await get('/v1/sellers/shop/statement?currency=eur')).statusCode).toBe(400);
    const none = await t.app.inject({ method: 'GET', url: '/v1/sellers/shop/statement' });
    expect(none.statusCode).toBe(401);
  });
});

describe('GET /v1/payouts/{id}/transactions', () => {
  it('lists what makes up the payout: the released sale with gross and fee, the refund, and what is carried', async () => {
    const res = await get('/v1/payouts/po_one/transactions');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{
      data: Array<Record<string, unknown>>;
      carried_in: string;
      carried_forward: string;
    }>();
    expect(body).toMatchObject({ amount: '80.00', carried_in: '0.00', carried_forward: '0.00' });
    expect(body.data).toEqual([
      expect.objectContaining({
        category: 'hold_release',
        gross: '100.00',
        fee: '10.00',
        net: '90.00',
        references: expect.objectContaining({ payment_order_id: 'ord_1' }),
      }),
      expect.objectContaining({ category: 'refund', net: '-10.00', gross: null }),
    ]);
    const csv = await get('/v1/payouts/po_one/transactions?format=csv');
    const rows = parse(csv.body, { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((row) => row.row)).toEqual([
      'carried_in',
      'transaction',
      'transaction',
      'payout',
      'carried_forward',
    ]);
    expect(rows[1]).toMatchObject({
      payout_id: 'po_one',
      payment_order_id: 'ord_1',
      gross: '100.00',
      net: '90.00',
    });
    expect((await get('/v1/payouts/po_none/transactions')).statusCode).toBe(404);
  });
});

describe('GET /v1/reports/platform', () => {
  it('gives per day and currency the volume, fees, refunds and balances, to ops keys only', async () => {
    const ops = await t.keyWith(['ops']);
    const res = await get(`/v1/reports/platform?from=${encodeURIComponent(from)}`, {}, ops);
    expect(res.statusCode, res.body).toBe(200);
    const day = res.json<{ days: Array<Record<string, unknown>> }>().days[0];
    expect(day).toMatchObject({
      currency: 'EUR',
      gross_volume: '120.00',
      refunds: '10.00',
      platform_fee_revenue: '10.00',
      psp_clearing_balance: '110.00',
      bank_balance: '0.00',
    });
    const csv = await get(
      `/v1/reports/platform?from=${encodeURIComponent(from)}`,
      { accept: 'text/csv' },
      ops,
    );
    const rows = parse(csv.body, { columns: true }) as Array<Record<string, string>>;
    expect(rows[0]).toMatchObject({
      currency: 'EUR',
      gross_volume: '120.00',
      psp_clearing_balance: '110.00',
    });
    const reader = await t.keyWith(['payments:read']);
    expect((await get('/v1/reports/platform', {}, reader)).statusCode).toBe(403);
  });
});

describe('bursar report (the CLI writes the same reports to files)', () => {
  it('writes the statement, a payout run and the platform report as CSV with currencies, and JSON on request', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'bursar-report-'));
    const lines: string[] = [];
    const db = { pool: t.db.pool };
    const file = (name: string) => path.join(dir, name);
    await reportCommand(['statement', 'shop', '--from', from, '--out', file('s.csv')], db, (l) =>
      lines.push(l),
    );
    const statement = parse(await readFile(file('s.csv'), 'utf8'), { columns: true }) as Array<
      Record<string, string>
    >;
    expect(statement.at(-1)).toMatchObject({ row: 'closing', currency: 'EUR', net: '100.00' });
    await t.db.pool.query(
      "UPDATE payouts.payouts SET source = 'scheduled', run_date = '2026-03-02' WHERE id = 'po_one'",
    );
    await reportCommand(['payout', '--run-date', '2026-03-02', '--out', file('p.csv')], db, (l) =>
      lines.push(l),
    );
    const payout = parse(await readFile(file('p.csv'), 'utf8'), { columns: true }) as Array<
      Record<string, string>
    >;
    expect(payout.filter((row) => row.row === 'payout')).toEqual([
      expect.objectContaining({ payout_id: 'po_one', currency: 'EUR', net: '-80.00' }),
    ]);
    await reportCommand(['platform', '--from', from, '--format', 'json', '--out', file('r.json')], db, (l) =>
      lines.push(l),
    );
    const report = JSON.parse(await readFile(file('r.json'), 'utf8')) as {
      days: Array<{ gross_volume: string }>;
    };
    expect(report.days[0]?.gross_volume).toBe('120.00');
    expect(lines).toHaveLength(3);
    await expect(
      reportCommand(['statement', 'shop', '--from', 'soon', '--out', file('x')], db, () => {}),
    ).rejects.toThrow(/not a timestamp/);
  });
});
