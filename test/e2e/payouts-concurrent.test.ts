import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/tx.ts';
import { payinSucceeded, postEntries, verifyLedger } from '../../src/ledger/index.ts';
import { ibanWithCheckDigits } from '../../src/payouts/bank.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { registerSellers } from '../support/payins.ts';
import { runBursar } from '../support/process.ts';

const SELLERS = 120;
const DATE = '2030-06-15';
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  const ids = Array.from({ length: SELLERS }, (_, i) => `cc_${i}`);
  await registerSellers(db.pool, ids, 'EUR');
  await withTransaction(db.pool, async (client) => {
    await client.query(
      `INSERT INTO sellers.payout_settings (seller_account, iban, bic, schedule_interval)
       SELECT x, $2, 'COBADEFFXXX', 'daily' FROM unnest($1::text[]) AS x`,
      [ids, ibanWithCheckDigits('DE', '370400440532013000')],
    );
    await postEntries(
      client,
      ids.map((id, i) =>
        payinSucceeded({
          currency: 'EUR',
          paymentOrderId: `cc_po_${i}`,
          sellerId: id,
          grossMinor: BigInt(1000 + i),
          platformFeeMinor: 0n,
        }),
      ),
    );
    // Holds that end the day before the run's date: both runs must release them first.
    await client.query(
      `INSERT INTO payouts.holds (payment_order_id, seller_account, currency, amount_minor, succeeded_at, available_on)
       SELECT 'cc_po_' || i, 'cc_' || i, 'EUR', 1000 + i, now(), $1::date - 1 FROM generate_series(0, $2 - 1) AS i`,
      [DATE, SELLERS],
    );
  });
}, 60_000);

afterAll(async () => {
  await db.drop();
});

describe('payout run concurrency', () => {
  it('two `bursar payouts run --date` processes at once, then a third, pay every seller exactly once', async () => {
    const env = { DATABASE_URL: db.url, BURSAR_PAYOUT_PROVIDER: 'iso20022' };
    // A date in the future is refused (it would release holds early and date files and entries ahead): nothing
    // is written. The test treats DATE as today with --as-of-test-clock.
    const future = await runBursar(['payouts', 'run', '--date', DATE], env);
    expect(future.code, future.output).toBe(2);
    expect(future.output).toMatch(/2030-06-15 is in the future/);
    const untouched = await db.pool.query<{ n: bigint }>(
      `SELECT ((SELECT count(*) FROM payouts.payouts) + (SELECT count(*) FROM ledger.entries WHERE kind LIKE 'payout%'))::int8 AS n`,
    );
    expect(untouched.rows[0]?.n).toBe(0n);
    const [a, b] = await Promise.all([
      runBursar(['payouts', 'run', '--date', DATE, '--as-of-test-clock'], env),
      runBursar(['payouts', 'run', '--date', DATE, '--as-of-test-clock'], env),
    ]);
    expect(a.code, a.output).toBe(0);
    expect(b.code, b.output).toBe(0);
    const c = await runBursar(['payouts', 'run', '--date', DATE, '--as-of-test-clock'], env);
    expect(a.output + b.output).toMatch(/^total: \d+\.\d{2} [A-Z]{3}$/m);
    expect(c.code, c.output).toBe(0);
    expect(c.output).toContain('payouts created: 0');
    expect(a.output + b.output).toContain('payouts created');

    const perSeller = await db.pool.query<{ seller_account: string; n: bigint; total: bigint }>(
      `SELECT seller_account, count(*)::int8 AS n, sum(amount_minor)::int8 AS total FROM payouts.payouts GROUP BY seller_account`,
    );
    expect(perSeller.rows, a.output + b.output).toHaveLength(SELLERS);
    for (const row of perSeller.rows) {
      expect(row.n).toBe(1n);
      expect(row.total).toBe(BigInt(1000 + Number(row.seller_account.slice(3))));
    }
    const filed = await db.pool.query<{ files: bigint; txs: bigint; unfiled: bigint }>(
      `SELECT (SELECT count(*) FROM payouts.payout_files)::int8 AS files,
              (SELECT coalesce(sum(tx_count), 0) FROM payouts.payout_files)::int8 AS txs,
              (SELECT count(*) FROM payouts.payouts WHERE payout_file_id IS NULL)::int8 AS unfiled`,
    );
    expect(filed.rows[0]).toEqual({ files: 1n, txs: BigInt(SELLERS), unfiled: 0n });
    const report = await verifyLedger(db.pool);
    expect(report.failures).toEqual([]);
  }, 120_000);
});
