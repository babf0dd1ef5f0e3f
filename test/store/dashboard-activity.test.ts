import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disputeDays } from '../../src/disputes/index.ts';
import { refundDays } from '../../src/refunds/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

/** The home page's refund and dispute figures: per UTC day and currency, in minor units, from each module's table. */

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(
    `INSERT INTO refunds.refundable (payment_order_id, currency, captured_minor) VALUES ('po_stats', 'EUR', 100000)`,
  );
});

afterAll(async () => {
  await db.drop();
});

async function refund(id: string, minor: number, status: string, at: string): Promise<void> {
  await db.pool.query(
    `INSERT INTO refunds.refunds (id, payment_order_id, checkout_id, seller_account, amount_minor, currency, status,
                                  source, psp_payment_id, psp_refund_id, created_at)
     VALUES ($1, 'po_stats', 'co_stats', 'acct_stats', $2, 'EUR', $3, 'api', 'pi_stats', $1, $4)`,
    [id, minor, status, at],
  );
}

async function dispute(id: string, minor: number, at: string): Promise<void> {
  await db.pool.query(
    `INSERT INTO disputes.disputes (id, psp, psp_dispute_id, amount_minor, currency, status, created_at)
     VALUES ($1, 'stripe', $1, $2, 'USD', 'needs_response', $3)`,
    [id, minor, at],
  );
}

describe('dashboard activity from refunds and disputes', () => {
  it('sums refunds asked for (not failed or canceled) and disputes opened per UTC day, leaving out older days', async () => {
    await refund('rf_statsa', 1500, 'succeeded', '2026-11-20T23:30:00Z');
    await refund('rf_statsb', 250, 'pending', '2026-11-20T01:00:00Z');
    await refund('rf_statsc', 999, 'failed', '2026-11-20T02:00:00Z');
    await refund('rf_statsd', 700, 'succeeded', '2026-11-21T00:10:00Z');
    await refund('rf_statse', 400, 'succeeded', '2026-10-01T00:00:00Z');
    await dispute('dsp_000000aa', 5000, '2026-11-20T12:00:00Z');
    await dispute('dsp_000000ab', 3000, '2026-11-20T13:00:00Z');
    await dispute('dsp_000000ac', 3000, '2026-10-20T13:00:00Z');

    const from = new Date('2026-11-01T00:00:00Z');
    expect(await refundDays(db.pool, from)).toEqual([
      { day: '2026-11-20', currency: 'EUR', refundedMinor: 1750n, refunds: 2 },
      { day: '2026-11-21', currency: 'EUR', refundedMinor: 700n, refunds: 1 },
    ]);
    expect(await disputeDays(db.pool, from)).toEqual([
      { day: '2026-11-20', currency: 'USD', disputedMinor: 8000n, disputes: 2 },
    ]);
  });
});
