import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/db/pool.ts';
import { isAppError } from '../../src/errors.ts';
import { verifyLedger } from '../../src/ledger/index.ts';
import { createLogger } from '../../src/log.ts';
import {
  getPayout,
  listPayoutFiles,
  loadPayoutsConfig,
  providerFor,
  readPayoutFile,
  runPayouts,
  type RunReport,
} from '../../src/payouts/index.ts';
import { createManualPayout } from '../../src/payouts/manual.ts';
import { isoDateOf } from '../../src/payouts/settings.ts';
import { findSeller } from '../../src/sellers/index.ts';
import { registerSellerWithSettings } from '../../src/sellers/settings-service.ts';
import { getWallet } from '../../src/sellers/wallet.ts';
import { bookPayin } from '../support/debt.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { xsdErrors } from '../support/payouts.ts';

let db: TestDatabase;
let pool: Pool;
const log = createLogger('silent');
const GBP_DEBTOR = 'GB29NWBK60161331926819';
const config = loadPayoutsConfig(
  { BURSAR_PAYOUT_DEBTOR_ACCOUNTS: `GBP:${GBP_DEBTOR}:NWBKGB2L` },
  1,
  2,
  '/nonexistent',
);
const provider = providerFor(config);
const today = isoDateOf(new Date());

function run(): Promise<RunReport> {
  return runPayouts({ pool, log, provider, now: new Date() }, today);
}

/** A EUR seller paid daily, with its EUR account and a GBP one (none for CHF). */
async function registerMultiCurrencySeller(id: string): Promise<void> {
  await registerSellerWithSettings(
    pool,
    { sellerAccount: id, name: `${id} Ltd`, currency: 'EUR', metadata: {} },
    {
      iban: 'DE89370400440532013000',
      bic: 'COBADEFFXXX',
      schedule: { interval: 'daily' },
      reserve: { type: 'percentage', basis_points: 1000 },
      bank_accounts: [{ currency: 'GBP', iban: 'GB82 WEST 1234 5698 7654 32', bic: 'WESTGB2L' }],
    },
    undefined,
    null,
  );
}

async function payin(seller: string, id: string, currency: string, minor: bigint): Promise<void> {
  await bookPayin(pool, { paymentOrderId: `${seller}_${id}`, sellerId: seller, currency, grossMinor: minor });
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return isAppError(error) ? error.code : String(error);
  }
}

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 4 });
  pool = db.pool;
});
afterAll(async () => {
  await db.drop();
});

describe('multi-currency payouts', () => {
  let report: RunReport;

  it('the run pays each currency balance on its own to the account of that currency, less that currency’s reserve', async () => {
    await registerMultiCurrencySeller('mc_a');
    await payin('mc_a', 'eur', 'EUR', 10_000n);
    await payin('mc_a', 'gbp', 'GBP', 5_000n);
    await payin('mc_a', 'chf', 'CHF', 3_000n);
    report = await run();
    expect(report.payoutsCreated).toBe(2);
    // 10 % percentage reserve in each currency.
    expect(report.totalsMinor).toEqual({ EUR: 9_000n, GBP: 4_500n });
    expect(report.outcomes.paid).toBe(2);
    const runs = await pool.query<{ outcome: string; payout_id: string; currency_outcomes: unknown }>(
      'SELECT outcome, payout_id, currency_outcomes FROM payouts.seller_runs WHERE seller_account = $1',
      ['mc_a'],
    );
    expect(runs.rows[0]?.outcome).toBe('paid');
    const outcomes = runs.rows[0]?.currency_outcomes as Record<
      string,
      { outcome: string; payout_id: string }
    >;
    expect(outcomes.GBP?.outcome).toBe('paid');
    expect(outcomes.CHF?.outcome).toBe('no_bank_details');
    const gbp = await getPayout(pool, outcomes.GBP?.payout_id ?? '');
    expect(gbp).toMatchObject({ currency: 'GBP', amountMinor: 4_500n });
    expect(gbp?.destination).toMatchObject({ kind: 'sepa', iban: 'GB82WEST12345698765432' });
  });

  it('a currency with money and no account is skipped visibly (reported) and its money stays available', async () => {
    expect(report.skipped).toEqual([{ sellerAccount: 'mc_a', currency: 'CHF', availableMinor: 2_700n }]);
    expect(report.outcomes.no_bank_details).toBe(1);
    const seller = await findSeller(pool, 'mc_a');
    if (!seller) throw new Error('no seller');
    const wallet = await getWallet(pool, seller);
    expect(wallet.balances.map((b) => b.currency)).toEqual(['EUR', 'CHF', 'GBP']);
    const chf = wallet.balances.find((b) => b.currency === 'CHF');
    expect(chf).toMatchObject({ availableMinor: 2_700n, reservedMinor: 300n, inTransitMinor: 0n });
    expect(wallet.balances.find((b) => b.currency === 'GBP')).toMatchObject({
      availableMinor: 0n,
      inTransitMinor: 4_500n,
    });
    // The top-level fields stay the seller's own currency's.
    expect(wallet).toMatchObject({ currency: 'EUR', inTransitMinor: 9_000n });
  });

  it('writes one pain.001 file per currency, each from its debtor account, valid against the official XSD', async () => {
    const files = (await listPayoutFiles(pool, { limit: 10 })).filter((f) =>
      report.submit.files.some((s) => s.id === f.id),
    );
    expect(files.map((f) => [f.currency, f.debtorIban]).sort()).toEqual([
      ['EUR', 'DE89370400440532013000'],
      ['GBP', GBP_DEBTOR],
    ]);
    for (const file of files) {
      const xml = await readPayoutFile(pool, file.id);
      expect(await xsdErrors(xml, 'pain.001.001.09')).toEqual([]);
      expect(xml).toContain(`<DbtrAcct><Id><IBAN>${file.debtorIban ?? ''}</IBAN></Id><Ccy>${file.currency}`);
    }
    expect((await verifyLedger(pool)).ok).toBe(true);
  });

  it('running the date again pays nobody twice, in any currency', async () => {
    const again = await run();
    expect(again.payoutsCreated).toBe(0);
    expect(again.outcomes.paid).toBe(0);
    expect(again.skipped).toEqual([]);
  });

  it('a manual payout in a currency with no account is bank_details_missing; one the seller holds nothing in is payout_currency_mismatch; another currency with an account is paid to it', async () => {
    const request = (currency: string, amount: string, key: string) =>
      createManualPayout(pool, {
        apiKeyId: 'key_mc',
        idempotencyKey: key,
        body: { seller_account: 'mc_a', amount, currency },
        provider: () => 'iso20022',
        path: '/v1/payouts',
      });
    expect(await codeOf(request('CHF', '1.00', 'k1'))).toBe('bank_details_missing');
    expect(await codeOf(request('JPY', '100', 'k2'))).toBe('payout_currency_mismatch');
    await payin('mc_a', 'gbp2', 'GBP', 2_000n);
    await runPayouts({ pool, log, provider, now: new Date() }, today); // releases the hold; the seller already ran
    const paid = await request('GBP', '20.00', 'k3');
    expect(paid.status).toBe(201);
    expect(paid.body).toMatchObject({ currency: 'GBP', amount: '20.00' });
    expect(await codeOf(request('GBP', '0.01', 'k4'))).toBe('payout_exceeds_available');
  });

  it('the database keeps one account per seller and currency, never a second one for the seller’s own currency', async () => {
    const insert = (currency: string, extra = '') =>
      pool.query(
        `INSERT INTO sellers.payout_bank_accounts (seller_account, currency, iban, bic${extra ? ', account_number, routing_number' : ''})
         VALUES ('mc_a', $1, 'GB82WEST12345698765432', 'WESTGB2L'${extra})`,
        [currency],
      );
    await expect(insert('GBP')).rejects.toThrow(/duplicate key/);
    await expect(insert('EUR')).rejects.toThrow(/payout settings/);
    await expect(insert('USD', ", '12345678', '021000021'")).rejects.toThrow(/check constraint/);
    await expect(
      pool.query(
        `INSERT INTO payouts.payouts (id, seller_account, currency, amount_minor, status, source, run_date, provider,
           destination, ledger_entry_id)
         SELECT 'po_dupgbp', seller_account, currency, amount_minor, status, source, run_date, provider,
           destination, ledger_entry_id FROM payouts.payouts WHERE seller_account = 'mc_a' AND currency = 'GBP'
           AND source = 'scheduled'`,
      ),
    ).rejects.toThrow(/payouts_seller_period/);
  });
});
