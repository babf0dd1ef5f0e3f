import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RatesProvider } from '../../src/fx/index.ts';
import { verifyLedger } from '../../src/ledger/index.ts';
import {
  isoDateOf,
  listPayoutFiles,
  readPayoutFile,
  releaseDueHolds,
  runPayouts,
} from '../../src/payouts/index.ts';
import { reconcileFiles, sandboxReportFetcher } from '../../src/reconciliation/index.ts';
import { savedMethodBody, uid } from '../support/payins.ts';
import { xsdErrors } from '../support/payouts.ts';
import { startPayinsStack, type PayinsStack } from '../support/payins-stack.ts';

/**
 * Multi-currency end to end (docs/currencies.md): Bursar's app and worker, the sandbox PSP through the Stripe
 * adapter, the rates read from the sandbox's ECB-format file. Buyers pay in EUR, JPY and KWD; sellers are paid
 * in USD and GBP; the sandbox settles every charge in USD at its own rate (reference less a spread) and says so
 * on the balance transaction. Every seller is credited in their own currency only, the PSP's conversion books
 * the FX result, and every entry balances per currency (`ledger verify`).
 */

let stack: PayinsStack;
const USD_DEBTOR = { iban: 'DE75512108001245126199', bic: 'SOGEDEFFXXX' };
const GBP_DEBTOR = { iban: 'GB29NWBK60161331926819', bic: 'NWBKGB2L' };
const DAY_MS = 24 * 60 * 60 * 1000;
/** Before the first charge: the start of the PSP report reconciled at the end. */
let startedAt: Date;

/** The sandbox's rates file, read once the sandbox listens (its port is known only then). */
const sandboxRates: RatesProvider = {
  source: 'ecb:sandbox',
  fetch: async () => {
    const response = await fetch(`${stack.sandbox.url}/v1/fx/eurofxref-daily.xml`);
    return await response.text();
  },
};

beforeAll(async () => {
  startedAt = new Date(Date.now() - 60_000);
  stack = await startPayinsStack({
    sandbox: { settlementCurrency: 'USD', fxSpreadBps: 50 },
    compose: {
      fxRates: sandboxRates,
      fx: { markupBps: 100 },
      platformFee: { basisPoints: 1000n, fixedMinor: 0n },
      // The platform pays each payout currency from its own account (one pain.001 file per debtor and currency).
      payouts: { debtorAccounts: { USD: USD_DEBTOR, GBP: GBP_DEBTOR } },
    },
  });
  await stack.modules.fx.refresh();
  // Each seller's bank account is in their payout currency; paid daily, no reserve, after the 7-day hold.
  const sellers = [
    { id: 'fx_usd_seller', currency: 'USD', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' },
    { id: 'fx_gbp_seller', currency: 'GBP', iban: 'GB82WEST12345698765432', bic: 'WESTGB2L' },
  ];
  for (const seller of sellers) {
    const created = await stack.post('/v1/sellers', {
      seller_account: seller.id,
      name: seller.id,
      currency: seller.currency,
      payout: { iban: seller.iban, bic: seller.bic, schedule: { interval: 'daily' } },
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
  }
});

afterAll(async () => {
  await stack?.close();
});

async function balance(seller: string): Promise<Record<string, unknown>> {
  const answer = await stack.get(`/v1/sellers/${seller}/balance`);
  expect(answer.status).toBe(200);
  return answer.json;
}

async function accounts(pattern: string): Promise<Map<string, bigint>> {
  const rows = await stack.db.pool.query<{ code: string; balance: bigint }>(
    `SELECT code, (CASE WHEN type IN ('asset', 'expense') THEN debits_minor - credits_minor
                        ELSE credits_minor - debits_minor END)::int8 AS balance
       FROM ledger.accounts WHERE code LIKE $1`,
    [pattern],
  );
  return new Map(rows.rows.map((row) => [row.code, BigInt(row.balance)]));
}

async function payAndWait(body: Record<string, unknown>): Promise<string> {
  const answer = await stack.pay(body, uid('idem'));
  expect(answer.status, JSON.stringify(answer.json)).toBe(201);
  const orders = (body.payment_orders as Array<{ payment_order_id: string }>).map((o) => o.payment_order_id);
  for (const id of orders) await stack.waitForStatus(id, 'SUCCESS');
  return orders[0] ?? '';
}

describe('checkouts in the buyer’s currency, sellers paid in theirs, over the sandbox PSP', () => {
  it('a EUR checkout for a USD seller and a GBP seller credits each in their currency only; the ledger balances per currency', async () => {
    const body = savedMethodBody(['fx_usd_seller', 'fx_gbp_seller'], { amount: '100.00', currency: 'EUR' });
    await payAndWait(body);
    const sellers = await accounts('seller:fx_%');
    // 100.00 EUR at 1.0866 × 0.99 = 1.075734 → 107.57 USD, fee 10 % → 96.81 USD pending.
    expect(sellers.get('seller:fx_usd_seller:pending:USD')).toBe(9_681n);
    // 100.00 EUR at 0.8553 × 0.99 = 0.846747 → 84.67 GBP, fee 8.47 → 76.20 GBP pending.
    expect(sellers.get('seller:fx_gbp_seller:pending:GBP')).toBe(7_620n);
    expect([...sellers.keys()].some((code) => code.endsWith(':EUR'))).toBe(false);
    expect(await balance('fx_usd_seller')).toMatchObject({ currency: 'USD', pending: '96.81' });
    expect(await stack.ledgerOk()).toBe(true);
  });

  it('the PSP settles the EUR charge in USD at its exchange_rate; the conversion and the FX result are booked', async () => {
    const body = savedMethodBody(['fx_usd_seller'], { amount: '50.00', currency: 'EUR' });
    const id = await payAndWait(body);
    const entries = await stack.db.pool.query<{ reference: string; metadata: Record<string, unknown> }>(
      `SELECT reference, metadata FROM ledger.entries WHERE reference LIKE 'fx_settled:%' AND metadata ->> 'checkoutId' = $1`,
      [body.checkout_id],
    );
    expect(entries.rows).toHaveLength(1);
    // The sandbox's rate: 1.0866 less 50 bp = 1.081167.
    expect(entries.rows[0]?.metadata.exchangeRate).toBe('1.081167');
    const success = await stack.successEntry(id);
    expect(success?.metadata).toMatchObject({ fxRate: '1.075734', fxMidRate: '1.0866' });
    const fx = await accounts('platform:fx_%');
    // EUR is all sold to the PSP: the EUR position is flat once every EUR charge settled.
    expect(fx.get('platform:fx_position:EUR')).toBe(0n);
    // 50.00 EUR → 54.06 USD from the PSP against 54.33 USD mid value: a loss of 0.27 USD (on this charge).
    expect(fx.get('platform:fx_gain_loss:USD')).toBeLessThan(0n);
    expect(await stack.ledgerOk()).toBe(true);
  });

  it('a JPY checkout and a KWD checkout (0 and 3 decimals) for the USD seller convert with one rounding each', async () => {
    const before =
      (await accounts('seller:fx_usd_seller:pending:USD')).get('seller:fx_usd_seller:pending:USD') ?? 0n;
    await payAndWait(savedMethodBody(['fx_usd_seller'], { amount: '10000', currency: 'JPY' }));
    await payAndWait(savedMethodBody(['fx_usd_seller'], { amount: '10.000', currency: 'KWD' }));
    const after =
      (await accounts('seller:fx_usd_seller:pending:USD')).get('seller:fx_usd_seller:pending:USD') ?? 0n;
    // JPY: 10 000 × (1.0866 / 169.09 = 0.006426163582) × 0.99 → 63.62 USD, net 57.26.
    // KWD: 10.000 × (1.0866 / 0.3334 = 3.25914817) × 0.99 → 32.27 USD, net 29.04.
    expect(after - before).toBe(5_726n + 2_904n);
    expect(await stack.ledgerOk()).toBe(true);
  });

  it('converts at a 5-minute quote, and refuses an expired quote with fx_quote_expired', async () => {
    const quote = await stack.post('/v1/fx/quotes', {
      from_currency: 'EUR',
      to_currency: 'USD',
      lock_duration: '5m',
    });
    expect(quote.status).toBe(201);
    const quoted = {
      ...savedMethodBody(['fx_usd_seller'], { amount: '20.00', currency: 'EUR' }),
      fx_quote_id: quote.json.id,
    };
    const id = await payAndWait(quoted);
    expect((await stack.successEntry(id))?.metadata).toMatchObject({ fxQuoteId: quote.json.id });
    const none = await stack.post('/v1/fx/quotes', {
      from_currency: 'EUR',
      to_currency: 'USD',
      lock_duration: 'none',
    });
    const expired = await stack.pay(
      {
        ...savedMethodBody(['fx_usd_seller'], { amount: '20.00', currency: 'EUR' }),
        fx_quote_id: none.json.id,
      },
      uid('idem'),
    );
    expect([expired.status, (expired.json.error as { code: string }).code]).toEqual([
      422,
      'fx_quote_expired',
    ]);
  });

  it('reconciles the sandbox report: every converted charge matched in what the buyer paid, a settlement difference within the tolerance booked as FX gain, the ledger verified', async () => {
    const body = savedMethodBody(['fx_usd_seller'], { amount: '30.00', currency: 'EUR' });
    await payAndWait(body);
    const settled = await stack.db.pool.query<{ reference: string }>(
      `SELECT reference FROM ledger.entries WHERE reference LIKE 'fx_settled:%' AND metadata ->> 'checkoutId' = $1`,
      [body.checkout_id],
    );
    const txn = settled.rows[0]?.reference.slice('fx_settled:'.length) ?? '';
    // The PSP's report shows this charge settled 0.02 USD above what its answer said (within 10 bp of 32.44).
    await stack.sandbox.pool.query(
      `UPDATE sandbox.objects SET data = data || jsonb_build_object('amount', (data ->> 'amount')::bigint + 2,
                                                                   'net', (data ->> 'net')::bigint + 2)
        WHERE id = $1 AND object = 'balance_transaction'`,
      [txn],
    );
    // The day's report, downloaded from the sandbox as the daily run does, then reconciled.
    const interval = { start: startedAt, end: new Date(Date.now() + 60_000) };
    const report = await sandboxReportFetcher({
      secretKey: stack.sandbox.secretKey,
      webhookSecret: stack.webhookSecret,
      host: '127.0.0.1',
      port: stack.sandbox.port,
      protocol: 'http',
    })(interval);
    const run = await reconcileFiles(
      stack.modules.reconciliation.runtime,
      { psp: [report] },
      { trigger: 'test', origin: 'psp_fetch', intervalStart: interval.start, intervalEnd: interval.end },
    ).finally(() => report.cleanup?.());
    const fxLines = run.fx_lines as Record<string, number>;
    expect(fxLines.fx_difference_booked, JSON.stringify(run)).toBe(1);
    expect(fxLines.fx_matched).toBeGreaterThanOrEqual(5);
    expect(Object.keys(fxLines).sort()).toEqual(['fx_difference_booked', 'fx_matched']);
    const filed = await stack.db.pool.query<{ kind: string }>(
      'SELECT kind FROM recon.exceptions WHERE run_id = $1',
      [run.run_id],
    );
    expect(filed.rows).toEqual([]);
    const difference = await stack.db.pool.query<{ kind: string; metadata: Record<string, unknown> }>(
      'SELECT kind, metadata FROM ledger.entries WHERE reference = $1',
      [`fx_difference:${txn}`],
    );
    expect(difference.rows[0]).toMatchObject({
      kind: 'fx.settlement_difference',
      metadata: { settlementId: txn },
    });
    const positions = await stack.get(
      `/v1/reports/fx-positions?from=${encodeURIComponent(startedAt.toISOString())}`,
    );
    expect(positions.status).toBe(200);
    const pairs = (positions.json as { pairs: Array<Record<string, unknown>> }).pairs;
    expect(pairs.find((p) => p.from_currency === 'EUR' && p.to_currency === 'USD')).toMatchObject({
      settlement_differences: '0.02',
    });
    expect(await stack.ledgerOk()).toBe(true);
  });
  it('the payout run pays each seller its whole available balance in its own currency, one pain.001 file per currency from that currency’s debtor account; nothing left available, the ledger verified', async () => {
    // A run dated past the 7-day hold: every converted checkout's hold is due.
    const now = new Date(Date.now() + 8 * DAY_MS);
    const date = isoDateOf(now);
    expect(await releaseDueHolds(stack.db.pool, date)).toBeGreaterThan(0);
    const expected = { fx_usd_seller: 'USD', fx_gbp_seller: 'GBP' } as const;
    const available: Record<string, string> = {};
    for (const [seller, currency] of Object.entries(expected)) {
      const wallet = await balance(seller);
      expect(wallet).toMatchObject({ currency, pending: '0.00', in_transit: '0.00' });
      // Credited in the seller's currency only: the wallet holds no other currency.
      expect((wallet.balances as Array<{ currency: string }>).map((b) => b.currency)).toEqual([currency]);
      available[seller] = String(wallet.available);
      expect(available[seller]).not.toBe('0.00');
    }
    // 100.00 EUR → 76.20 GBP net (the first checkout) is the GBP seller's only money.
    expect(available.fx_gbp_seller).toBe('76.20');

    const report = await runPayouts(
      { pool: stack.db.pool, log: stack.ctx.log, provider: stack.modules.payouts.runtime.provider, now },
      date,
    );
    expect(
      report.payoutsCreated,
      JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
    ).toBe(2);
    expect(report.skipped).toEqual([]);
    expect(Object.keys(report.totalsMinor).sort()).toEqual(['GBP', 'USD']);

    for (const [seller, currency] of Object.entries(expected)) {
      const listed = await stack.get(`/v1/sellers/${seller}/payouts`);
      const payouts = listed.json.data as Array<Record<string, unknown>>;
      expect(payouts).toHaveLength(1);
      expect(payouts[0]).toMatchObject({ currency, amount: available[seller], status: 'in_transit' });
      expect(await balance(seller)).toMatchObject({
        currency,
        pending: '0.00',
        available: '0.00',
        in_transit: available[seller],
      });
    }

    const files = (await listPayoutFiles(stack.db.pool, { limit: 10 })).filter((f) =>
      report.submit.files.some((s) => s.id === f.id),
    );
    expect(files.map((f) => [f.currency, f.debtorIban]).sort()).toEqual([
      ['GBP', GBP_DEBTOR.iban],
      ['USD', USD_DEBTOR.iban],
    ]);
    for (const file of files) {
      const xml = await readPayoutFile(stack.db.pool, file.id);
      expect(await xsdErrors(xml, 'pain.001.001.09')).toEqual([]);
      expect(xml).toContain(`<DbtrAcct><Id><IBAN>${file.debtorIban ?? ''}</IBAN></Id><Ccy>${file.currency}`);
      const seller = file.currency === 'USD' ? 'fx_usd_seller' : 'fx_gbp_seller';
      expect(xml).toContain(`<CtrlSum>${available[seller] ?? ''}</CtrlSum>`);
      expect(xml).toContain(`<InstdAmt Ccy="${file.currency}">${available[seller] ?? ''}</InstdAmt>`);
    }
    const verified = await verifyLedger(stack.db.pool);
    expect(verified.failures).toEqual([]);
    expect(verified.ok).toBe(true);
  });
});
