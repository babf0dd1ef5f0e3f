import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookPayin } from '../support/debt.ts';
import { createTestApp, bearer, type TestApp } from '../support/app.ts';
import { FakePsp } from '../support/payins-fake-psp.ts';
import { savedMethodBody, uid } from '../support/payins.ts';
import { fixedRatesProvider } from '../../src/fx/index.ts';
import { getBalances } from '../../src/ledger/index.ts';
import { executeOrder } from '../../src/payins/executor.ts';
import { flagNeedsBankDetails, listBankDetailsAudit } from '../../src/sellers/index.ts';

let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({
    overrides: {
      psp: new FakePsp(),
      fx: { markupBps: 100, maxAgeHours: 96 },
      fxRates: fixedRatesProvider({ USD: '1.0866', JPY: '169.09', GBP: '0.85518' }, () =>
        new Date().toISOString().slice(0, 10),
      ),
      platformFee: { basisPoints: 0n, fixedMinor: 0n },
    },
  });
  await t.modules.fx.refresh();
});

afterAll(async () => {
  await t.close();
});

type Body = { error?: { code: string; field?: string } } & Record<string, unknown>;

async function send(method: 'POST' | 'PATCH' | 'GET', url: string, payload?: unknown) {
  const response = await t.app.inject({
    method,
    url,
    headers: bearer(t.key),
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });
  return { status: response.statusCode, body: response.json() as Body };
}

const GBP_ACCOUNT = { currency: 'GBP', iban: 'GB82 WEST 1234 5698 7654 32', bic: 'westgb2l' };
const CHF_ACCOUNT = { currency: 'CHF', iban: 'CH9300762011623852957', bic: 'UBSWCHZH80A' };
const USD_ACCOUNT = { currency: 'USD', account_number: '12345678', routing_number: '021000021' };

function seller(id: string, payout: Record<string, unknown>) {
  return { seller_account: id, name: id, currency: 'EUR', payout };
}

describe('sellers with a bank account per payout currency', () => {
  it('POST /v1/sellers takes payout.bank_accounts[] and shows every account masked, the own currency’s first', async () => {
    const created = await send(
      'POST',
      '/v1/sellers',
      seller('mcs_a', {
        iban: 'DE89370400440532013000',
        bic: 'COBADEFFXXX',
        bank_accounts: [USD_ACCOUNT, GBP_ACCOUNT],
      }),
    );
    expect(created.status).toBe(201);
    const payout = created.body.payout as { bank_account: unknown; bank_accounts: unknown[] };
    expect(payout.bank_account).toMatchObject({ iban_last4: '3000', bic: 'COBADEFFXXX' });
    const terms = { minimum_amount: '0.00', needs_bank_details: false, needs_bank_details_reason: null };
    expect(payout.bank_accounts).toEqual([
      { currency: 'EUR', iban_last4: '3000', country: 'DE', bic: 'COBADEFFXXX', holder: null, ...terms },
      { currency: 'GBP', iban_last4: '5432', country: 'GB', bic: 'WESTGB2L', holder: null, ...terms },
      { currency: 'USD', account_last4: '5678', routing_number: '021000021', holder: null, ...terms },
    ]);
    expect(JSON.stringify(created.body)).not.toContain('GB82WEST12345698765432');
    // A retried registration with the same accounts is the same seller.
    const again = await send(
      'POST',
      '/v1/sellers',
      seller('mcs_a', {
        iban: 'DE89370400440532013000',
        bic: 'COBADEFFXXX',
        bank_accounts: [USD_ACCOUNT, GBP_ACCOUNT],
      }),
    );
    expect(again.status).toBe(200);
  });

  it('validates each account exactly as the single bank details, naming the entry', async () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ currency: 'GBP', iban: 'GB82WEST12345698765433', bic: 'WESTGB2L' }, 'iban_invalid', 'iban'],
      [{ currency: 'GBP', iban: 'GB82WEST12345698765432', bic: 'WEST1' }, 'bic_invalid', 'bic'],
      [
        { currency: 'USD', account_number: '12', routing_number: '021000021' },
        'bank_details_invalid',
        'account_number',
      ],
      [
        { currency: 'USD', account_number: '12345678', routing_number: '021000022' },
        'bank_details_invalid',
        'routing_number',
      ],
      [{ currency: 'GBP', iban: 'GB82WEST12345698765432' }, 'bic_invalid', 'bic'],
      [
        { currency: 'gbp', iban: 'GB82WEST12345698765432', bic: 'WESTGB2L' },
        'currency_not_uppercase',
        'currency',
      ],
      [{ currency: 'XXY', iban: 'GB82WEST12345698765432', bic: 'WESTGB2L' }, 'currency_unknown', 'currency'],
    ];
    for (const [account, code, field] of cases) {
      const refused = await send(
        'POST',
        '/v1/sellers',
        seller('mcs_bad', { bank_accounts: [CHF_ACCOUNT, account] }),
      );
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ code, field: `payout.bank_accounts.1.${field}` });
    }
    const twice = await send(
      'POST',
      '/v1/sellers',
      seller('mcs_bad', { bank_accounts: [GBP_ACCOUNT, GBP_ACCOUNT] }),
    );
    expect(twice.body.error).toMatchObject({
      code: 'bank_details_invalid',
      field: 'payout.bank_accounts.1.currency',
    });
    const noDetails = await send(
      'POST',
      '/v1/sellers',
      seller('mcs_bad', { bank_accounts: [{ currency: 'GBP' }] }),
    );
    expect(noDetails.body.error).toMatchObject({
      code: 'bank_details_invalid',
      field: 'payout.bank_accounts.0',
    });
    const ownTwice = await send(
      'POST',
      '/v1/sellers',
      seller('mcs_bad', {
        iban: 'DE89370400440532013000',
        bic: 'COBADEFFXXX',
        bank_accounts: [{ currency: 'EUR', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' }],
      }),
    );
    expect(ownTwice.body.error).toMatchObject({
      code: 'bank_details_invalid',
      field: 'payout.bank_accounts.0',
    });
    expect((await send('GET', '/v1/sellers/mcs_bad')).status).toBe(404);
  });

  it('any IBAN that fails its check digits is refused in an account entry as at the top level', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 99 }), async (check) => {
        fc.pre(check !== 82);
        const iban = `GB${String(check).padStart(2, '0')}WEST12345698765432`;
        const refused = await send(
          'POST',
          '/v1/sellers',
          seller('mcs_prop', { bank_accounts: [{ currency: 'GBP', iban, bic: 'WESTGB2L' }] }),
        );
        expect(refused.body.error).toMatchObject({
          code: 'iban_invalid',
          field: 'payout.bank_accounts.0.iban',
        });
      }),
      { numRuns: 15 },
    );
  });

  it('PATCH adds or changes one currency’s account, keeps the others, and audits each change with its currency', async () => {
    const changed = await send('PATCH', '/v1/sellers/mcs_a', {
      payout: {
        bank_accounts: [
          { currency: 'GBP', account_holder_name: 'A Ltd (UK)' },
          { currency: 'CHF', iban: 'CH93 0076 2011 6238 5295 7', bic: 'UBSWCHZH80A' },
          { currency: 'EUR', iban: 'DE02120300000000202051', bic: 'BYLADEM1001' },
        ],
      },
    });
    expect(changed.status).toBe(200);
    const payout = changed.body.payout as {
      bank_account: unknown;
      bank_accounts: Array<Record<string, unknown>>;
    };
    expect(payout.bank_account).toMatchObject({ iban_last4: '2051' });
    expect(payout.bank_accounts.map((a) => [a.currency, a.iban_last4 ?? a.account_last4, a.holder])).toEqual([
      ['EUR', '2051', null],
      ['CHF', '2957', null],
      ['GBP', '5432', 'A Ltd (UK)'],
      ['USD', '5678', null],
    ]);
    const audit = await listBankDetailsAudit(t.ctx.pool, 'mcs_a');
    const changes = audit.map((row) => [
      row.currency,
      (row.after as { iban_last4?: string } | null)?.iban_last4,
    ]);
    expect(changes).toEqual([
      [null, '3000'],
      ['GBP', '5432'],
      ['USD', undefined],
      [null, '2051'],
      ['CHF', '2957'],
      ['GBP', '5432'],
    ]);
    expect(audit[5]?.before).toMatchObject({ holder: null });
    expect(audit[5]?.after).toMatchObject({ holder: 'A Ltd (UK)' });
  });

  it('GET …/balance shows balances per currency, keeping the own currency’s fields at the top level', async () => {
    await bookPayin(t.ctx.pool, {
      paymentOrderId: 'mcs_eur',
      sellerId: 'mcs_a',
      currency: 'EUR',
      grossMinor: 1_000n,
      holdDays: 3,
    });
    await bookPayin(t.ctx.pool, {
      paymentOrderId: 'mcs_gbp',
      sellerId: 'mcs_a',
      currency: 'GBP',
      grossMinor: 250n,
      holdDays: 3,
    });
    const balance = await send('GET', '/v1/sellers/mcs_a/balance');
    expect(balance.status).toBe(200);
    expect(balance.body).toMatchObject({ currency: 'EUR', pending: '10.00', available: '0.00' });
    const balances = balance.body.balances as Array<Record<string, unknown>>;
    expect(balances.map((b) => [b.currency, b.pending, b.balance_due])).toEqual([
      ['EUR', '10.00', '0.00'],
      ['GBP', '2.50', '0.00'],
    ]);
  });

  it('an order in a currency the seller has an account in is credited in that currency, unconverted; another is converted into the seller’s own', async () => {
    const pay = async (currency: string, amount: string) => {
      const body = savedMethodBody(['mcs_a'], { amount, currency });
      const response = await t.app.inject({
        method: 'POST',
        url: '/v1/payments',
        headers: { ...bearer(t.key), 'idempotency-key': uid('idem') },
        payload: body,
      });
      expect(response.statusCode).toBe(201);
      const id = `${body.checkout_id}_po0`;
      await executeOrder(t.modules.payins.runtime, id);
      const order = await send('GET', `/v1/payments/${id}`);
      return order.body;
    };
    const before = await getBalances(t.ctx.pool, ['seller:mcs_a:pending:GBP', 'seller:mcs_a:pending:EUR']);
    const gbp = await pay('GBP', '40.00');
    expect(gbp).toMatchObject({ currency: 'GBP', amount: '40.00' });
    expect(gbp.settlement).toBeUndefined();
    const jpy = await pay('JPY', '1000');
    expect(jpy.settlement).toMatchObject({ currency: 'EUR' });
    const after = await getBalances(t.ctx.pool, ['seller:mcs_a:pending:GBP', 'seller:mcs_a:pending:EUR']);
    const grew = (code: string) =>
      (after.get(code)?.balanceMinor ?? 0n) - (before.get(code)?.balanceMinor ?? 0n);
    expect(grew('seller:mcs_a:pending:GBP')).toBe(4_000n);
    expect(grew('seller:mcs_a:pending:EUR')).toBeGreaterThan(0n);
    expect((await t.modules.ledger.verify()).ok).toBe(true);
  });

  it('takes a minimum_amount per account in its currency’s major units (JPY 0, KWD 3 decimals), shows it, and PATCH changes one alone', async () => {
    const created = await send(
      'POST',
      '/v1/sellers',
      seller('mcs_min', {
        iban: 'DE89370400440532013000',
        bic: 'COBADEFFXXX',
        minimum_amount: '10.00',
        bank_accounts: [
          { ...GBP_ACCOUNT, minimum_amount: '50.00' },
          { currency: 'JPY', iban: 'CH9300762011623852957', bic: 'UBSWCHZH80A', minimum_amount: '5000' },
          {
            currency: 'KWD',
            iban: 'KW81CBKU0000000000001234560101',
            bic: 'CBKUKWKW',
            minimum_amount: '1.500',
          },
        ],
      }),
    );
    expect(created.status).toBe(201);
    const minimums = (body: Body) =>
      (
        body.payout as { bank_accounts: Array<{ currency: string; minimum_amount: string }> }
      ).bank_accounts.map((a) => [a.currency, a.minimum_amount]);
    expect(minimums(created.body)).toEqual([
      ['EUR', '10.00'],
      ['GBP', '50.00'],
      ['JPY', '5000'],
      ['KWD', '1.500'],
    ]);
    const changed = await send('PATCH', '/v1/sellers/mcs_min', {
      payout: {
        bank_accounts: [
          { currency: 'JPY', minimum_amount: '2500' },
          { currency: 'EUR', minimum_amount: '20.00' },
        ],
      },
    });
    expect(changed.status).toBe(200);
    expect(minimums(changed.body)).toEqual([
      ['EUR', '20.00'],
      ['GBP', '50.00'],
      ['JPY', '2500'],
      ['KWD', '1.500'],
    ]);
    expect((changed.body.payout as { minimum_amount: string }).minimum_amount).toBe('20.00');
    // Only the details were audited: a minimum is not a change of bank details.
    expect((await listBankDetailsAudit(t.ctx.pool, 'mcs_min')).map((row) => row.currency)).toEqual([
      null,
      'GBP',
      'JPY',
      'KWD',
    ]);
  });

  it('refuses a minimum_amount more precise than its currency, of another type, or given twice for the own currency', async () => {
    const cases: Array<[Record<string, unknown>, Record<string, unknown>, string, string]> = [
      [
        {},
        { currency: 'JPY', iban: 'CH9300762011623852957', bic: 'UBSWCHZH80A', minimum_amount: '1000.5' },
        'amount_too_precise',
        'payout.bank_accounts.0.minimum_amount',
      ],
      [
        {},
        {
          currency: 'KWD',
          iban: 'KW81CBKU0000000000001234560101',
          bic: 'CBKUKWKW',
          minimum_amount: '1.2345',
        },
        'amount_too_precise',
        'payout.bank_accounts.0.minimum_amount',
      ],
      [
        {},
        { ...GBP_ACCOUNT, minimum_amount: 50 },
        'amount_not_string',
        'payout.bank_accounts.0.minimum_amount',
      ],
      [
        {},
        { ...GBP_ACCOUNT, minimum_amount: '-1.00' },
        'amount_negative',
        'payout.bank_accounts.0.minimum_amount',
      ],
      [
        { minimum_amount: '1.00' },
        { currency: 'EUR', minimum_amount: '2.00' },
        'validation_failed',
        'payout.bank_accounts.0.minimum_amount',
      ],
      [{}, { currency: 'CHF', minimum_amount: '2.00' }, 'bank_details_invalid', 'payout.bank_accounts.0'],
    ];
    for (const [top, entry, code, field] of cases) {
      const refused = await send('PATCH', '/v1/sellers/mcs_min', {
        payout: { ...top, bank_accounts: [entry] },
      });
      expect(refused.status, JSON.stringify(entry)).toBe(400);
      expect(refused.body.error).toMatchObject({ code, field });
    }
  });

  it('shows needs_bank_details per account; the seller-level flag is true while any is set, and new details for that currency alone clear it', async () => {
    await flagNeedsBankDetails(t.ctx.pool, 'mcs_min', 'GBP', 'payout po_mcs1 returned: AC04 closed account');
    const flagged = await send('GET', '/v1/sellers/mcs_min');
    const payout = flagged.body.payout as {
      needs_bank_details: boolean;
      needs_bank_details_reason: string | null;
      bank_accounts: Array<{
        currency: string;
        needs_bank_details: boolean;
        needs_bank_details_reason: string | null;
      }>;
    };
    expect(payout.needs_bank_details).toBe(true);
    expect(payout.needs_bank_details_reason).toBe(
      'GBP account: payout po_mcs1 returned: AC04 closed account',
    );
    expect(
      payout.bank_accounts.map((a) => [a.currency, a.needs_bank_details, a.needs_bank_details_reason]),
    ).toEqual([
      ['EUR', false, null],
      ['GBP', true, 'payout po_mcs1 returned: AC04 closed account'],
      ['JPY', false, null],
      ['KWD', false, null],
    ]);
    const listed = await send('GET', '/v1/sellers?flagged=true&limit=100');
    expect((listed.body.data as Array<{ seller_account: string }>).map((s) => s.seller_account)).toContain(
      'mcs_min',
    );
    // New details for another currency (and a new minimum for GBP) leave the GBP flag.
    const other = await send('PATCH', '/v1/sellers/mcs_min', {
      payout: {
        bank_accounts: [
          { currency: 'JPY', iban: 'GB29NWBK60161331926819', bic: 'NWBKGB2L' },
          { currency: 'GBP', minimum_amount: '60.00' },
        ],
      },
    });
    expect(other.body.payout).toMatchObject({ needs_bank_details: true });
    const fixed = await send('PATCH', '/v1/sellers/mcs_min', {
      payout: { bank_accounts: [{ currency: 'GBP', iban: 'GB29NWBK60161331926819', bic: 'NWBKGB2L' }] },
    });
    expect(fixed.body.payout).toMatchObject({ needs_bank_details: false, needs_bank_details_reason: null });
    const unlisted = await send('GET', '/v1/sellers?flagged=true&limit=100');
    expect(
      (unlisted.body.data as Array<{ seller_account: string }>).map((s) => s.seller_account),
    ).not.toContain('mcs_min');
  });
});
