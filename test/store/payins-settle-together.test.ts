import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/tx.ts';
import { claimOrders } from '../../src/payins/executor.ts';
import { settleInBatch } from '../../src/payins/settler.ts';
import { defaultPayinLedger } from '../../src/payins/ledger-default.ts';
import type { PayinsRuntime } from '../../src/payins/runtime.ts';
import { transitionDeps } from '../../src/payins/service.ts';
import { settleOrder, settleOrders, type PspOutcome } from '../../src/payins/settle.ts';
import type { TestApp } from '../support/app.ts';
import { createPayinsTestApp, postSavedMethodCheckout } from '../support/payins-app.ts';
import { FakePsp } from '../support/payins-fake-psp.ts';
import { registerSellers, uid } from '../support/payins.ts';

/**
 * The executor's settle batch settles its orders together, in a fixed number of statements (settleOrders). These
 * tests hold a batch to settling the same orders one at a time (settleOrder): the same statuses, ledger entries,
 * holds, history and events, whatever the mix of outcomes and however a checkout's orders fall across the batch
 * (its `checkout.completed` once, when its last order is final); and a batch that cannot be settled together is
 * settled one order at a time, each alone.
 */

let t: TestApp;
let runtime: PayinsRuntime;
const SELLERS = ['st_one', 'st_two', 'st_three'];

beforeAll(async () => {
  t = await createPayinsTestApp({ psp: new FakePsp(), payins: { claimPollMs: 60_000, pspEventDeferMs: 0 } });
  runtime = t.modules.payins.runtime;
  await registerSellers(t.db.pool, SELLERS);
  // Sellers on their own terms: a commission and a hold period of their own (the others: the platform's).
  await t.db.pool.query(
    `INSERT INTO sellers.payout_settings (seller_account, fee_basis_points, fee_fixed_minor, hold_days)
     VALUES ('st_two', 250, 30, 3), ('st_three', 1000, 0, 0)`,
  );
});

afterAll(async () => {
  await t.close();
});

/** A checkout of one order per seller given, not yet claimed. */
async function created(sellers: string[], amount = '5.00'): Promise<string[]> {
  return await postSavedMethodCheckout(t, sellers, amount);
}

/** A checkout of one order per seller given, every order claimed (EXECUTING); returns the order ids. */
async function executing(sellers: string[], amount = '12.34'): Promise<string[]> {
  const ids = await created(sellers, amount);
  const claims = await claimOrders(runtime, ids);
  for (const id of ids) expect(claims.get(id)).not.toBeInstanceOf(Error);
  return ids;
}

function success(order: string, feeMinor = 66n): PspOutcome {
  return {
    kind: 'succeeded',
    paymentId: `pi_${order}`,
    chargeId: `ch_${order}`,
    fee: { balanceTransactionId: `txn_${order}`, feeMinor, currency: 'USD' },
  };
}

function failure(): PspOutcome {
  return { kind: 'failed', code: 'card_declined', message: 'Your card was declined.' };
}

/** Everything a settlement wrote about these orders, with the ids taken out, in the orders' given order. */
async function footprint(orders: string[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const order of orders) {
    const row = await t.db.pool.query(
      `SELECT payment_order_status, status_reason, fee_minor::text, ledger_updated, wallet_updated, decline_code,
              last_error, needs_attention, next_sweep_at IS NULL AS unscheduled, version::text,
              psp_payment_id = 'pi_' || payment_order_id AS psp_payment, psp_charge_id = 'ch_' || payment_order_id AS psp_charge
         FROM payins.payment_order WHERE payment_order_id = $1`,
      [order],
    );
    const postings = await t.db.pool.query(
      `SELECT regexp_replace(e.reference, '[^:]*_' || $2 || '[^:]*', 'ID') AS reference, e.kind,
              a.code ~ 'st_' AS seller_account, regexp_replace(a.code, 'st_[a-z]+', 'SELLER') AS code,
              p.is_credit, p.amount_minor::text, p.currency
         FROM ledger.entries e JOIN ledger.postings p ON p.entry_id = e.id JOIN ledger.accounts a ON a.id = p.account_id
        WHERE e.reference IN ('payin:' || $1 || ':succeeded', 'psp_fee:txn_' || $1)
        ORDER BY e.reference, p.line`,
      [order, process.pid],
    );
    const holds = await t.db.pool.query(
      `SELECT currency, amount_minor::text, available_on - (now() AT TIME ZONE 'UTC')::date AS days
         FROM payouts.holds WHERE payment_order_id = $1`,
      [order],
    );
    const history = await t.db.pool.query(
      `SELECT from_status, to_status, reason, details ? 'ledger_entry_id' AS with_entry
         FROM payins.payment_order_status_history WHERE payment_order_id = $1 ORDER BY id`,
      [order],
    );
    const events = await t.db.pool.query(
      `SELECT type, data -> 'object' ->> 'status' AS status FROM events.events
        WHERE data -> 'object' ->> 'payment_order_id' = $1
           OR (type = 'checkout.completed' AND data -> 'object' -> 'payment_orders' -> -1 ->> 'payment_order_id' = $1)
        ORDER BY seq`,
      [order],
    );
    out.push({
      order: row.rows[0],
      postings: postings.rows,
      holds: holds.rows,
      history: history.rows,
      events: events.rows,
    });
  }
  return out;
}

/** Two identical sets of checkouts: one settled together, one order by order; what they wrote is the same. */
async function sameAsOneByOne(
  shape: string[][],
  outcomes: (order: string, index: number) => PspOutcome,
): Promise<void> {
  const together = (await Promise.all(shape.map((sellers) => executing(sellers)))).flat();
  const alone = (await Promise.all(shape.map((sellers) => executing(sellers)))).flat();
  const deps = transitionDeps(runtime);
  const results = await withTransaction(t.db.pool, (client) =>
    settleOrders(
      client,
      deps,
      together.map((order, index) => ({ paymentOrderId: order, outcome: outcomes(order, index) })),
    ),
  );
  const one: unknown[] = [];
  for (const [index, order] of alone.entries())
    one.push(
      await withTransaction(t.db.pool, (client) => settleOrder(client, deps, order, outcomes(order, index))),
    );
  const strip = (result: unknown) => {
    const { applied, why, transition } = result as { applied: boolean; why?: string; transition?: unknown };
    return { applied, why, transition };
  };
  expect(results.map(strip)).toEqual(one.map(strip));
  expect(await footprint(together)).toEqual(await footprint(alone));
  // Every checkout's stored status (kept by a statement trigger on the orders) is the one its orders give.
  const stale = await t.db.pool.query(
    `SELECT checkout_id FROM payins.payment_event
      WHERE status IS DISTINCT FROM payins.checkout_status_of(checkout_id, flow, psp_session_url)`,
  );
  expect(stale.rows).toEqual([]);
}

describe('claiming a batch of orders together', () => {
  it('writes what claiming them one by one writes: EXECUTING, one attempt, the history and the event', async () => {
    const together = (await Promise.all([created(['st_one', 'st_two']), created(['st_three'])])).flat();
    const alone = (await Promise.all([created(['st_one', 'st_two']), created(['st_three'])])).flat();
    const batch = await claimOrders(runtime, together);
    const one = new Map<string, unknown>();
    for (const order of alone) one.set(order, (await claimOrders(runtime, [order])).get(order));
    const attemptOf = (claim: unknown) => (claim as { attempt?: number }).attempt;
    expect(together.map((order) => attemptOf(batch.get(order)))).toEqual([1, 1, 1]);
    expect(alone.map((order) => attemptOf(one.get(order)))).toEqual([1, 1, 1]);
    expect(await footprint(together)).toEqual(await footprint(alone));
  });
});

describe('settling a batch of orders together', () => {
  it('writes what settling them one by one writes: statuses, ledger entries, PSP fees, holds, history and events', async () => {
    await sameAsOneByOne([['st_one'], ['st_two', 'st_three', 'st_one'], ['st_three']], (order) =>
      success(order),
    );
  });

  it('writes the same for a mix of successes, declines, and a checkout only partly settled by the batch', async () => {
    await sameAsOneByOne([['st_one', 'st_two'], ['st_three'], ['st_two']], (order, index) =>
      index % 2 === 0 ? success(order, BigInt(10 + index)) : failure(),
    );
  });

  it('leaves an order already final and an unknown order as they are, and moves the others', async () => {
    const [settled] = await executing(['st_one']);
    const [open] = await executing(['st_two']);
    if (settled === undefined || open === undefined) throw new Error('no orders');
    const deps = transitionDeps(runtime);
    await withTransaction(t.db.pool, (client) => settleOrder(client, deps, settled, success(settled)));
    const results = await withTransaction(t.db.pool, (client) =>
      settleOrders(client, deps, [
        { paymentOrderId: settled, outcome: success(settled) },
        { paymentOrderId: uid('po_missing'), outcome: success('missing') },
        { paymentOrderId: open, outcome: success(open) },
      ]),
    );
    expect(results.map((result) => (result.applied ? 'applied' : result.why))).toEqual([
      'noop',
      'not_found',
      'applied',
    ]);
    const entries = await t.db.pool.query(
      'SELECT reference FROM ledger.entries WHERE reference = ANY($1) ORDER BY reference',
      [[`payin:${settled}:succeeded`, `payin:${open}:succeeded`]],
    );
    expect(entries.rowCount).toBe(2);
  });

  it('settles each order alone when the batch cannot be settled together: a PSP fee booked before with another amount fails only its own booking', async () => {
    const orders = (await Promise.all(SELLERS.map((seller) => executing([seller])))).flat();
    const conflicted = orders[1];
    if (conflicted === undefined) throw new Error('no order');
    // Reconciliation booked this charge's fee first, with another amount: the batch's one ledger statement fails.
    await withTransaction(t.db.pool, (client) =>
      defaultPayinLedger.postPspFee(client, {
        balanceTransactionId: `txn_${conflicted}`,
        currency: 'USD',
        feeMinor: 99n,
        pspPaymentId: null,
        pspChargeId: null,
        checkoutId: 'from_reconciliation',
        paymentOrderId: null,
      }),
    );
    const results = await Promise.all(orders.map((order) => settleInBatch(runtime, order, success(order))));
    expect(results.map((result) => result.order?.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
    const fees = await t.db.pool.query<{ reference: string; amount: string }>(
      `SELECT e.reference, p.amount_minor::text AS amount FROM ledger.entries e
         JOIN ledger.postings p ON p.entry_id = e.id AND p.line = 0
        WHERE e.reference = ANY($1) ORDER BY e.reference`,
      [orders.map((order) => `psp_fee:txn_${order}`)],
    );
    // The conflicted fee stays as reconciliation booked it; the others are booked once, as the PSP said.
    expect(Object.fromEntries(fees.rows.map((row) => [row.reference, row.amount]))).toEqual(
      Object.fromEntries(orders.map((order) => [`psp_fee:txn_${order}`, order === conflicted ? '99' : '66'])),
    );
  });
});
