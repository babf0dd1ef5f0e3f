import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolClient } from '../../src/db/pool.ts';
import { sqlState, withTransaction } from '../../src/db/tx.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { registerSellers, uid } from '../support/payins.ts';

/** The database keeps the checkout's invariants by itself: these tests write SQL by hand, bypassing the service. */

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await registerSellers(db.pool, ['s_guard']);
});
afterAll(async () => {
  await db.drop();
});

const SAVED = { payment_method: 'pm_card_visa' };
const HOSTED = { flow: 'hosted_page', return_url: 'https://shop.example/return' };

async function insertCheckout(
  client: PoolClient,
  checkout: { id: string; flow?: string; details?: unknown; currency?: string; totalMinor: bigint },
): Promise<void> {
  await client.query(
    `INSERT INTO payins.payment_event (checkout_id, api_key_id, buyer_info, seller_info, credit_card_info, flow, currency, total_minor)
     VALUES ($1, 'key_test', '{"id":"buyer"}', '{}', $2, $3, $4, $5)`,
    [
      checkout.id,
      JSON.stringify(checkout.details ?? SAVED),
      checkout.flow ?? 'saved_method',
      checkout.currency ?? 'USD',
      checkout.totalMinor,
    ],
  );
}

async function insertOrder(
  client: PoolClient,
  checkoutId: string,
  position: number,
  amountMinor: bigint,
  currency = 'USD',
): Promise<void> {
  await client.query(
    `INSERT INTO payins.payment_order (payment_order_id, checkout_id, position, buyer_account, seller_account, amount_minor, currency)
     VALUES ($1, $2, $3, 'buyer', 's_guard', $4, $5)`,
    [`${checkoutId}_${position}`, checkoutId, position, amountMinor, currency],
  );
}

/** The SQLSTATE the transaction failed with (at its COMMIT, for a deferred check), or 'committed'. */
async function outcome(work: (client: PoolClient) => Promise<void>): Promise<string> {
  try {
    await withTransaction(db.pool, work);
    return 'committed';
  } catch (error) {
    return sqlState(error) ?? String(error);
  }
}

describe('checkout invariants in the database', () => {
  it('accepts a checkout whose orders add up to its total in its currency, for either flow', async () => {
    const saved = uid('co');
    expect(
      await outcome(async (client) => {
        await insertCheckout(client, { id: saved, totalMinor: 300n });
        await insertOrder(client, saved, 0, 100n);
        await insertOrder(client, saved, 1, 200n);
      }),
    ).toBe('committed');
    const hosted = uid('co');
    expect(
      await outcome(async (client) => {
        await insertCheckout(client, { id: hosted, flow: 'hosted_page', details: HOSTED, totalMinor: 50n });
        await insertOrder(client, hosted, 0, 50n);
      }),
    ).toBe('committed');
  });

  it('refuses, at commit, a checkout whose orders do not add up to its total', async () => {
    const id = uid('co');
    expect(
      await outcome(async (client) => {
        await insertCheckout(client, { id, totalMinor: 300n });
        await insertOrder(client, id, 0, 100n);
        await insertOrder(client, id, 1, 150n);
      }),
    ).toBe('23514');
    const found = await db.pool.query('SELECT 1 FROM payins.payment_event WHERE checkout_id = $1', [id]);
    expect(found.rowCount).toBe(0);
  });

  it('refuses a checkout with no orders at all', async () => {
    expect(await outcome((client) => insertCheckout(client, { id: uid('co'), totalMinor: 100n }))).toBe(
      '23514',
    );
  });

  it('refuses a checkout whose orders mix currencies, even when the amounts add up', async () => {
    const id = uid('co');
    expect(
      await outcome(async (client) => {
        await insertCheckout(client, { id, totalMinor: 300n });
        await insertOrder(client, id, 0, 100n);
        await insertOrder(client, id, 1, 200n, 'EUR');
      }),
    ).toBe('23514');
  });

  it('refuses an order added later that breaks the total of a committed checkout', async () => {
    const id = uid('co');
    expect(
      await outcome(async (client) => {
        await insertCheckout(client, { id, totalMinor: 100n });
        await insertOrder(client, id, 0, 100n);
      }),
    ).toBe('committed');
    expect(await outcome((client) => insertOrder(client, id, 1, 10n))).toBe('23514');
    expect(
      await outcome(async (client) => {
        await client.query('UPDATE payins.payment_event SET total_minor = 200 WHERE checkout_id = $1', [id]);
      }),
    ).toBe('23514');
  });

  it('refuses payment details whose shape does not match the flow', async () => {
    const cases: Array<{ flow: string; details: unknown }> = [
      { flow: 'saved_method', details: HOSTED },
      { flow: 'hosted_page', details: SAVED },
      { flow: 'saved_method', details: { payment_method: 42 } },
      { flow: 'saved_method', details: { ...SAVED, flow: 'hosted_page' } },
      { flow: 'hosted_page', details: { flow: 'hosted_page' } },
      { flow: 'hosted_page', details: { ...HOSTED, payment_method: 'pm_card_visa' } },
      { flow: 'saved_method', details: ['pm_card_visa'] },
    ];
    for (const { flow, details } of cases) {
      const id = uid('co');
      const result = await outcome(async (client) => {
        await insertCheckout(client, { id, flow, details, totalMinor: 100n });
        await insertOrder(client, id, 0, 100n);
      });
      expect({ flow, details, result }).toEqual({ flow, details, result: '23514' });
    }
  });
});
