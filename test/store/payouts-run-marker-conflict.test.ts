import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { runPayouts } from '../../src/payouts/index.ts';
import { bookPayin, idleProvider, registerDailySeller, sellerBalances } from '../support/debt.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
const log = createLogger('silent');
const DATE = '2031-05-05';
const SELLERS = ['mc_seller_a', 'mc_seller_b', 'mc_seller_c'];

beforeAll(async () => {
  db = await createTestDatabase();
  for (const [n, seller] of SELLERS.entries()) {
    await registerDailySeller(db.pool, seller, 'EUR', n + 1);
    await bookPayin(db.pool, {
      paymentOrderId: `mc_${seller}`,
      sellerId: seller,
      currency: 'EUR',
      grossMinor: 4_000n,
    });
  }
});

afterAll(async () => {
  await db.drop();
});

describe('a run marker written by someone who did not take the seller lock', () => {
  it('makes the chunk refuse itself whole; seller by seller, that seller is already run and paid nothing, the others are paid once', async () => {
    // A marker for seller b, inserted without locking the seller row and not yet committed: the run does not see
    // it when it looks, and meets it only when it inserts its own.
    const intruder = await db.pool.connect();
    let report: Awaited<ReturnType<typeof runPayouts>>;
    try {
      await intruder.query('BEGIN');
      await intruder.query(
        "INSERT INTO payouts.seller_runs (seller_account, run_date, outcome) VALUES ($1, $2, 'nothing_available')",
        ['mc_seller_b', DATE],
      );
      const running = runPayouts(
        { pool: db.pool, log, provider: idleProvider, now: new Date(`${DATE}T12:00:00Z`) },
        DATE,
      );
      for (;;) {
        const waiting = await db.pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted",
        );
        if ((waiting.rows[0]?.n ?? 0) >= 1) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      await intruder.query('COMMIT');
      report = await running;
    } finally {
      intruder.release();
    }
    expect(report.payoutsCreated).toBe(2);
    expect(report.outcomes.already_run).toBe(1);
    expect(report.outcomes.failed).toBe(0);
    const payouts = await db.pool.query<{ seller_account: string }>(
      'SELECT seller_account FROM payouts.payouts WHERE run_date = $1 ORDER BY seller_account',
      [DATE],
    );
    expect(payouts.rows.map((row) => row.seller_account)).toEqual(['mc_seller_a', 'mc_seller_c']);
    const untouched = await sellerBalances(db.pool, 'mc_seller_b', 'EUR');
    expect(untouched.inTransit).toBe(0n);
    expect(untouched.available).toBeGreaterThan(0n);
  });
});
