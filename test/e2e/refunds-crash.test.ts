import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { savedMethodBody, uid, waitFor } from '../support/payins.ts';
import { startPayinsStack, type PayinsStack } from '../support/payins-stack.ts';
import { startPspProxy, type PspProxy } from '../support/payins-psp-proxy.ts';
import { spawnBursar, type Spawned } from '../support/process.ts';

/**
 * A refund worker process SIGKILLed while refunds are in flight — one of them made at the PSP, its answer never
 * heard (a proxy between the process and the PSP keeps it) — then a new worker process started on the same
 * database: every refund settles, each exactly once at the PSP and once in the ledger.
 */

let stack: PayinsStack;
let proxy: PspProxy | undefined;
const children: Spawned[] = [];
let dataDir: string;

/** Short leases and ticks, so that the test takes seconds. */
const REFUNDS_ENV = {
  BURSAR_REFUNDS_TICK_MS: '200',
  BURSAR_REFUNDS_LEASE_MS: '1500',
  BURSAR_REFUNDS_POLL_AFTER_MS: '500',
  BURSAR_REFUNDS_RETRY_BASE_MS: '200',
  LOG_LEVEL: 'warn',
};

beforeAll(async () => {
  // The in-process stack takes the payments; no refund worker runs in it: the refunds are the children's.
  stack = await startPayinsStack({ sandbox: { refundDelayMs: 300 } });
  await stack.registerSellers(['rk_one', 'rk_two']);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-refund-crash-'));
});

afterAll(async () => {
  for (const child of children) {
    if (child.child.exitCode === null && child.child.signalCode === null) {
      child.child.kill('SIGKILL');
      await child.exited();
    }
  }
  await proxy?.close();
  await stack?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

/** A worker process on the stack's database, reaching the PSP at `pspPort`. */
function startWorker(pspPort: number): Spawned {
  const child = spawnBursar(['start', '--role', 'worker'], {
    ...REFUNDS_ENV,
    DATABASE_URL: stack.db.url,
    BURSAR_DATA_DIR: dataDir,
    STRIPE_API_HOST: '127.0.0.1',
    STRIPE_API_PORT: String(pspPort),
    STRIPE_API_PROTOCOL: 'http',
    STRIPE_SECRET_KEY: stack.sandbox.secretKey,
    STRIPE_WEBHOOK_SECRET: stack.webhookSecret,
  });
  children.push(child);
  return child;
}

async function pay(seller: string, amount: string): Promise<{ orderId: string; paymentId: string }> {
  const body = savedMethodBody([seller], { amount });
  expect((await stack.pay(body, uid('idem'))).status).toBe(201);
  const orderId = `${body.checkout_id}_po0`;
  await stack.waitForStatus(orderId, 'SUCCESS');
  const row = await stack.db.pool.query<{ psp_payment_id: string }>(
    'SELECT psp_payment_id FROM payins.payment_order WHERE payment_order_id = $1',
    [orderId],
  );
  return { orderId, paymentId: row.rows[0]?.psp_payment_id ?? '' };
}

it(
  'a worker killed (kill -9) with refunds in flight, one made at the PSP and not yet recorded: after a restart every refund settles once at the PSP and once in the ledger',
  { timeout: 300_000 },
  async () => {
    const one = await pay('rk_one', '60.00');
    const two = await pay('rk_two', '25.00');
    const asked = [
      { payment_order_id: one.orderId, amount: '10.00' },
      { payment_order_id: one.orderId, amount: '20.00' },
      { payment_order_id: two.orderId },
      { payment_order_id: one.orderId, amount: '5.00' },
    ];
    const ids: string[] = [];
    for (const body of asked) {
      const answer = await stack.post('/v1/refunds', body, { 'idempotency-key': uid('rk') });
      expect(answer.status).toBe(201);
      ids.push(String(answer.json.id));
    }

    // Between the worker and the PSP: the answer to the first refund made is kept from the worker.
    proxy = await startPspProxy(
      stack.sandbox.port,
      (method, pathname) => method === 'POST' && pathname === '/v1/refunds',
    );
    const first = startWorker(proxy.port);
    const made = await proxy.held;
    expect(made.status).toBe(200);
    const heldRefund = JSON.parse(made.body) as { id: string; metadata: Record<string, string> };
    first.child.kill('SIGKILL');
    expect(await first.exited()).toBe(null);
    expect(first.child.signalCode).toBe('SIGKILL');

    // The PSP made it; Bursar has no record of that (no PSP refund id on the row), and no entry.
    const heldId = heldRefund.metadata.bursar_refund_id ?? '';
    expect(ids).toContain(heldId);
    const row = await stack.db.pool.query<{ status: string; psp_refund_id: string | null }>(
      'SELECT status, psp_refund_id FROM refunds.refunds WHERE id = $1',
      [heldId],
    );
    expect(row.rows[0]).toEqual({ status: 'pending', psp_refund_id: null });

    // A new worker, as an operator restarts it, straight to the PSP.
    const second = startWorker(stack.sandbox.port);
    await second.waitForOutput('Bursar is running (role: worker)', 120_000);
    for (const id of ids) {
      await waitFor(
        async () => {
          const answer = await stack.get(`/v1/refunds/${id}`);
          return answer.json.status === 'succeeded' ? true : undefined;
        },
        60_000,
        `refund ${id} to succeed after the restart`,
      );
    }
    second.child.kill('SIGTERM');
    expect(await second.exited()).toBe(0);

    // Once at the PSP: one refund per Bursar refund (the held one found, not made again), amounts as asked.
    const atPsp = [
      ...(await stack.sandbox.stripe.refunds.list({ payment_intent: one.paymentId, limit: 100 })).data,
      ...(await stack.sandbox.stripe.refunds.list({ payment_intent: two.paymentId, limit: 100 })).data,
    ];
    expect(atPsp.map((r) => r.metadata?.bursar_refund_id).sort()).toEqual([...ids].sort());
    expect(atPsp.map((r) => r.amount).sort((a, b) => a - b)).toEqual([500, 1000, 2000, 2500]);
    expect(atPsp.find((r) => r.metadata?.bursar_refund_id === heldId)?.id).toBe(heldRefund.id);

    // Once in the ledger: one refund entry each, under the PSP's refund id.
    const entries = await stack.db.pool.query<{ reference: string }>(
      `SELECT reference FROM ledger.entries WHERE kind = 'refund' AND metadata ->> 'refundId' = ANY($1::text[])`,
      [ids],
    );
    expect(entries.rows.map((r) => r.reference).sort()).toEqual(atPsp.map((r) => `refund:${r.id}`).sort());
    expect(await stack.order(one.orderId)).toMatchObject({ amount_refunded: '35.00' });
    expect(await stack.order(two.orderId)).toMatchObject({
      amount_refunded: '25.00',
      refund_status: 'refunded',
    });
    expect(await stack.ledgerOk()).toBe(true);
  },
);
