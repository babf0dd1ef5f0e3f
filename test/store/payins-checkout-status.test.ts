import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolClient, Queryable } from '../../src/db/pool.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { registerSellers, uid } from '../support/payins.ts';

/**
 * The checkout's stored status (payment_event.status) is kept by statement triggers on its orders, which since
 * migration 0390 refresh it only for the changes that can move it. These tests write SQL by hand, as the service
 * and the workers do, and compare the stored status with payins.checkout_status_of after every statement.
 */

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await registerSellers(db.pool, ['s_status']);
});
afterAll(async () => {
  await db.drop();
});

type Flow = 'saved_method' | 'hosted_page';
type Status = 'NOT_STARTED' | 'EXECUTING' | 'PENDING' | 'SUCCESS' | 'FAILED';
const RANK: Record<Status, number> = { NOT_STARTED: 0, EXECUTING: 1, PENDING: 2, SUCCESS: 3, FAILED: 3 };
const FINAL = new Set<Status>(['SUCCESS', 'FAILED']);

type Action =
  | { kind: 'insert'; statuses: Status[] }
  | { kind: 'move'; picks: number[]; to: Status }
  | { kind: 'session'; url: boolean };

const statusArb = fc.constantFrom<Status>('NOT_STARTED', 'EXECUTING', 'PENDING', 'SUCCESS', 'FAILED');
/** Orders are mostly inserted as a POST writes them, NOT_STARTED, so that later moves have somewhere to go. */
const insertedStatusArb = fc.oneof(
  { weight: 2, arbitrary: fc.constant<Status>('NOT_STARTED') },
  { weight: 3, arbitrary: statusArb },
);
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant('insert' as const),
    statuses: fc.array(insertedStatusArb, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant('move' as const),
    picks: fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 3 }),
    to: statusArb,
  }),
  fc.record({ kind: fc.constant('session' as const), url: fc.boolean() }),
);

async function insertCheckout(client: PoolClient, id: string, flow: Flow, totalMinor = 100): Promise<void> {
  const details =
    flow === 'hosted_page'
      ? { flow, return_url: 'https://shop.example/return' }
      : { payment_method: 'pm_card_visa' };
  await client.query(
    `INSERT INTO payins.payment_event (checkout_id, api_key_id, buyer_info, seller_info, credit_card_info, flow, currency, total_minor)
     VALUES ($1, 'key_test', '{"id":"buyer"}', '{}', $2, $3, 'USD', $4)`,
    [id, JSON.stringify(details), flow, totalMinor],
  );
}

/** Orders inserted in one statement, each in the status given (a SUCCESS carries what its checks ask for). */
async function insertOrders(client: PoolClient, checkoutId: string, first: number, statuses: Status[]) {
  await client.query(
    `INSERT INTO payins.payment_order (payment_order_id, checkout_id, position, buyer_account, seller_account,
       amount_minor, currency, payment_order_status, fee_minor, ledger_updated, wallet_updated)
     SELECT $1 || '_' || (p - 1 + $2), $1, p - 1 + $2, 'buyer', 's_status', 10, 'USD', s,
            CASE WHEN s = 'SUCCESS' THEN 0 END, s = 'SUCCESS', s = 'SUCCESS'
       FROM unnest($3::text[]) WITH ORDINALITY AS x(s, p)`,
    [checkoutId, first, statuses],
  );
}

/** Moves the picked orders that may go to `to` (forward only, never out of a final status) in one statement. */
async function moveOrders(client: Queryable, ids: string[], to: Status): Promise<void> {
  await client.query(
    `UPDATE payins.payment_order
        SET payment_order_status = $2, fee_minor = CASE WHEN $2 = 'SUCCESS' THEN 0 ELSE fee_minor END,
            ledger_updated = $2 = 'SUCCESS', wallet_updated = $2 = 'SUCCESS'
      WHERE payment_order_id = ANY ($1::text[])`,
    [ids, to],
  );
}

async function storedAndDerived(client: PoolClient, checkoutId: string) {
  const result = await client.query<{ stored: string; derived: string }>(
    `SELECT status AS stored, payins.checkout_status_of(checkout_id, flow, psp_session_url) AS derived
       FROM payins.payment_event WHERE checkout_id = $1`,
    [checkoutId],
  );
  return result.rows[0];
}

/** Runs one case in a transaction it rolls back (the orders need not add up to the total). */
async function inRolledBackTransaction(work: (client: PoolClient) => Promise<void>): Promise<void> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await work(client);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

async function apply(
  client: PoolClient,
  checkoutId: string,
  orders: Array<{ id: string; status: Status }>,
  action: Action,
): Promise<void> {
  if (action.kind === 'insert') {
    const first = orders.length;
    await insertOrders(client, checkoutId, first, action.statuses);
    action.statuses.forEach((status, i) => orders.push({ id: `${checkoutId}_${first + i}`, status }));
    return;
  }
  if (action.kind === 'session') {
    await client.query(`UPDATE payins.payment_event SET psp_session_url = $2 WHERE checkout_id = $1`, [
      checkoutId,
      action.url ? 'https://psp.example/session' : null,
    ]);
    return;
  }
  const movable = [...new Set(action.picks)]
    .map((pick) => orders[pick])
    .filter((order) => order !== undefined)
    .filter(
      (order) =>
        order.status === action.to || (!FINAL.has(order.status) && RANK[action.to] >= RANK[order.status]),
    );
  if (movable.length === 0) return;
  await moveOrders(
    client,
    movable.map((order) => order.id),
    action.to,
  );
  for (const order of movable) order.status = action.to;
}

describe('the checkout status kept by the order triggers', () => {
  it('always equals the status its orders give, through any inserts and forward moves of either flow', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Flow>('saved_method', 'hosted_page'),
        fc.array(insertedStatusArb, { minLength: 1, maxLength: 3 }),
        fc.array(actionArb, { minLength: 1, maxLength: 12 }),
        async (flow, firstOrders, actions) => {
          await inRolledBackTransaction(async (client) => {
            const checkoutId = uid('cs');
            await insertCheckout(client, checkoutId, flow);
            const orders: Array<{ id: string; status: Status }> = [];
            // First its orders, as a POST writes them (before any update of the checkout row), then anything.
            const all: Action[] = [{ kind: 'insert', statuses: firstOrders }, ...actions];
            for (const action of all) {
              await apply(client, checkoutId, orders, action);
              const row = await storedAndDerived(client, checkoutId);
              expect(row?.stored, JSON.stringify({ flow, action, orders })).toBe(row?.derived);
            }
          });
        },
      ),
      { numRuns: 150, endOnFailure: true },
    );
  }, 120_000);

  it('shows a hosted checkout with a session URL as requiring action while an order executes', async () => {
    await inRolledBackTransaction(async (client) => {
      const checkoutId = uid('cs');
      await insertCheckout(client, checkoutId, 'hosted_page');
      await client.query(
        `UPDATE payins.payment_event SET psp_session_url = 'https://psp.example/s' WHERE checkout_id = $1`,
        [checkoutId],
      );
      await insertOrders(client, checkoutId, 0, ['NOT_STARTED']);
      await moveOrders(client, [`${checkoutId}_0`], 'EXECUTING');
      expect(await storedAndDerived(client, checkoutId)).toEqual({
        stored: 'requires_action',
        derived: 'requires_action',
      });
      await moveOrders(client, [`${checkoutId}_0`], 'PENDING');
      expect(await storedAndDerived(client, checkoutId)).toEqual({
        stored: 'processing',
        derived: 'processing',
      });
    });
  });

  it('recomputes no status while a saved-method checkout is inserted and its orders claimed', async () => {
    const checkoutId = uid('cs');
    await inRolledBackTransaction(async (client) => {
      // Counts this transaction's calls of PL/pgSQL functions (pg_stat_xact_user_functions).
      await client.query(`SET LOCAL track_functions = 'pl'`);
      const statusCalls = async () =>
        (
          await client.query<{ calls: string }>(
            `SELECT coalesce(sum(calls), 0)::text AS calls FROM pg_stat_xact_user_functions
              WHERE schemaname = 'payins' AND funcname = 'checkout_status_of'`,
          )
        ).rows[0]?.calls;
      await insertCheckout(client, checkoutId, 'saved_method', 20);
      await insertOrders(client, checkoutId, 0, ['NOT_STARTED', 'NOT_STARTED']);
      expect(await statusCalls()).toBe('0');
      await moveOrders(client, [`${checkoutId}_0`, `${checkoutId}_1`], 'EXECUTING');
      expect(await statusCalls()).toBe('0');
      expect(await storedAndDerived(client, checkoutId)).toEqual({
        stored: 'processing',
        derived: 'processing',
      });
      // An order reaching a final status still refreshes it.
      await moveOrders(client, [`${checkoutId}_0`], 'FAILED');
      expect(Number(await statusCalls())).toBeGreaterThan(0);
    });
  });
});
