import { afterAll, beforeAll, expect, it } from 'vitest';
import { PspError } from '../../src/psp/port.ts';
import { claimOrders } from '../../src/payins/executor.ts';
import type { PayinsRuntime } from '../../src/payins/runtime.ts';
import type { PspOutcome } from '../../src/payins/settle.ts';
import { chargingForSettlement, settleInBatch } from '../../src/payins/settler.ts';
import { getOrder } from '../../src/payins/store.ts';
import type { TestApp } from '../support/app.ts';
import { createPayinsTestApp, postSavedMethodCheckout } from '../support/payins-app.ts';
import { FakePsp } from '../support/payins-fake-psp.ts';
import { registerSellers } from '../support/payins.ts';

/**
 * The executor's settle batch waits for the PSP answers still in flight (`chargingForSettlement`), up to the
 * gathering window, so that orders charged together settle in one transaction. The window here is a minute, far
 * beyond each test's wait: a settlement seen within the test did not wait for the window to close.
 */
let t: TestApp;
let runtime: PayinsRuntime;
const SELLERS = ['g_one', 'g_two'];

beforeAll(async () => {
  t = await createPayinsTestApp({ psp: new FakePsp(), payins: { gatherMs: 60_000 } });
  runtime = t.modules.payins.runtime;
  await registerSellers(t.db.pool, SELLERS);
});

afterAll(async () => {
  await t.close();
});

/** A checkout of one order per seller, every order claimed (EXECUTING); returns the order ids. */
async function executing(): Promise<[string, string]> {
  const [a, b] = await postSavedMethodCheckout(t, SELLERS, '7.00');
  if (a === undefined || b === undefined) throw new Error('two orders expected');
  const claims = await claimOrders(runtime, [a, b]);
  for (const id of [a, b]) expect(claims.get(id)).not.toBeInstanceOf(Error);
  return [a, b];
}

function success(order: string): PspOutcome {
  return { kind: 'succeeded', paymentId: `pi_${order}`, chargeId: `ch_${order}` };
}

/** A PSP answer that arrives `ms` after it is asked for (the other order's call still in flight meanwhile). */
function answerLater<T>(ms: number, answer: () => T): Promise<T> {
  return new Promise((resolve, reject) => {
    setTimeout(() => {
      try {
        resolve(answer());
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    }, ms);
  });
}

it('orders charged together settle in one transaction: the first answer waits for the charge still in flight', async () => {
  const [a, b] = await executing();
  // A's PSP answers at once, B's 200 ms later: settled at once, A would have committed alone meanwhile.
  const settledA = chargingForSettlement(runtime, async () => 'answered').then(() =>
    settleInBatch(runtime, a, success(a)),
  );
  const settledB = chargingForSettlement(runtime, () => answerLater(200, () => 'answered')).then(() =>
    settleInBatch(runtime, b, success(b)),
  );
  const [resultA, resultB] = await Promise.all([settledA, settledB]);
  expect(resultA).toMatchObject({ applied: true });
  expect(resultB).toMatchObject({ applied: true });
  // One transaction for both: they carry its start time (now()) as their update time.
  const at = await t.db.pool.query<{ at: Date }>(
    'SELECT DISTINCT updated_at AS at FROM payins.payment_order WHERE payment_order_id = ANY($1::text[])',
    [[a, b]],
  );
  expect(at.rows).toHaveLength(1);
});

it('an answer that is not settled (a transient failure, retried later) does not keep a waiting batch waiting', async () => {
  const [a, b] = await executing();
  const settledA = chargingForSettlement(runtime, async () => 'answered').then(() =>
    settleInBatch(runtime, a, success(a)),
  );
  const failedB = chargingForSettlement(runtime, () =>
    answerLater(100, () => {
      throw new PspError('transient', 'test: 503 from the PSP');
    }),
  );
  await expect(failedB).rejects.toThrow('503');
  // Settled long before the minute's window: the batch started once no charge was left in flight.
  expect(await settledA).toMatchObject({ applied: true });
  expect(await getOrder(t.db.pool, a)).toMatchObject({ status: 'SUCCESS' });
  expect(await getOrder(t.db.pool, b)).toMatchObject({ status: 'EXECUTING' });
}, 20_000);

it('an answer with no other charge in flight is settled at once', async () => {
  const [a] = await executing();
  expect(await settleInBatch(runtime, a, success(a))).toMatchObject({ applied: true });
}, 20_000);
