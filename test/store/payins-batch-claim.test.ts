import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimOrders, executeClaimed } from '../../src/payins/executor.ts';
import { settleInBatch } from '../../src/payins/settler.ts';
import type { PayinsRuntime } from '../../src/payins/runtime.ts';
import { getOrder } from '../../src/payins/store.ts';
import type { TestApp } from '../support/app.ts';
import { createPayinsTestApp } from '../support/payins-app.ts';
import { FakePsp } from '../support/payins-fake-psp.ts';
import { bearer, registerSellers, savedMethodBody, uid } from '../support/payins.ts';

let t: TestApp;
let psp: FakePsp;
let runtime: PayinsRuntime;

beforeAll(async () => {
  psp = new FakePsp();
  t = await createPayinsTestApp({ psp });
  runtime = t.modules.payins.runtime;
  await registerSellers(t.db.pool, ['s_one', 's_two', 's_three']);
});

afterAll(async () => {
  await t.close();
});

async function createOrders(sellers: string[]): Promise<string[]> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/v1/payments',
    headers: { ...bearer(t.key), 'idempotency-key': uid('idem') },
    payload: savedMethodBody(sellers, { amount: '10.00' }),
  });
  expect(response.statusCode).toBe(201);
  return (response.json() as { payment_orders: Array<{ payment_order_id: string }> }).payment_orders.map(
    (o) => o.payment_order_id,
  );
}

describe('batched claims of the executor', () => {
  it('claims many orders in one transaction; an order whose claim fails is rolled back alone and the others are claimed and settle', async () => {
    const [a, bad, c] = await createOrders(['s_one', 's_two', 's_three']);
    if (a === undefined || bad === undefined || c === undefined) throw new Error('three orders expected');
    // One order's claim fails inside the database (as a broken row would), the others must not notice.
    await t.db.pool.query(
      `CREATE FUNCTION payins.test_refuse_claim() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF NEW.payment_order_id = '${bad}' THEN RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$`,
    );
    await t.db.pool.query(
      `CREATE TRIGGER test_refuse_claim BEFORE UPDATE ON payins.payment_order
       FOR EACH ROW EXECUTE FUNCTION payins.test_refuse_claim()`,
    );
    let claims;
    try {
      claims = await claimOrders(runtime, [c, bad, a, a]);
    } finally {
      await t.db.pool.query('DROP TRIGGER test_refuse_claim ON payins.payment_order');
      await t.db.pool.query('DROP FUNCTION payins.test_refuse_claim()');
    }
    expect(claims.get(bad)).toBeInstanceOf(Error);
    expect(await getOrder(t.db.pool, bad)).toMatchObject({ status: 'NOT_STARTED', attempts: 0 });
    for (const id of [a, c]) {
      expect(await getOrder(t.db.pool, id)).toMatchObject({ status: 'EXECUTING', attempts: 1 });
      const claim = claims.get(id);
      if (claim === undefined || claim instanceof Error) throw new Error(`order ${id} not claimed`);
      expect(await executeClaimed(runtime, claim)).toEqual({ outcome: 'settled', status: 'SUCCESS' });
    }
    // A duplicate id in the batch is claimed once.
    expect(claims.size).toBe(3);
    expect(psp.chargeCalls).toBe(2);
  });

  it('skips orders that are final or unknown without failing the batch', async () => {
    const [done] = await createOrders(['s_one']);
    if (done === undefined) throw new Error('one order expected');
    const first = await claimOrders(runtime, [done]);
    const claim = first.get(done);
    if (claim === undefined || claim instanceof Error) throw new Error('not claimed');
    await executeClaimed(runtime, claim);
    const again = await claimOrders(runtime, [done, 'po_unknown_order']);
    expect(again.get(done)).toEqual({ skip: 'status SUCCESS' });
    expect(again.get('po_unknown_order')).toEqual({ skip: 'not_found' });
  });
});

describe('batched settlements of the executor', () => {
  it('settles the PSP answers arriving together in one transaction; an order whose settlement fails is rolled back alone and the others commit', async () => {
    const [a, bad, c] = await createOrders(['s_one', 's_two', 's_three']);
    if (a === undefined || bad === undefined || c === undefined) throw new Error('three orders expected');
    await claimOrders(runtime, [a, bad, c]);
    await t.db.pool.query(
      `CREATE FUNCTION payins.test_refuse_success() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF NEW.payment_order_id = '${bad}' AND NEW.payment_order_status = 'SUCCESS' THEN
         RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$`,
    );
    await t.db.pool.query(
      `CREATE TRIGGER test_refuse_success BEFORE UPDATE ON payins.payment_order
       FOR EACH ROW EXECUTE FUNCTION payins.test_refuse_success()`,
    );
    let settled;
    try {
      // Three answers in one turn of the event loop: one batch.
      settled = await Promise.allSettled(
        [a, bad, c].map((id) =>
          settleInBatch(runtime, id, { kind: 'succeeded', paymentId: `pi_${id}`, chargeId: `ch_${id}` }),
        ),
      );
    } finally {
      await t.db.pool.query('DROP TRIGGER test_refuse_success ON payins.payment_order');
      await t.db.pool.query('DROP FUNCTION payins.test_refuse_success()');
    }
    expect(settled[0]).toMatchObject({ status: 'fulfilled', value: { applied: true } });
    expect(settled[1]).toMatchObject({ status: 'rejected' });
    expect(settled[2]).toMatchObject({ status: 'fulfilled', value: { applied: true } });
    expect(await getOrder(t.db.pool, bad)).toMatchObject({ status: 'EXECUTING', ledgerUpdated: false });
    for (const id of [a, c])
      expect(await getOrder(t.db.pool, id)).toMatchObject({ status: 'SUCCESS', ledgerUpdated: true });
    // One transaction for the batch: both orders carry its start time (now()) as their update time.
    const at = await t.db.pool.query<{ at: Date }>(
      'SELECT DISTINCT updated_at AS at FROM payins.payment_order WHERE payment_order_id = ANY($1::text[])',
      [[a, c]],
    );
    expect(at.rows).toHaveLength(1);
  });
});
