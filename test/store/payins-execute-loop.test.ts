import { afterAll, beforeAll, expect, it } from 'vitest';
import { ExecuteLoop } from '../../src/payins/execute-loop.ts';
import type { PayinsRuntime } from '../../src/payins/runtime.ts';
import { getOrder } from '../../src/payins/store.ts';
import type { TestApp } from '../support/app.ts';
import { createPayinsTestApp } from '../support/payins-app.ts';
import { FakePsp } from '../support/payins-fake-psp.ts';
import { bearer, registerSellers, savedMethodBody, uid, waitFor } from '../support/payins.ts';

/**
 * The execute loop wakes on the POST's NOTIFY and, after a take that filled every free slot, when a slot frees.
 * The poll here is a minute, far beyond the test's wait: an order executed within it was taken by one of those.
 */
let t: TestApp;
let runtime: PayinsRuntime;
let loop: ExecuteLoop;

beforeAll(async () => {
  t = await createPayinsTestApp({ psp: new FakePsp(), payins: { claimPollMs: 60_000 } });
  runtime = t.modules.payins.runtime;
  await registerSellers(t.db.pool, ['l_one', 'l_two', 'l_three']);
  loop = new ExecuteLoop(runtime, new Set(), 1);
  await loop.start();
});

afterAll(async () => {
  await loop.stop();
  await t.close();
});

it('with one slot, the orders waiting behind a full take are taken as the slot frees, not at the next poll', async () => {
  const response = await t.app.inject({
    method: 'POST',
    url: '/v1/payments',
    headers: { ...bearer(t.key), 'idempotency-key': uid('idem') },
    payload: savedMethodBody(['l_one', 'l_two', 'l_three']),
  });
  expect(response.statusCode).toBe(201);
  const ids = (response.json() as { payment_orders: Array<{ payment_order_id: string }> }).payment_orders.map(
    (o) => o.payment_order_id,
  );
  for (const id of ids) {
    const order = await waitFor(
      async () => {
        const found = await getOrder(t.db.pool, id);
        return found?.status === 'SUCCESS' ? found : undefined;
      },
      15_000,
      `order ${id} to succeed before the next poll`,
    );
    expect(order).toMatchObject({ attempts: 1, ledgerUpdated: true });
  }
});
