import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, bearer, type TestApp } from '../support/app.ts';

let t: TestApp;

beforeAll(async () => {
  t = await createTestApp();
});

afterAll(async () => {
  await t.close();
});

async function send(method: 'POST' | 'PATCH', url: string, payload: unknown) {
  const response = await t.app.inject({
    method,
    url,
    headers: bearer(t.key),
    payload: payload as Record<string, unknown>,
  });
  return {
    status: response.statusCode,
    body: response.json() as { error?: { code: string; field?: string } } & Record<string, unknown>,
  };
}

const seller = (id: string, payout: Record<string, unknown>) => ({
  seller_account: id,
  name: id,
  currency: 'EUR',
  payout,
});

describe('seller payout settings', () => {
  it('refuses a bad IBAN (check digits, length, country) with iban_invalid', async () => {
    for (const iban of ['DE89370400440532013001', 'DE8937040044053201300', 'XX89370400440532013000']) {
      const refused = await send('POST', '/v1/sellers', seller('s_bad_iban', { iban, bic: 'COBADEFFXXX' }));
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 'iban_invalid', field: 'payout.iban' });
    }
  });

  it('refuses a bad BIC with bic_invalid, and mixed or malformed non-SEPA details with bank_details_invalid', async () => {
    const bic = await send(
      'POST',
      '/v1/sellers',
      seller('s_bad_bic', { iban: 'DE89370400440532013000', bic: 'COBA1' }),
    );
    expect(bic.status).toBe(400);
    expect(bic.body.error).toMatchObject({ code: 'bic_invalid', field: 'payout.bic' });
    const mixed = await send(
      'POST',
      '/v1/sellers',
      seller('s_mixed', {
        iban: 'DE89370400440532013000',
        bic: 'COBADEFF',
        account_number: '12345678',
        routing_number: '011000015',
      }),
    );
    expect(mixed.body.error).toMatchObject({ code: 'bank_details_invalid' });
    const routing = await send('POST', '/v1/sellers', {
      ...seller('s_aba', { account_number: '12345678', routing_number: '011000016' }),
      currency: 'USD',
    });
    expect(routing.body.error).toMatchObject({
      code: 'bank_details_invalid',
      field: 'payout.routing_number',
    });
    const amount = await send('POST', '/v1/sellers', seller('s_min', { minimum_amount: '10.001' }));
    expect(amount.body.error).toMatchObject({ code: 'amount_too_precise', field: 'payout.minimum_amount' });
  });

  it('stores settings, shows the bank account masked, and audits every change of bank details', async () => {
    const created = await send(
      'POST',
      '/v1/sellers',
      seller('s_ok', {
        iban: 'de89 3704 0044 0532 0130 00',
        bic: 'cobadeffxxx',
        schedule: { interval: 'weekly', weekday: 'friday' },
        hold_days: 3,
        reserve: { type: 'fixed', amount: '25.00' },
      }),
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      payout: {
        bank_account: { iban_last4: '3000', country: 'DE', bic: 'COBADEFFXXX' },
        schedule: { interval: 'weekly', weekday: 'friday' },
        hold_days: 3,
        reserve: { type: 'fixed', amount: '25.00' },
      },
      platform_fee: null,
    });
    const retried = await send(
      'POST',
      '/v1/sellers',
      seller('s_ok', {
        iban: 'DE89370400440532013000',
        bic: 'COBADEFFXXX',
        schedule: { interval: 'weekly', weekday: 'friday' },
        hold_days: 3,
        reserve: { type: 'fixed', amount: '25.00' },
      }),
    );
    expect(retried.status).toBe(200);
    const conflicting = await send('POST', '/v1/sellers', seller('s_ok', { hold_days: 9 }));
    expect(conflicting.body.error).toMatchObject({ code: 'seller_exists' });

    const badPatch = await send('PATCH', '/v1/sellers/s_ok', {
      payout: { iban: 'DE00370400440532013000', bic: 'COBADEFFXXX' },
    });
    expect(badPatch.body.error).toMatchObject({ code: 'iban_invalid' });
    const patched = await send('PATCH', '/v1/sellers/s_ok', {
      payout: { account_number: '000123456789', routing_number: '011000015' },
      platform_fee: { basis_points: 120, fixed: '0.10' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      payout: { bank_account: { account_last4: '6789' }, hold_days: 3 },
      platform_fee: { basis_points: 120, fixed: '0.10' },
    });
    const schedule = await send('PATCH', '/v1/sellers/s_ok', {
      payout: { schedule: { interval: 'manual' } },
    });
    expect(schedule.status).toBe(200);
    const audit = await t.db.pool.query<{ before: unknown; after: unknown; api_key_id: string | null }>(
      'SELECT before, after, api_key_id FROM sellers.bank_details_audit WHERE seller_account = $1 ORDER BY id',
      ['s_ok'],
    );
    expect(audit.rows).toHaveLength(2);
    expect(audit.rows[1]).toMatchObject({ before: { iban_last4: '3000' }, after: { account_last4: '6789' } });
    expect(audit.rows[1]?.api_key_id).toBeTruthy();
    expect(JSON.stringify(audit.rows)).not.toContain('000123456789');
  });
});
