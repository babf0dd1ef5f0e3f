import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/db/pool.ts';
import { isAppError } from '../../src/errors.ts';
import { verifyLedger } from '../../src/ledger/index.ts';
import { createLogger } from '../../src/log.ts';
import {
  getPayout,
  loadPayoutsConfig,
  providerFor,
  readPayoutFile,
  runPayouts,
  settleFromAch,
  settleFromCamt,
  settleFromStatusReport,
  type RunReport,
} from '../../src/payouts/index.ts';
import { createManualPayout } from '../../src/payouts/manual.ts';
import { addDays, isoDateOf } from '../../src/payouts/settings.ts';
import { findSeller, listBankDetailsAudit } from '../../src/sellers/index.ts';
import {
  settingsWireOf,
  registerSellerWithSettings,
  updateSellerSettings,
} from '../../src/sellers/settings-service.ts';
import { removeSellerBankAccount } from '../../src/payouts/bank-account-removal.ts';
import { bookPayin, sellerBalances } from '../support/debt.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { buildReturnFile, checkNachaFile } from '../support/nacha.ts';
import { camt054 } from '../support/payouts.ts';

/**
 * Per-currency payout terms (docs/payouts.md "Several currencies"): each currency's own minimum, a return in one
 * currency stopping that currency only, and a removed account's currency skipped with its money kept.
 */

let db: TestDatabase;
let pool: Pool;
const log = createLogger('silent');
const config = loadPayoutsConfig(
  {
    BURSAR_PAYOUT_PROVIDERS: 'pain001,nacha',
    BURSAR_PAYOUT_DEBTOR_ACCOUNTS: 'GBP:GB29NWBK60161331926819:NWBKGB2L',
  },
  1,
  2,
  '/nonexistent',
);
const provider = providerFor(config);
const today = isoDateOf(new Date());
const day = (n: number) => addDays(today, n);

function run(date: string): Promise<RunReport> {
  return runPayouts({ pool, log, provider, now: new Date(`${date}T12:00:00Z`) }, date);
}

const GBP = { currency: 'GBP', iban: 'GB82 WEST 1234 5698 7654 32', bic: 'WESTGB2L' };
const USD = { currency: 'USD', account_number: '12345678', routing_number: '021000021' };

/** A EUR seller paid daily, with a EUR account and accounts in `others` (a GBP and a USD one by default). */
async function register(id: string, others: Array<Record<string, unknown>> = [GBP, USD], minimum?: string) {
  await registerSellerWithSettings(
    pool,
    { sellerAccount: id, name: `${id} Ltd`, currency: 'EUR', metadata: {} },
    {
      iban: 'DE89370400440532013000',
      bic: 'COBADEFFXXX',
      schedule: { interval: 'daily' },
      ...(minimum === undefined ? {} : { minimum_amount: minimum }),
      bank_accounts: others as never,
    },
    undefined,
    null,
  );
}

let payins = 0;
async function payin(seller: string, currency: string, minor: bigint): Promise<void> {
  payins += 1;
  await bookPayin(pool, {
    paymentOrderId: `${seller}_${payins}`,
    sellerId: seller,
    currency,
    grossMinor: minor,
  });
}

/** The run's outcome per currency for a seller, from its marker (the own currency's and the others'). */
async function outcomesOf(seller: string, date: string): Promise<Record<string, string>> {
  const r = await pool.query<{
    outcome: string;
    currency_outcomes: Record<string, { outcome: string }> | null;
  }>(
    'SELECT outcome, currency_outcomes FROM payouts.seller_runs WHERE seller_account = $1 AND run_date = $2',
    [seller, date],
  );
  const row = r.rows[0];
  if (!row) return {};
  const others = Object.entries(row.currency_outcomes ?? {}).map(([c, o]) => [c, o.outcome]);
  return { EUR: row.outcome, ...Object.fromEntries(others) };
}

async function payoutOf(seller: string, currency: string, date: string) {
  const r = await pool.query<{ id: string }>(
    `SELECT id FROM payouts.payouts WHERE seller_account = $1 AND currency = $2 AND run_date = $3`,
    [seller, currency, date],
  );
  const payout = await getPayout(pool, r.rows[0]?.id ?? '');
  if (!payout) throw new Error(`no ${currency} payout of ${seller} on ${date}`);
  return payout;
}

/** The seller's accounts as the API shows them: currency → [needs_bank_details, minimum_amount]. */
async function accountsOf(id: string) {
  const seller = await findSeller(pool, id);
  if (!seller) throw new Error(`no seller ${id}`);
  const wire = await settingsWireOf(pool, seller);
  return {
    flagged: wire.payout.needs_bank_details,
    reason: wire.payout.needs_bank_details_reason,
    accounts: Object.fromEntries(
      wire.payout.bank_accounts.map((a) => [a.currency, [a.needs_bank_details, a.minimum_amount]]),
    ),
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return isAppError(error) ? error.code : String(error);
  }
}

function manual(seller: string, currency: string, amount: string) {
  return createManualPayout(pool, {
    apiKeyId: 'key_terms',
    idempotencyKey: `${seller}-${currency}-${amount}-${Math.random()}`,
    body: { seller_account: seller, amount, currency },
    provider: () => 'iso20022',
    path: '/v1/payouts',
  });
}

function pain002Reject(messageId: string, currency: string, payoutId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt>
<GrpHdr><MsgId>STS-${payoutId}</MsgId><CreDtTm>2026-03-02T08:00:00</CreDtTm></GrpHdr>
<OrgnlGrpInfAndSts><OrgnlMsgId>${messageId}</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId><GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>
<OrgnlPmtInfAndSts><OrgnlPmtInfId>${messageId}-${currency}</OrgnlPmtInfId><TxInfAndSts><OrgnlInstrId>${payoutId}</OrgnlInstrId><OrgnlEndToEndId>${payoutId}</OrgnlEndToEndId><TxSts>RJCT</TxSts><StsRsnInf><Rsn><Cd>AC04</Cd></Rsn><AddtlInf>closed</AddtlInf></StsRsnInf></TxInfAndSts></OrgnlPmtInfAndSts>
</CstmrPmtStsRpt></Document>`;
}

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 4 });
  pool = db.pool;
});
afterAll(async () => {
  await db.drop();
});

describe('a minimum payout per currency', () => {
  it('the run applies each currency’s own minimum, in that currency’s minor units (JPY 0, USD 2, KWD 3 decimals)', async () => {
    await register(
      'mn_a',
      [
        { ...GBP, minimum_amount: '50.00' },
        { ...USD, minimum_amount: '25.00' },
        { currency: 'JPY', iban: 'CH9300762011623852957', bic: 'UBSWCHZH80A', minimum_amount: '5000' },
        { currency: 'KWD', iban: 'KW81CBKU0000000000001234560101', bic: 'CBKUKWKW', minimum_amount: '1.500' },
      ],
      '10.00',
    );
    expect((await accountsOf('mn_a')).accounts).toEqual({
      EUR: [false, '10.00'],
      GBP: [false, '50.00'],
      JPY: [false, '5000'],
      KWD: [false, '1.500'],
      USD: [false, '25.00'],
    });
    await payin('mn_a', 'EUR', 1_000n); // 10.00: at the EUR minimum
    await payin('mn_a', 'GBP', 4_999n); // 49.99: below the GBP minimum
    await payin('mn_a', 'USD', 2_500n); // 25.00: at the USD minimum
    await payin('mn_a', 'JPY', 4_999n); // ¥4,999: below the JPY minimum
    await payin('mn_a', 'KWD', 1_500n); // 1.500 KWD: at the KWD minimum
    const report = await run(day(1));
    expect(await outcomesOf('mn_a', day(1))).toEqual({
      EUR: 'paid',
      GBP: 'below_minimum',
      JPY: 'below_minimum',
      KWD: 'paid',
      USD: 'paid',
    });
    expect(report.totalsMinor).toEqual({ EUR: 1_000n, KWD: 1_500n, USD: 2_500n });
    // Below its minimum, a currency's money stays available in it (not reported as skipped: it has an account).
    expect(report.skipped).toEqual([]);
    expect(await sellerBalances(pool, 'mn_a', 'GBP')).toMatchObject({ available: 4_999n, inTransit: 0n });
    expect(await sellerBalances(pool, 'mn_a', 'JPY')).toMatchObject({ available: 4_999n, inTransit: 0n });
  });

  it('once a currency’s balance reaches its minimum, the next run pays all of it', async () => {
    await payin('mn_a', 'GBP', 1n);
    await payin('mn_a', 'JPY', 1n);
    await run(day(2));
    expect(await outcomesOf('mn_a', day(2))).toMatchObject({ GBP: 'paid', JPY: 'paid' });
    expect(await payoutOf('mn_a', 'GBP', day(2))).toMatchObject({ amountMinor: 5_000n });
    expect(await payoutOf('mn_a', 'JPY', day(2))).toMatchObject({ amountMinor: 5_000n });
  });

  it('changing one currency’s minimum keeps its details, its flag and every other currency’s minimum, and is not a bank-details change', async () => {
    const seller = await findSeller(pool, 'mn_a');
    if (!seller) throw new Error('no seller');
    const audited = (await listBankDetailsAudit(pool, 'mn_a')).length;
    await updateSellerSettings(
      pool,
      seller,
      { bank_accounts: [{ currency: 'GBP', minimum_amount: '75.00' }] },
      undefined,
      null,
    );
    expect((await accountsOf('mn_a')).accounts).toMatchObject({
      GBP: [false, '75.00'],
      USD: [false, '25.00'],
    });
    expect(await listBankDetailsAudit(pool, 'mn_a')).toHaveLength(audited);
    expect((await verifyLedger(pool)).ok).toBe(true);
  });
});

describe('needs_bank_details per currency after a returned payout', () => {
  const sellers = { eur: 'rf_eur', gbp: 'rf_gbp', usd: 'rf_usd' } as const;

  it('a pain.002 rejection in EUR, a camt.054 return in GBP and an ACH return in USD each flag only the account of their currency', async () => {
    for (const id of Object.values(sellers)) {
      await register(id);
      await payin(id, 'EUR', 3_000n);
      await payin(id, 'GBP', 2_000n);
      await payin(id, 'USD', 1_000n);
    }
    await run(day(3));
    for (const id of Object.values(sellers)) {
      expect(await outcomesOf(id, day(3))).toEqual({ EUR: 'paid', GBP: 'paid', USD: 'paid' });
    }
    // EUR: the bank rejects the transaction in its pain.002 answer to the EUR file.
    const eur = await payoutOf(sellers.eur, 'EUR', day(3));
    const file = await pool.query<{ message_id: string }>(
      'SELECT message_id FROM payouts.payout_files WHERE id = $1',
      [eur.payoutFileId],
    );
    const rejected = await settleFromStatusReport(
      pool,
      pain002Reject(file.rows[0]?.message_id ?? '', 'EUR', eur.id),
      'rf-eur.xml',
    );
    expect(rejected).toMatchObject({ returned: 1, unknown: [] });
    // GBP: the statement shows the credit transfer coming back.
    const gbp = await payoutOf(sellers.gbp, 'GBP', day(3));
    const camt = camt054([{ endToEndId: gbp.id, amount: '20.00', currency: 'GBP', kind: 'returned' }]);
    expect(await settleFromCamt(pool, camt, 'rf-gbp.xml')).toMatchObject({ returned: 1 });
    // USD: the receiving bank returns the ACH entry (R03).
    const usd = await payoutOf(sellers.usd, 'USD', day(3));
    const ach = checkNachaFile(await readPayoutFile(pool, usd.payoutFileId ?? ''));
    const entry = ach.batches
      .flatMap((b) => b.entries)
      .find((e) => e.identification === sellers.usd.toUpperCase());
    if (!entry) throw new Error('no ACH entry');
    const returns = buildReturnFile([{ kind: 'return', code: 'R03', entry }], {
      odfi: '09100001',
      rdfi: '02100002',
    });
    expect(await settleFromAch(pool, returns, 'rf-usd.ach')).toMatchObject({ returned: 1, unmatched: [] });

    const flags = async (id: string) => (await accountsOf(id)).accounts;
    expect(await flags(sellers.eur)).toMatchObject({
      EUR: [true, '0.00'],
      GBP: [false, '0.00'],
      USD: [false, '0.00'],
    });
    expect(await flags(sellers.gbp)).toMatchObject({
      EUR: [false, '0.00'],
      GBP: [true, '0.00'],
      USD: [false, '0.00'],
    });
    expect(await flags(sellers.usd)).toMatchObject({
      EUR: [false, '0.00'],
      GBP: [false, '0.00'],
      USD: [true, '0.00'],
    });
    // The seller-level flag stays true while any account needs details; its reason names the currency.
    const gbpSeller = await accountsOf(sellers.gbp);
    expect(gbpSeller.flagged).toBe(true);
    expect(gbpSeller.reason).toMatch(new RegExp(`^GBP account: payout ${gbp.id} returned`));
    expect((await accountsOf(sellers.eur)).reason).toMatch(new RegExp(`^payout ${eur.id} returned`));
  });

  it('the next run stops only the flagged currency (needs_bank_details), pays the others, and keeps the returned money available', async () => {
    for (const id of Object.values(sellers)) {
      await payin(id, 'EUR', 100n);
      await payin(id, 'GBP', 100n);
      await payin(id, 'USD', 100n);
    }
    const report = await run(day(4));
    expect(await outcomesOf(sellers.eur, day(4))).toEqual({
      EUR: 'needs_bank_details',
      GBP: 'paid',
      USD: 'paid',
    });
    expect(await outcomesOf(sellers.gbp, day(4))).toEqual({
      EUR: 'paid',
      GBP: 'needs_bank_details',
      USD: 'paid',
    });
    expect(await outcomesOf(sellers.usd, day(4))).toEqual({
      EUR: 'paid',
      GBP: 'paid',
      USD: 'needs_bank_details',
    });
    expect(report.outcomes.needs_bank_details).toBe(3);
    expect(report.skipped).toEqual([]);
    // The returned payout and the new pay-in wait, available, in the flagged currency.
    expect(await sellerBalances(pool, sellers.eur, 'EUR')).toMatchObject({
      available: 3_100n,
      inTransit: 0n,
    });
    expect(await sellerBalances(pool, sellers.gbp, 'GBP')).toMatchObject({
      available: 2_100n,
      inTransit: 0n,
    });
    expect(await sellerBalances(pool, sellers.usd, 'USD')).toMatchObject({
      available: 1_100n,
      inTransit: 0n,
    });
    // A manual payout in the flagged currency is refused; in another currency it goes.
    expect(await codeOf(manual(sellers.gbp, 'GBP', '1.00'))).toBe('bank_details_missing');
    expect(await codeOf(manual(sellers.eur, 'EUR', '1.00'))).toBe('bank_details_missing');
    await payin(sellers.gbp, 'EUR', 500n);
    await run(day(4)); // releases the hold; the seller ran already
    expect((await manual(sellers.gbp, 'EUR', '5.00')).status).toBe(201);
  });

  it('new details for another currency leave the flag; new details for the flagged currency clear it and the next run pays it', async () => {
    const seller = await findSeller(pool, sellers.eur);
    if (!seller) throw new Error('no seller');
    await updateSellerSettings(
      pool,
      seller,
      { bank_accounts: [{ currency: 'GBP', iban: 'GB29NWBK60161331926819', bic: 'NWBKGB2L' }] },
      undefined,
      null,
    );
    expect((await accountsOf(sellers.eur)).accounts).toMatchObject({
      EUR: [true, '0.00'],
      GBP: [false, '0.00'],
    });
    await updateSellerSettings(
      pool,
      seller,
      { bank_accounts: [{ currency: 'EUR', iban: 'DE02120300000000202051', bic: 'BYLADEM1001' }] },
      undefined,
      null,
    );
    expect(await accountsOf(sellers.eur)).toMatchObject({ flagged: false, reason: null });
    await run(day(5));
    expect(await outcomesOf(sellers.eur, day(5))).toMatchObject({ EUR: 'paid' });
    expect(await payoutOf(sellers.eur, 'EUR', day(5))).toMatchObject({
      amountMinor: 3_100n,
      destination: { iban: 'DE02120300000000202051' },
    });
    expect((await verifyLedger(pool)).ok).toBe(true);
  });

  it('a seller whose every account waits for new details is not due at all (no marker, as before)', async () => {
    await register('rf_one', []);
    await payin('rf_one', 'EUR', 700n);
    await run(day(6));
    const payout = await payoutOf('rf_one', 'EUR', day(6));
    const camt = camt054([{ endToEndId: payout.id, amount: '7.00', currency: 'EUR', kind: 'returned' }]);
    await settleFromCamt(pool, camt, 'rf-one.xml');
    await run(day(7));
    expect(await outcomesOf('rf_one', day(7))).toEqual({});
  });
});

describe('a removed account', () => {
  it('is refused while a payout in its currency is in flight, then removed once it is paid; audited with its currency', async () => {
    await register('rm_a');
    await payin('rm_a', 'GBP', 4_000n);
    await run(day(8));
    const inFlight = await payoutOf('rm_a', 'GBP', day(8));
    expect(inFlight.status).toBe('in_transit');
    const remove = (currency: string) =>
      removeSellerBankAccount(pool, { sellerAccount: 'rm_a', currency, apiKeyId: 'key_rm' });
    expect(await codeOf(remove('GBP'))).toBe('bank_account_payouts_in_flight');
    expect(await codeOf(remove('EUR'))).toBe('bank_account_is_default');
    expect(await codeOf(remove('CHF'))).toBe('bank_account_not_found');
    const paid = camt054([{ endToEndId: inFlight.id, amount: '40.00', currency: 'GBP', kind: 'paid' }]);
    expect(await settleFromCamt(pool, paid, 'rm-paid.xml')).toMatchObject({ paid: 1 });
    expect((await remove('GBP')).currency).toBe('GBP');
    expect(Object.keys((await accountsOf('rm_a')).accounts)).toEqual(['EUR', 'USD']);
    const audit = (await listBankDetailsAudit(pool, 'rm_a')).at(-1);
    expect(audit).toMatchObject({ currency: 'GBP', apiKeyId: 'key_rm', after: null });
    expect(audit?.before).toMatchObject({ iban_last4: '5432' });
  });

  it('its currency is skipped by the next run and reported, its balance staying available in that currency', async () => {
    await payin('rm_a', 'GBP', 1_250n);
    await payin('rm_a', 'EUR', 800n);
    const report = await run(day(9));
    expect(await outcomesOf('rm_a', day(9))).toEqual({
      EUR: 'paid',
      GBP: 'no_bank_details',
      USD: 'nothing_available',
    });
    expect(report.skipped).toContainEqual({ sellerAccount: 'rm_a', currency: 'GBP', availableMinor: 1_250n });
    expect(await sellerBalances(pool, 'rm_a', 'GBP')).toMatchObject({ available: 1_250n, inTransit: 0n });
    expect(await codeOf(manual('rm_a', 'GBP', '1.00'))).toBe('bank_details_missing');
    // A GBP account given again is paid by the next run.
    const seller = await findSeller(pool, 'rm_a');
    if (!seller) throw new Error('no seller');
    await updateSellerSettings(pool, seller, { bank_accounts: [GBP] as never }, undefined, null);
    await run(day(10));
    expect(await payoutOf('rm_a', 'GBP', day(10))).toMatchObject({ amountMinor: 1_250n });
    expect((await verifyLedger(pool)).ok).toBe(true);
  });
});
