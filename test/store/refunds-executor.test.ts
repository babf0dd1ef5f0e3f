import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPLAY_HOOKS } from '../../src/cli/dlq.ts';
import { listDeadLetters, replayDeadLetter } from '../../src/jobs/dead-letters.ts';
import { verifyLedger } from '../../src/ledger/service.ts';
import { executeOrder } from '../../src/payins/executor.ts';
import { REFUND_METADATA_KEY } from '../../src/psp/index.ts';
import { claimDueRefunds, executeRefund, refundTick } from '../../src/refunds/index.ts';
import type { RefundsRuntime } from '../../src/refunds/runtime.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { FakePsp } from '../support/payins-fake-psp.ts';
import { bearer, registerSellers, savedMethodBody, uid } from '../support/payins.ts';
import { SwitchPsp } from '../support/switch-psp.ts';

let t: TestApp;
let psp: FakePsp;
let rt: RefundsRuntime;

beforeAll(async () => {
  psp = new FakePsp();
  t = await createTestApp({
    routes: (modules) => [modules.payins.routes, modules.refunds.routes],
    overrides: {
      psp: new SwitchPsp(psp),
      refunds: { leaseMs: 150, retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20, jitterRatio: 0 } },
    },
  });
  rt = t.modules.refunds.runtime;
  await registerSellers(t.db.pool, ['rs_one']);
});

afterAll(async () => {
  await t.close();
});

async function paidOrder(amount = '50.00'): Promise<string> {
  const body = savedMethodBody(['rs_one'], { amount });
  const response = await t.app.inject({
    method: 'POST',
    url: '/v1/payments',
    headers: { ...bearer(t.key), 'idempotency-key': uid('idem') },
    payload: body,
  });
  expect(response.statusCode).toBe(201);
  const id = `${body.checkout_id}_po0`;
  await executeOrder(t.modules.payins.runtime, id);
  return id;
}

async function postRefund(orderId: string, amount: string): Promise<string> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/v1/refunds',
    headers: { ...bearer(t.key), 'idempotency-key': uid('rk') },
    payload: { payment_order_id: orderId, amount },
  });
  expect(response.statusCode).toBe(201);
  return (response.json() as { id: string }).id;
}

async function refundRow(id: string) {
  const row = await t.db.pool.query<{
    status: string;
    psp_refund_id: string | null;
    needs_attention: boolean;
  }>('SELECT status, psp_refund_id, needs_attention FROM refunds.refunds WHERE id = $1', [id]);
  return row.rows[0];
}

async function refundEntries(pspRefundId: string | null | undefined): Promise<number> {
  const found = await t.db.pool.query('SELECT 1 FROM ledger.entries WHERE reference = $1', [
    `refund:${pspRefundId ?? ''}`,
  ]);
  return found.rowCount ?? 0;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('refund executor: exactly once at the PSP and in the ledger', () => {
  it('a crash between the PSP’s refund success and our commit: the next attempt finds the refund, one PSP refund, one entry', async () => {
    const orderId = await paidOrder();
    const id = await postRefund(orderId, '12.00');
    const [claimed] = await claimDueRefunds(rt, 10);
    expect(claimed?.id).toBe(id);
    // The attempt reaches the PSP, which refunds… and the process dies before recording the answer.
    const callsBefore = psp.refundCalls;
    await psp.refund({
      idempotencyKey: `bursar:rf:${id}`,
      paymentId: claimed?.pspPaymentId ?? '',
      amountMinor: 1200n,
      metadata: { [REFUND_METADATA_KEY]: id },
    });
    expect(await refundRow(id)).toMatchObject({ status: 'pending', psp_refund_id: null });
    // Nothing else is claimed while the lease holds; after it runs out the sweeper takes the refund again.
    expect(await claimDueRefunds(rt, 10)).toEqual([]);
    await sleep(200);
    await refundTick(rt);
    const row = await refundRow(id);
    expect(row?.status).toBe('succeeded');
    expect(psp.refundCalls - callsBefore).toBe(1);
    expect([...psp.refunds.keys()].filter((key) => key === `bursar:rf:${id}`)).toHaveLength(1);
    expect(await refundEntries(row?.psp_refund_id)).toBe(1);
    await refundTick(rt);
    expect(await refundEntries(row?.psp_refund_id)).toBe(1);
    expect((await verifyLedger(t.db.pool)).ok).toBe(true);
  });

  it('a lost answer is found at the PSP (findRefund), not made twice', async () => {
    const orderId = await paidOrder();
    const id = await postRefund(orderId, '5.00');
    psp.refundSteps.push('lose_response');
    const [claimed] = await claimDueRefunds(rt, 10);
    if (!claimed) throw new Error('nothing claimed');
    expect(await executeRefund(rt, claimed)).toMatchObject({ outcome: 'settled', status: 'succeeded' });
    const row = await refundRow(id);
    expect(row?.status).toBe('succeeded');
    expect(await refundEntries(row?.psp_refund_id)).toBe(1);
  });

  it('transient failures retry with backoff, then dead-letter; a replay makes the refund due again and it succeeds', async () => {
    const orderId = await paidOrder();
    const id = await postRefund(orderId, '7.00');
    psp.refundSteps.push('transient', 'transient');
    const [first] = await claimDueRefunds(rt, 10);
    if (!first) throw new Error('nothing claimed');
    expect(await executeRefund(rt, first)).toMatchObject({ outcome: 'retry_scheduled', attempt: 1 });
    await sleep(30);
    const [second] = await claimDueRefunds(rt, 10);
    if (!second) throw new Error('nothing claimed again');
    expect(await executeRefund(rt, second)).toMatchObject({ outcome: 'dead_lettered', attempt: 2 });
    expect(await refundRow(id)).toMatchObject({ status: 'pending', needs_attention: true });
    const letter = (await listDeadLetters(t.db.pool)).find((l) => l.subject === id);
    expect(letter?.queue).toBe('refunds-execute');
    const sender = { send: async () => null };
    expect((await replayDeadLetter(t.db.pool, sender, letter?.id ?? '', REPLAY_HOOKS)).outcome).toBe(
      'replayed',
    );
    await refundTick(rt);
    expect(await refundRow(id)).toMatchObject({ status: 'succeeded', needs_attention: false });
  });

  it('a refund the PSP refuses for good fails and its amount can be refunded again', async () => {
    const orderId = await paidOrder('10.00');
    const id = await postRefund(orderId, '10.00');
    psp.refundSteps.push({ decline: 'charge_disputed' });
    await refundTick(rt);
    const failed = await t.db.pool.query<{ status: string; failure_reason: string }>(
      'SELECT status, failure_reason FROM refunds.refunds WHERE id = $1',
      [id],
    );
    expect(failed.rows[0]).toEqual({ status: 'failed', failure_reason: 'charge_disputed' });
    const again = await postRefund(orderId, '10.00');
    await refundTick(rt);
    expect((await refundRow(again))?.status).toBe('succeeded');
  });

  it('the database refuses refunds summing above the captured amount (CHECK on refunds.refundable)', async () => {
    const orderId = await paidOrder('10.00');
    await t.db.pool.query(
      `INSERT INTO refunds.refundable (payment_order_id, currency, captured_minor) VALUES ($1, 'USD', 1000)
       ON CONFLICT DO NOTHING`,
      [orderId],
    );
    await expect(
      t.db.pool.query('UPDATE refunds.refundable SET refunded_minor = 1001 WHERE payment_order_id = $1', [
        orderId,
      ]),
    ).rejects.toThrow(/check constraint/);
  });

  it('refund history is append-only and a final refund never moves back to pending', async () => {
    const orderId = await paidOrder('10.00');
    const id = await postRefund(orderId, '1.00');
    await refundTick(rt);
    await expect(
      t.db.pool.query(`UPDATE refunds.refunds SET status = 'pending' WHERE id = $1`, [id]),
    ).rejects.toThrow(/refused/);
    await expect(
      t.db.pool.query('DELETE FROM refunds.status_history WHERE refund_id = $1', [id]),
    ).rejects.toThrow();
  });
});
