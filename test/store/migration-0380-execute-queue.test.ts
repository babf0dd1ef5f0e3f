import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../src/db/migrate.ts';
import type { Pool } from '../../src/db/pool.ts';
import { createDatabaseBefore, type TestDatabase } from '../support/db.ts';
import { withTransaction } from '../../src/db/tx.ts';
import { registerSellers } from '../support/payins.ts';

/**
 * migrations/0380_order_execution_queue.sql makes the orders table the executor's queue. Orders that had a pg-boss
 * job waiting when it runs must not be forgotten: saved-method orders not yet started are queued at once; those
 * already EXECUTING (an attempt in flight, or a retry's job waiting) stay the sweeper's, which asks the PSP before
 * handing them back. Applied here to a database migrated up to 0379 and seeded as an upgrade would meet it.
 */

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createDatabaseBefore('0380');
  pool = db.pool;
  await registerSellers(db.pool, ['s_mig']);
});

afterAll(async () => {
  await db.drop();
});

/** A checkout of one order, as the service stored it before 0380, then moved to `status` (and flagged). */
async function order(
  id: string,
  flow: 'saved_method' | 'hosted_page',
  state: { status?: string; needsAttention?: boolean } = {},
): Promise<void> {
  const details =
    flow === 'saved_method'
      ? { payment_method: 'pm_card_visa' }
      : { flow: 'hosted_page', return_url: 'https://shop.example/return' };
  await withTransaction(pool, async (client) => {
    await client.query(
      `INSERT INTO payins.payment_event (checkout_id, api_key_id, buyer_info, seller_info, credit_card_info, flow,
         currency, total_minor)
       VALUES ($1, 'key_test', '{"id":"buyer"}', '{}', $2, $3, 'USD', 100)`,
      [`co_${id}`, JSON.stringify(details), flow],
    );
    await client.query(
      `INSERT INTO payins.payment_order (payment_order_id, checkout_id, position, buyer_account, seller_account,
         amount_minor, currency)
       VALUES ($1, $2, 0, 'buyer', 's_mig', 100, 'USD')`,
      [id, `co_${id}`],
    );
  });
  await pool.query(
    `UPDATE payins.payment_order SET payment_order_status = $2, needs_attention = $3 WHERE payment_order_id = $1`,
    [id, state.status ?? 'NOT_STARTED', state.needsAttention ?? false],
  );
}

it('queues the saved-method orders not yet started, and leaves to the sweeper those in flight, flagged, hosted or final', async () => {
  await order('po_waiting', 'saved_method');
  await order('po_executing', 'saved_method', { status: 'EXECUTING' });
  await order('po_flagged', 'saved_method', { needsAttention: true });
  await order('po_failed', 'saved_method', { status: 'FAILED' });
  await order('po_hosted', 'hosted_page', { status: 'EXECUTING' });

  await migrate(pool, loadMigrations());

  const queued = await pool.query<{ payment_order_id: string }>(
    'SELECT payment_order_id FROM payins.payment_order WHERE execute_at IS NOT NULL ORDER BY 1',
  );
  expect(queued.rows.map((row) => row.payment_order_id)).toEqual(['po_waiting']);
});
