import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { composeModules } from '../../src/compose.ts';
import type { AppContext } from '../../src/context.ts';
import { withTransaction } from '../../src/db/tx.ts';
import { fxSettled, postEntry } from '../../src/ledger/index.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { contentInput } from '../../src/reconciliation/input.ts';
import type { ReconRuntime } from '../../src/reconciliation/runtime.ts';
import { reconcileFiles } from '../../src/reconciliation/service.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { ensureSellers, makeCheckout, reconContext } from '../support/recon.ts';

/**
 * Reconciliation of converted charges on real PostgreSQL (docs/currencies.md "Reconciliation"): EUR charges the
 * PSP settled in USD, compared with the booked `fx_settled` amounts at a 10 bp tolerance. Equal is matched; a
 * difference within the tolerance is booked as FX gain or loss and recorded `fx_difference_booked`; beyond it an
 * `fx_difference` exception; a conversion never booked an `fx_settlement_unbooked` exception. Nothing is booked
 * or filed twice, the ledger still verifies, and the database refuses an FX line that breaks the rules.
 */

let db: TestDatabase;
let ctx: AppContext;
let rt: ReconRuntime;

// Each EUR 100.00 charge; the booked settlement is USD 108.12 (10 bp of it is 10.812 cents).
const CASES = [
  { id: 'a', booked: 10_812n, reported: 10_812n }, // matched
  { id: 'b', booked: 10_812n, reported: 10_820n }, // +8: gain, within
  { id: 'c', booked: 10_812n, reported: 10_802n }, // −10: loss, within
  { id: 'd', booked: 10_812n, reported: 10_700n }, // −112: beyond
  { id: 'e', booked: undefined, reported: 10_811n }, // never booked
] as const;

const created = '2026-03-01 10:00:00';

function report(lines: ReadonlyArray<{ id: string; reported: bigint }>): string {
  const header =
    'balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category,source_id,payment_intent_id,customer_facing_amount,customer_facing_currency,payment_metadata[payment_order_id]';
  const major = (minor: bigint) => `${minor / 100n}.${String(minor % 100n).padStart(2, '0')}`;
  const rows = lines.map(
    (l) =>
      `txn_fx_${l.id},${created},usd,${major(l.reported)},0.00,${major(l.reported)},charge,ch_fx_${l.id},pi_fx_${l.id},100.00,eur,po_fx_${l.id}`,
  );
  return `${header}\n${rows.join('\n')}\n`;
}

async function gainLossUsd(): Promise<bigint> {
  const found = await db.pool.query<{ balance: string }>(
    `SELECT (credits_minor - debits_minor)::text AS balance FROM ledger.accounts WHERE code = 'platform:fx_gain_loss:USD'`,
  );
  return BigInt(found.rows[0]?.balance ?? '0');
}

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 6 });
  ctx = reconContext(db.pool, db.url, new ManualClock(new Date(Date.now() + 100 * 3_600_000)));
  await ensureSellers(db.pool, ['fx_s'], 'EUR');
  rt = composeModules(ctx, { reconciliation: { fxToleranceBps: 10 } }).reconciliation.runtime;
  for (const c of CASES) {
    await makeCheckout(
      ctx,
      {
        checkoutId: `co_fx_${c.id}`,
        flow: 'saved_method',
        currency: 'EUR',
        orders: [{ id: `po_fx_${c.id}`, seller: 'fx_s', amountMinor: 10_000n }],
        pspPaymentId: `pi_fx_${c.id}`,
      },
      'SUCCESS',
    );
    if (c.booked === undefined) continue;
    await withTransaction(db.pool, (client) =>
      postEntry(
        client,
        fxSettled({
          settlementId: `txn_fx_${c.id}`,
          presentmentCurrency: 'EUR',
          amountMinor: 10_000n,
          settlementCurrency: 'USD',
          settledMinor: c.booked,
          realisedMinor: 0n,
          exchangeRate: '1.0812',
        }),
      ),
    );
  }
});
afterAll(async () => {
  await db.drop();
});

describe('converted charges in the PSP report', () => {
  it('are matched in EUR, and their USD settlement sorted by the tolerance: booked, fx_difference, fx_settlement_unbooked', async () => {
    const run = await reconcileFiles(
      rt,
      { psp: [contentInput('fx-1.csv', report(CASES))] },
      { trigger: 'test', origin: 'file' },
    );
    expect(run.matched).toBe(5);
    expect(run.fx_lines).toEqual({
      fx_matched: 1,
      fx_difference_booked: 2,
      fx_difference: 1,
      fx_settlement_unbooked: 1,
    });
    const lines = await db.pool.query<{
      balance_transaction_id: string;
      kind: string;
      difference_minor: string | null;
      entry_reference: string | null;
    }>(
      'SELECT balance_transaction_id, kind, difference_minor::text, entry_reference FROM recon.fx_lines ORDER BY 1',
    );
    expect(lines.rows).toEqual([
      {
        balance_transaction_id: 'txn_fx_a',
        kind: 'fx_matched',
        difference_minor: '0',
        entry_reference: null,
      },
      {
        balance_transaction_id: 'txn_fx_b',
        kind: 'fx_difference_booked',
        difference_minor: '8',
        entry_reference: 'fx_difference:txn_fx_b',
      },
      {
        balance_transaction_id: 'txn_fx_c',
        kind: 'fx_difference_booked',
        difference_minor: '-10',
        entry_reference: 'fx_difference:txn_fx_c',
      },
      {
        balance_transaction_id: 'txn_fx_d',
        kind: 'fx_difference',
        difference_minor: '-112',
        entry_reference: null,
      },
      {
        balance_transaction_id: 'txn_fx_e',
        kind: 'fx_settlement_unbooked',
        difference_minor: null,
        entry_reference: null,
      },
    ]);
    const filed = await db.pool.query<{
      kind: string;
      class: string;
      dedupe_key: string;
      amount_minor: string;
      currency: string;
    }>(
      `SELECT kind, class, dedupe_key, amount_minor::text, currency FROM recon.exceptions WHERE run_id = $1 ORDER BY kind`,
      [run.run_id],
    );
    expect(filed.rows).toEqual([
      {
        kind: 'fx_difference',
        class: 'finance',
        dedupe_key: 'fx_difference:txn_fx_d',
        amount_minor: '-112',
        currency: 'USD',
      },
      {
        kind: 'fx_settlement_unbooked',
        class: 'finance',
        dedupe_key: 'fx_settlement_unbooked:txn_fx_e',
        amount_minor: '10811',
        currency: 'USD',
      },
    ]);
    // +0.08 gain and −0.10 loss booked: PSP clearing in USD now holds what the PSP really settled.
    expect(await gainLossUsd()).toBe(-2n);
    const entries = await db.pool.query<{ reference: string; kind: string }>(
      `SELECT reference, kind FROM ledger.entries WHERE reference LIKE 'fx_difference:%' ORDER BY reference`,
    );
    expect(entries.rows).toEqual([
      { reference: 'fx_difference:txn_fx_b', kind: 'fx.settlement_difference' },
      { reference: 'fx_difference:txn_fx_c', kind: 'fx.settlement_difference' },
    ]);
    expect((await verifyLedger(db.pool)).ok).toBe(true);
  });

  it('an overlapping report with the same lines books and files nothing again', async () => {
    const run = await reconcileFiles(
      rt,
      { psp: [contentInput('fx-2.csv', `${report(CASES)}\n`)] },
      { trigger: 'test', origin: 'file' },
    );
    expect(run.repeated_lines).toBe(5);
    expect(run.fx_lines).toEqual({});
    expect(await gainLossUsd()).toBe(-2n);
    const count = await db.pool.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM recon.exceptions WHERE kind LIKE $1',
      ['fx\\_%'],
    );
    expect(count.rows[0]?.n).toBe('2');
  });

  it('the database refuses an FX line whose kind contradicts its amounts or the tolerance', async () => {
    const insert = (
      kind: string,
      booked: number | null,
      difference: number | null,
      reference: string | null,
    ) =>
      db.pool.query(
        `INSERT INTO recon.fx_lines (balance_transaction_id, import_id, line, run_id, kind, presentment_currency,
           presentment_minor, settlement_currency, reported_minor, booked_minor, difference_minor, tolerance_bps, entry_reference)
         SELECT 'txn_bad', import_id, 99, run_id, $1, 'EUR', 10000, 'USD', 10000 + coalesce($3::bigint, 0), $2, $3, 10, $4
           FROM recon.fx_lines LIMIT 1`,
        [kind, booked, difference === null ? null : difference, reference],
      );
    await expect(insert('fx_difference_booked', 10_000, 11, 'fx_difference:txn_bad')).rejects.toThrow(
      /check/,
    );
    await expect(insert('fx_difference', 10_000, 10, null)).rejects.toThrow(/check/);
    await expect(insert('fx_matched', 10_000, 1, null)).rejects.toThrow(/check/);
    await expect(insert('fx_settlement_unbooked', 10_000, 0, null)).rejects.toThrow(/check/);
    await expect(insert('fx_difference_booked', 10_000, 10, null)).rejects.toThrow(/check/);
    await expect(
      db.pool.query(
        `INSERT INTO recon.psp_lines (import_id, line, balance_transaction_id, category, currency, gross_minor, fee_minor, net_minor, customer_facing_currency)
         SELECT import_id, 999, 'txn_half', 'charge', 'USD', 1, 0, 1, 'EUR' FROM recon.fx_lines LIMIT 1`,
      ),
    ).rejects.toThrow(/check/);
    await insert('fx_difference_booked', 10_000, 10, 'fx_difference:txn_bad');
  });
});
