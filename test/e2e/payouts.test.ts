import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { verifyLedger } from '../../src/ledger/index.ts';
import { executeOrder } from '../../src/payins/executor.ts';
import { ibanWithCheckDigits } from '../../src/payouts/bank.ts';
import { settleFromCamt } from '../../src/payouts/camt-settle.ts';
import { runPayouts, type RunReport } from '../../src/payouts/run.ts';
import { isoDateOf } from '../../src/payouts/settings.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { FakePsp } from '../support/payins-fake-psp.ts';
import { bearer, savedMethodBody, uid } from '../support/payins.ts';
import { camt054, xsdErrors } from '../support/payouts.ts';

let t: TestApp;
const clock = new ManualClock(new Date());
const DAY_MS = 24 * 60 * 60 * 1000;

beforeAll(async () => {
  t = await createTestApp({
    clock,
    overrides: { psp: new FakePsp(), platformFee: { basisPoints: 250n, fixedMinor: 30n } },
  });
});

afterAll(async () => {
  await t.close();
});

function iban(n: number): string {
  return ibanWithCheckDigits('DE', `37040044${String(n).padStart(10, '0')}`);
}

async function api(
  method: 'GET' | 'POST' | 'PATCH',
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const response = await t.app.inject({
    method,
    url,
    headers: {
      ...bearer(t.key),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  return { status: response.statusCode, json: () => response.json() as Record<string, unknown>, response };
}

async function balance(seller: string): Promise<Record<string, unknown>> {
  const { json } = await api('GET', `/v1/sellers/${seller}/balance`);
  const { pending, available, reserved, in_transit, paid_out } = json();
  return { pending, available, reserved, in_transit, paid_out };
}

async function run(): Promise<RunReport> {
  const now = clock.now();
  return runPayouts(
    { pool: t.db.pool, log: t.ctx.log, provider: t.modules.payouts.runtime.provider, now },
    isoDateOf(now),
  );
}

const daily = { interval: 'daily' };

describe('pay-outs end to end over HTTP', () => {
  const payoutOf: Record<string, string> = {};

  it('registers sellers with payout settings and a per-seller fee', async () => {
    const sellers = [
      { seller_account: 'po_alpha', payout: { iban: iban(1), bic: 'COBADEFFXXX', schedule: daily } },
      {
        seller_account: 'po_beta',
        payout: {
          iban: iban(2),
          bic: 'DEUTDEFF',
          schedule: daily,
          reserve: { type: 'percentage', basis_points: 1000 },
        },
        platform_fee: { basis_points: 100 },
      },
      {
        seller_account: 'po_gamma',
        payout: { iban: iban(3), bic: 'COBADEFFXXX', schedule: daily, minimum_amount: '1000.00' },
      },
      {
        seller_account: 'po_delta',
        payout: {
          iban: iban(4),
          bic: 'COBADEFFXXX',
          schedule: daily,
          account_holder_name: 'Delta & Söhne <GmbH>',
        },
      },
    ];
    for (const seller of sellers) {
      const created = await api('POST', '/v1/sellers', {
        name: seller.seller_account,
        currency: 'EUR',
        ...seller,
      });
      expect(created.status, JSON.stringify(created.json())).toBe(201);
    }
    const beta = await api('GET', '/v1/sellers/po_beta');
    expect(beta.json()).toMatchObject({
      payout: {
        currency: 'EUR',
        schedule: daily,
        reserve: { type: 'percentage', basis_points: 1000 },
        hold_days: 7,
      },
      platform_fee: { basis_points: 100, fixed: '0.00' },
    });
    expect(JSON.stringify(beta.json())).not.toContain(iban(2));
  });

  it('books pay-ins net of the platform fee into pending, held for 7 days', async () => {
    const body = savedMethodBody(['po_alpha', 'po_beta', 'po_gamma', 'po_delta'], {
      currency: 'EUR',
      amount: '100.00',
    });
    const created = await api('POST', '/v1/payments', body, { 'idempotency-key': uid('idem') });
    expect(created.status, JSON.stringify(created.json())).toBeLessThan(300);
    for (const order of body.payment_orders) {
      const result = await executeOrder(t.modules.payins.runtime, String(order.payment_order_id));
      expect(result.outcome).not.toBe('skipped');
    }
    // 2.5 % + 0.30 of 100.00 = 2.80; po_beta's own fee is 1 % = 1.00.
    expect(await balance('po_alpha')).toEqual({
      pending: '97.20',
      available: '0.00',
      reserved: '0.00',
      in_transit: '0.00',
      paid_out: '0.00',
    });
    expect(await balance('po_beta')).toMatchObject({ pending: '99.00' });
    // Before the hold ends, a run pays nobody.
    clock.advanceMs(6 * DAY_MS);
    const early = await run();
    expect(early.payoutsCreated).toBe(0);
    expect(early.holdsReleased).toBe(0);
  });

  it('releases holds and pays available minus reserve, at least the minimum, in a pain.001 file valid against the XSD', async () => {
    clock.advanceMs(2 * DAY_MS);
    const report = await run();
    expect(report.holdsReleased).toBe(4);
    expect(report.payoutsCreated).toBe(3);
    expect(report.outcomes.below_minimum).toBe(1);
    expect(await balance('po_alpha')).toEqual({
      pending: '0.00',
      available: '0.00',
      reserved: '0.00',
      in_transit: '97.20',
      paid_out: '0.00',
    });
    // 10 % of 99.00 stays reserved.
    expect(await balance('po_beta')).toEqual({
      pending: '0.00',
      available: '0.00',
      reserved: '9.90',
      in_transit: '89.10',
      paid_out: '0.00',
    });
    expect(await balance('po_gamma')).toEqual({
      pending: '0.00',
      available: '97.20',
      reserved: '0.00',
      in_transit: '0.00',
      paid_out: '0.00',
    });

    const files = await api('GET', '/v1/payout-files');
    const list = files.json().data as Array<Record<string, unknown>>;
    expect(list).toHaveLength(1);
    const file = list[0] ?? {};
    expect(file).toMatchObject({
      format: 'pain.001.001.09',
      currency: 'EUR',
      transactions: 3,
      control_sum: '283.50',
    });
    const download = await api('GET', `/v1/payout-files/${String(file.id)}`);
    expect(download.status).toBe(200);
    expect(download.response.headers['content-type']).toContain('application/xml');
    const xml = download.response.body;
    expect(await xsdErrors(xml, 'pain.001.001.09')).toEqual([]);
    expect(xml).toContain('<NbOfTxs>3</NbOfTxs>');
    expect(xml).toContain('<CtrlSum>283.50</CtrlSum>');
    expect(xml).toContain('Delta &amp; Söhne &lt;GmbH&gt;');

    for (const seller of ['po_alpha', 'po_beta', 'po_delta']) {
      const payouts = (await api('GET', `/v1/sellers/${seller}/payouts`)).json().data as Array<
        Record<string, unknown>
      >;
      expect(payouts).toHaveLength(1);
      const payout = payouts[0] ?? {};
      expect(payout).toMatchObject({ status: 'in_transit', payout_file_id: file.id, currency: 'EUR' });
      payoutOf[seller] = String(payout.id);
      expect(xml).toContain(`<EndToEndId>${payoutOf[seller]}</EndToEndId>`);
    }
    const detail = await api('GET', `/v1/payouts/${payoutOf.po_alpha}`);
    expect(detail.json()).toMatchObject({ amount: '97.20', status: 'in_transit' });
    expect((detail.json().status_history as unknown[]).length).toBe(2);
  });

  it('running the payout run again for the same date creates nothing new', async () => {
    const again = await run();
    expect(again.payoutsCreated).toBe(0);
    expect(again.submit.files).toEqual([]);
    expect((await api('GET', '/v1/payout-files')).json().data).toHaveLength(1);
  });

  it('settles from a camt.054: confirmed payouts are paid, a returned one goes back to available and flags the seller', async () => {
    const camt = camt054([
      { endToEndId: payoutOf.po_alpha ?? '', amount: '97.20', currency: 'EUR', kind: 'paid' },
      { endToEndId: payoutOf.po_beta ?? '', amount: '89.10', currency: 'EUR', kind: 'paid' },
      {
        endToEndId: payoutOf.po_delta ?? '',
        amount: '97.20',
        currency: 'EUR',
        kind: 'returned',
        reason: 'AC04',
      },
    ]);
    const first = await settleFromCamt(t.db.pool, camt, 'camt-1.xml');
    expect(first).toMatchObject({ paid: 2, returned: 1, unmatched: 0 });
    const replay = await settleFromCamt(t.db.pool, camt, 'camt-1.xml');
    expect(replay).toMatchObject({ paid: 0, returned: 0, unchanged: 3 });

    expect(await balance('po_alpha')).toEqual({
      pending: '0.00',
      available: '0.00',
      reserved: '0.00',
      in_transit: '0.00',
      paid_out: '97.20',
    });
    expect(await balance('po_beta')).toEqual({
      pending: '0.00',
      available: '0.00',
      reserved: '9.90',
      in_transit: '0.00',
      paid_out: '89.10',
    });
    expect(await balance('po_delta')).toEqual({
      pending: '0.00',
      available: '97.20',
      reserved: '0.00',
      in_transit: '0.00',
      paid_out: '0.00',
    });
    const delta = await api('GET', `/v1/payouts/${payoutOf.po_delta}`);
    expect(delta.json()).toMatchObject({ status: 'returned' });
    expect(String(delta.json().return_reason)).toContain('AC04');
    expect((await api('GET', '/v1/sellers/po_delta')).json()).toMatchObject({
      payout: { needs_bank_details: true },
    });

    const report = await verifyLedger(t.db.pool);
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('a manual payout is refused above available, in another currency, without an Idempotency-Key or bank details; else made once', async () => {
    const key = { 'idempotency-key': uid('payout') };
    const missingKey = await api('POST', '/v1/payouts', {
      seller_account: 'po_gamma',
      amount: '10.00',
      currency: 'EUR',
    });
    expect(missingKey.status).toBe(400);
    expect(missingKey.json()).toMatchObject({ error: { code: 'idempotency_key_missing' } });
    const above = await api(
      'POST',
      '/v1/payouts',
      { seller_account: 'po_gamma', amount: '97.21', currency: 'EUR' },
      key,
    );
    expect(above.status).toBe(422);
    expect(above.json()).toMatchObject({ error: { code: 'payout_exceeds_available' } });
    const currency = await api(
      'POST',
      '/v1/payouts',
      { seller_account: 'po_gamma', amount: '10.00', currency: 'USD' },
      key,
    );
    expect(currency.json()).toMatchObject({ error: { code: 'payout_currency_mismatch' } });
    const flagged = await api(
      'POST',
      '/v1/payouts',
      { seller_account: 'po_delta', amount: '10.00', currency: 'EUR' },
      key,
    );
    expect(flagged.json()).toMatchObject({ error: { code: 'bank_details_missing' } });

    const made = await api(
      'POST',
      '/v1/payouts',
      { seller_account: 'po_gamma', amount: '97.20', currency: 'EUR' },
      key,
    );
    expect(made.status, JSON.stringify(made.json())).toBe(201);
    const replay = await api(
      'POST',
      '/v1/payouts',
      { seller_account: 'po_gamma', amount: '97.20', currency: 'EUR' },
      key,
    );
    expect(replay.status).toBe(201);
    expect(replay.json().id).toBe(made.json().id);
    expect(replay.response.headers['idempotent-replayed']).toBe('true');
    const reused = await api(
      'POST',
      '/v1/payouts',
      { seller_account: 'po_gamma', amount: '1.00', currency: 'EUR' },
      key,
    );
    expect(reused.json()).toMatchObject({ error: { code: 'idempotency_key_reused' } });
    expect(await balance('po_gamma')).toMatchObject({ available: '0.00', in_transit: '97.20' });

    // New bank details clear the flag and are audited.
    const patched = await api('PATCH', '/v1/sellers/po_delta', {
      payout: { iban: iban(5), bic: 'COBADEFFXXX' },
    });
    expect(patched.json()).toMatchObject({ payout: { needs_bank_details: false } });
    const audit = await t.db.pool.query(
      'SELECT before, after FROM sellers.bank_details_audit WHERE seller_account = $1 ORDER BY id',
      ['po_delta'],
    );
    expect(audit.rows).toHaveLength(2);
    expect((await verifyLedger(t.db.pool)).ok).toBe(true);
  });
});
