import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { claimDueOrders, type Claim } from '../../src/payins/executor.ts';
import type { PayinsRuntime } from '../../src/payins/runtime.ts';
import { lockDueOrdersWithCheckouts } from '../../src/payins/work-store.ts';
import type { TestApp } from '../support/app.ts';
import { createPayinsTestApp } from '../support/payins-app.ts';
import { FakePsp } from '../support/payins-fake-psp.ts';
import { bearer, registerSellers, savedMethodBody, uid } from '../support/payins.ts';

/**
 * The executor's queue is the orders table (`execute_at`, migration 0380): the checkout's POST queues its orders,
 * and `claimDueOrders` takes due ones with `FOR UPDATE SKIP LOCKED` and claims them in one transaction.
 */
let t: TestApp;
let runtime: PayinsRuntime;

beforeAll(async () => {
  t = await createPayinsTestApp({ psp: new FakePsp() });
  runtime = t.modules.payins.runtime;
  await registerSellers(t.db.pool, ['q_one', 'q_two', 'q_three']);
});

afterAll(async () => {
  await t.close();
});

// Each test starts from an empty queue: orders another test left queued are not its to take.
beforeEach(async () => {
  await t.db.pool.query('UPDATE payins.payment_order SET execute_at = NULL WHERE execute_at IS NOT NULL');
});

async function checkout(sellers: string[]): Promise<string[]> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/v1/payments',
    headers: { ...bearer(t.key), 'idempotency-key': uid('idem') },
    payload: savedMethodBody(sellers),
  });
  expect(response.statusCode).toBe(201);
  return (response.json() as { payment_orders: Array<{ payment_order_id: string }> }).payment_orders.map(
    (o) => o.payment_order_id,
  );
}

async function rowOf(id: string): Promise<{ queued: boolean; attempts: number; status: string }> {
  const row = await t.db.pool.query<{ queued: boolean; attempts: number; status: string }>(
    `SELECT execute_at IS NOT NULL AS queued, attempts, payment_order_status AS status
       FROM payins.payment_order WHERE payment_order_id = $1`,
    [id],
  );
  const found = row.rows[0];
  if (found === undefined) throw new Error(`no order ${id}`);
  return found;
}

/** Makes the database refuse to count an attempt of `orderId` (as a broken row would), until `allowClaims`. */
async function refuseClaimsOf(orderId: string): Promise<void> {
  await t.db.pool.query(`
    CREATE FUNCTION public.refuse_claim() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'claim refused for %', NEW.payment_order_id; END; $$;
    CREATE TRIGGER refuse_claim BEFORE UPDATE ON payins.payment_order FOR EACH ROW
      WHEN (NEW.payment_order_id = '${orderId}' AND NEW.attempts > OLD.attempts)
      EXECUTE FUNCTION public.refuse_claim();`);
}

async function allowClaims(): Promise<void> {
  await t.db.pool.query(
    'DROP TRIGGER refuse_claim ON payins.payment_order; DROP FUNCTION public.refuse_claim()',
  );
}

const claimed = (claims: Map<string, Claim | Error>) =>
  [...claims].filter(([, claim]) => !(claim instanceof Error) && !('skip' in claim)).map(([id]) => id);

describe("the executor's queue", () => {
  it('takes every queued order once, claimed (EXECUTING, one attempt) and out of the queue; a second take finds nothing', async () => {
    const ids = await checkout(['q_one', 'q_two', 'q_three']);
    const claims = await claimDueOrders(runtime, 10);
    expect(claimed(claims).sort()).toEqual([...ids].sort());
    for (const id of ids)
      expect(await rowOf(id)).toEqual({ queued: false, attempts: 1, status: 'EXECUTING' });
    expect((await claimDueOrders(runtime, 10)).size).toBe(0);
  });

  it('never gives one order to two workers: orders another transaction holds are skipped, not waited for', async () => {
    const ids = await checkout(['q_one', 'q_two', 'q_three']);
    const other = await t.db.pool.connect();
    let held: string[] = [];
    try {
      await other.query('BEGIN');
      held = (await lockDueOrdersWithCheckouts(other, 2)).map((row) => row.order.paymentOrderId);
      expect(held).toHaveLength(2);
      const meanwhile = claimed(await claimDueOrders(runtime, 10));
      expect(meanwhile).toEqual(ids.filter((id) => !held.includes(id)));
      await other.query('ROLLBACK');
    } finally {
      other.release();
    }
    // The holder let go without claiming: its orders are still queued, and taken now.
    expect(claimed(await claimDueOrders(runtime, 10)).sort()).toEqual([...held].sort());
  });

  it('leaves an order queued for later (a retry) until its time comes, then takes it', async () => {
    const [later, now] = await checkout(['q_one', 'q_two']);
    await t.db.pool.query(
      `UPDATE payins.payment_order SET execute_at = now() + interval '1 hour' WHERE payment_order_id = $1`,
      [later],
    );
    expect(claimed(await claimDueOrders(runtime, 10))).toEqual([now]);
    expect(await rowOf(later ?? '')).toMatchObject({ queued: true, attempts: 0 });
    await t.db.pool.query(
      `UPDATE payins.payment_order SET execute_at = now() - interval '1 second' WHERE payment_order_id = $1`,
      [later],
    );
    expect(claimed(await claimDueOrders(runtime, 10))).toEqual([later]);
  });

  it('takes a queued order that needs no execution (final, or waiting for a person) out of the queue without an attempt', async () => {
    const [failed, flagged] = await checkout(['q_one', 'q_two']);
    await t.db.pool.query(
      `UPDATE payins.payment_order SET payment_order_status = 'FAILED' WHERE payment_order_id = $1`,
      [failed],
    );
    await t.db.pool.query(
      `UPDATE payins.payment_order SET needs_attention = true WHERE payment_order_id = $1`,
      [flagged],
    );
    const claims = await claimDueOrders(runtime, 10);
    expect(claims.get(failed ?? '')).toEqual({ skip: 'status FAILED' });
    expect(claims.get(flagged ?? '')).toEqual({ skip: 'in the dead-letter queue' });
    expect(await rowOf(failed ?? '')).toMatchObject({ queued: false, attempts: 0 });
    expect(await rowOf(flagged ?? '')).toMatchObject({ queued: false, attempts: 0 });
  });

  it('an order whose claim fails fails alone: the others of the batch are claimed, and it leaves the queue for the sweeper instead of being taken again and again', async () => {
    const [poison, ...others] = await checkout(['q_one', 'q_two', 'q_three']);
    await refuseClaimsOf(poison ?? '');
    try {
      const claims = await claimDueOrders(runtime, 10);
      expect(claims.get(poison ?? '')).toBeInstanceOf(Error);
      expect(claimed(claims).sort()).toEqual([...others].sort());
      expect(await rowOf(poison ?? '')).toEqual({ queued: false, attempts: 0, status: 'NOT_STARTED' });
      expect((await claimDueOrders(runtime, 10)).size).toBe(0);
    } finally {
      await allowClaims();
    }
  });

  it('a lone order whose claim fails leaves the queue too (its failure is the whole transaction), and the next take finds nothing', async () => {
    const [poison] = await checkout(['q_one']);
    await refuseClaimsOf(poison ?? '');
    try {
      const claims = await claimDueOrders(runtime, 10);
      expect([...claims.keys()]).toEqual([poison]);
      expect(claims.get(poison ?? '')).toBeInstanceOf(Error);
      expect(await rowOf(poison ?? '')).toEqual({ queued: false, attempts: 0, status: 'NOT_STARTED' });
      expect((await claimDueOrders(runtime, 10)).size).toBe(0);
    } finally {
      await allowClaims();
    }
  });
});
