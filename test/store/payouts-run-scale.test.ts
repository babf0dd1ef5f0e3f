import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';
import { writePayoutFiles } from '../../src/payouts/iso20022/file-writer.ts';
import { DEFAULT_DEBTOR, ibanWithCheckDigits, readPayoutFile, runPayouts } from '../../src/payouts/index.ts';
import { sellersDueOn } from '../../src/sellers/index.ts';
import { bookPayin, idleProvider, registerDailySeller } from '../support/debt.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

/**
 * What the payout run's paging keeps while it reads and writes in bulk: every due seller is found, in seller
 * order, however sparse the due ones are among all sellers; and a file read page by page moves exactly the
 * payouts it lists to in_transit, each with one history step naming the file.
 */

let db: TestDatabase;
let pool: Pool;
const log = createLogger('silent');
// A Monday: weekly sellers of day 1 are due, those of day 2 are not.
const DATE = '2031-03-03';

beforeAll(async () => {
  db = await createTestDatabase();
  pool = db.pool;
});

afterAll(async () => {
  await db.drop();
});

describe('due sellers, read in windows of seller keys', () => {
  it('finds every due seller in seller order, a page at a time, even when hundreds of sellers between them are not due', async () => {
    // 600 sellers: due ones at 5 (daily), 240 (weekly, Monday), 241 (monthly, the 3rd), 598 (daily); every other
    // one is paid manually or weekly on another day. The first window (the page size, at least 100 keys) holds
    // one due seller, so the page is filled from larger windows further on.
    const due = new Map([
      [5, `'daily', NULL`],
      [240, `'weekly', 1`],
      [241, `'monthly', 3`],
      [598, `'daily', NULL`],
    ]);
    const iban = ibanWithCheckDigits('DE', '370400440532013000');
    await pool.query(
      `INSERT INTO sellers.sellers (seller_account, name, currency)
       SELECT 'ds_' || lpad(i::text, 4, '0'), 'Seller ' || i, 'EUR' FROM generate_series(1, 600) AS i`,
    );
    const schedules = Array.from({ length: 600 }, (_, k) => {
      const n = k + 1;
      const schedule = due.get(n) ?? (n % 2 === 0 ? `'manual', NULL` : `'weekly', 2`);
      return `('ds_${String(n).padStart(4, '0')}', '${iban}', 'COBADEFFXXX', ${schedule})`;
    });
    await pool.query(
      `INSERT INTO sellers.payout_settings (seller_account, iban, bic, schedule_interval, schedule_day)
       VALUES ${schedules.join(', ')}`,
    );
    const expected = [...due.keys()].map((n) => `ds_${String(n).padStart(4, '0')}`);

    const first = await sellersDueOn(pool, DATE, '', 3);
    expect(first.map((s) => s.sellerAccount)).toEqual(expected.slice(0, 3));
    expect(first.every((s) => s.currency === 'EUR' && s.settings.bank !== null)).toBe(true);
    // Fewer than the page only at the end.
    const second = await sellersDueOn(pool, DATE, expected[2] ?? '', 3);
    expect(second.map((s) => s.sellerAccount)).toEqual(expected.slice(3));
    expect(await sellersDueOn(pool, DATE, expected[3] ?? '', 3)).toEqual([]);
    // One page of all of them, and one seller at a time, give the same sellers.
    expect((await sellersDueOn(pool, DATE, '', 100)).map((s) => s.sellerAccount)).toEqual(expected);
    const oneByOne: string[] = [];
    for (let after = ''; ;) {
      const [next] = await sellersDueOn(pool, DATE, after, 1);
      if (next === undefined) break;
      oneByOne.push(next.sellerAccount);
      after = next.sellerAccount;
    }
    expect(oneByOne).toEqual(expected);
  });
});

describe('a pain.001 file read page by page', () => {
  it('read in several pages, moves exactly the payouts it lists to in_transit, each with one history step naming the file', async () => {
    const sellers = Array.from({ length: 5 }, (_, i) => `fp_seller_${i}`);
    for (const [n, seller] of sellers.entries()) {
      await registerDailySeller(pool, seller, 'EUR', 900 + n);
      await bookPayin(pool, {
        paymentOrderId: `po_${seller}`,
        sellerId: seller,
        currency: 'EUR',
        grossMinor: 5_000n + BigInt(n),
      });
    }
    const report = await runPayouts(
      { pool, log, provider: idleProvider, now: new Date(`${DATE}T12:00:00Z`) },
      DATE,
    );
    const pending = await pool.query<{ id: string; amount_minor: bigint }>(
      `SELECT id, amount_minor FROM payouts.payouts WHERE status = 'pending' AND provider = 'iso20022' ORDER BY id`,
    );
    expect(pending.rows.length).toBe(report.payoutsCreated);
    expect(pending.rows.length).toBeGreaterThanOrEqual(sellers.length);

    // Pages of two: three pages for five payouts or more.
    const [file, ...others] = await writePayoutFiles(pool, {
      runDate: DATE,
      debtorFor: () => DEFAULT_DEBTOR,
      version: 'pain.001.001.09',
      createdAt: new Date(`${DATE}T12:00:00Z`),
      pageRows: 2,
    });
    expect(others).toEqual([]);
    if (file === undefined) throw new Error('no file written');
    const ids = pending.rows.map((row) => row.id);
    expect(file.txCount).toBe(ids.length);
    expect(file.ctrlSumMinor).toBe(pending.rows.reduce((sum, row) => sum + row.amount_minor, 0n));

    const moved = await pool.query<{ id: string; status: string; payout_file_id: string | null }>(
      'SELECT id, status, payout_file_id FROM payouts.payouts WHERE id = ANY($1::text[]) ORDER BY id',
      [ids],
    );
    expect(moved.rows).toEqual(ids.map((id) => ({ id, status: 'in_transit', payout_file_id: file.id })));
    const steps = await pool.query<{
      payout_id: string;
      from_status: string;
      to_status: string;
      reference: string;
    }>(
      `SELECT payout_id, from_status, to_status, reference FROM payouts.status_history
       WHERE payout_id = ANY($1::text[]) AND to_status = 'in_transit' ORDER BY id`,
      [ids],
    );
    // One step each, written in payout order.
    expect(steps.rows).toEqual(
      ids.map((id) => ({
        payout_id: id,
        from_status: 'pending',
        to_status: 'in_transit',
        reference: file.id,
      })),
    );
    const xml = await readPayoutFile(pool, file.id);
    const listed = [...xml.matchAll(/<EndToEndId>([^<]+)<\/EndToEndId>/g)].map((match) => match[1]);
    expect(listed).toEqual(ids);
    expect(xml).toContain(`<NbOfTxs>${ids.length}</NbOfTxs>`);
    const unfiled = await pool.query(
      `SELECT 1 FROM payouts.payouts WHERE status = 'pending' AND provider = 'iso20022'`,
    );
    expect(unfiled.rowCount).toBe(0);
  });
});
