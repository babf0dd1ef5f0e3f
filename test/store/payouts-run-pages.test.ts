import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/db/pool.ts';
import { withTransaction } from '../../src/db/tx.ts';
import { recordEvents } from '../../src/events/index.ts';
import { verifyLedger } from '../../src/ledger/index.ts';
import { createLogger } from '../../src/log.ts';
import { runPayouts, type RunReport } from '../../src/payouts/index.ts';
import { bookPayin, idleProvider, registerDailySeller, sellerBalances } from '../support/debt.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
let pool: Pool;
const log = createLogger('silent');
const SELLERS = Array.from({ length: 13 }, (_, i) => `pg_seller_${String(i).padStart(2, '0')}`);
const DATE = '2031-03-03';

beforeAll(async () => {
  db = await createTestDatabase();
  pool = db.pool;
  // An endpoint that takes every event: each recorded event gets one pending delivery.
  await pool.query(
    `INSERT INTO events.webhook_endpoints (id, url, enabled_events, secret_enc) VALUES ('we_pages', 'https://example.test/h', '{*}', 'x')`,
  );
  for (const [n, seller] of SELLERS.entries()) {
    await registerDailySeller(pool, seller, 'EUR', n + 1);
    await bookPayin(pool, {
      paymentOrderId: `po_${seller}`,
      sellerId: seller,
      currency: 'EUR',
      grossMinor: 10_000n + BigInt(n),
    });
  }
});

afterAll(async () => {
  await db.drop();
});

function run(): Promise<RunReport> {
  return runPayouts({ pool, log, provider: idleProvider, now: new Date(`${DATE}T12:00:00Z`) }, DATE, {
    chunkSize: 2,
  });
}

describe('payout run over many pages decided concurrently', () => {
  it('pays every due seller exactly once across concurrent pages and two concurrent runs, with one payout.created event and delivery per payout', async () => {
    // 13 sellers in pages of 2: seven pages, three at a time, in each of two runs racing on the same date.
    const [first, second] = await Promise.all([run(), run()]);
    expect(first.payoutsCreated + second.payoutsCreated).toBe(SELLERS.length);
    expect(first.outcomes.failed + second.outcomes.failed).toBe(0);
    const payouts = await pool.query<{ id: string; seller_account: string; amount_minor: bigint }>(
      'SELECT id, seller_account, amount_minor FROM payouts.payouts WHERE run_date = $1 ORDER BY seller_account',
      [DATE],
    );
    expect(payouts.rows.map((row) => row.seller_account)).toEqual(SELLERS);
    for (const [n, row] of payouts.rows.entries()) {
      expect(row.amount_minor).toBe(10_000n + BigInt(n));
      const balances = await sellerBalances(pool, row.seller_account, 'EUR');
      expect(balances.available).toBe(0n);
      expect(balances.inTransit).toBe(row.amount_minor);
    }
    const events = await pool.query<{ id: string; payout: string; deliveries: bigint }>(
      `SELECT e.id, e.data->'object'->>'id' AS payout,
              (SELECT count(*) FROM events.deliveries d WHERE d.event_id = e.id) AS deliveries
         FROM events.events e WHERE e.type = 'payout.created'`,
    );
    expect(events.rows.map((row) => row.payout).sort()).toEqual(payouts.rows.map((row) => row.id).sort());
    expect(events.rows.every((row) => row.deliveries === 1n)).toBe(true);
    const again = await run();
    expect(again.payoutsCreated).toBe(0);
    expect((await verifyLedger(pool)).ok).toBe(true);
  });

  it('recordEvents writes the events in the order given, each with its deliveries, and nothing when rolled back', async () => {
    const objects = ['a', 'b', 'c'].map((id) => ({ type: 'payout.created', object: { id: `ord_${id}` } }));
    const ids = await withTransaction(pool, (client) => recordEvents(client, objects));
    const rows = await pool.query<{ id: string; object_id: string; deliveries: bigint }>(
      `SELECT e.id, e.data->'object'->>'id' AS object_id,
              (SELECT count(*) FROM events.deliveries d WHERE d.event_id = e.id) AS deliveries
         FROM events.events e WHERE e.id = ANY($1::text[]) ORDER BY e.seq`,
      [ids],
    );
    expect(rows.rows.map((row) => [row.id, row.object_id, row.deliveries])).toEqual([
      [ids[0], 'ord_a', 1n],
      [ids[1], 'ord_b', 1n],
      [ids[2], 'ord_c', 1n],
    ]);
    let rolledBack: string[] = [];
    await expect(
      withTransaction(pool, async (client) => {
        rolledBack = await recordEvents(client, objects);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const left = await pool.query('SELECT 1 FROM events.events WHERE id = ANY($1::text[])', [rolledBack]);
    expect(left.rowCount).toBe(0);
    expect(await withTransaction(pool, (client) => recordEvents(client, []))).toEqual([]);
  });
});
