import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { verifyLedger } from '../../src/ledger/service.ts';
import { configurePayins, payinsRuntime } from '../../src/payins/runtime.ts';
import { getOrder } from '../../src/payins/store.ts';
import { sweepOnce } from '../../src/payins/sweeper.ts';
import type { TestApp } from '../support/app.ts';
import { createPayinsTestApp } from '../support/payins-app.ts';
import { bearer, registerSellers, savedMethodBody, uid, waitFor } from '../support/payins.ts';
import { REPO_ROOT } from '../support/process.ts';
import { startTestSandbox, type TestSandbox } from '../support/sandbox.ts';

let t: TestApp;
let sandbox: TestSandbox;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  // No worker runs in this process: the only executor is the child we kill.
  t = await createPayinsTestApp({
    psp: sandbox.psp,
    config: { sweepAfterMs: 60_000, sweepBaseDelayMs: 100 },
  });
  await registerSellers(t.db.pool, ['k_one']);
});

afterAll(async () => {
  await sandbox?.stop();
  await t?.close();
});

it('a worker killed (kill -9) between the PSP charge and our commit: the sweeper settles it from the PSP; one charge, one entry, ledger verifies', async () => {
  const body = savedMethodBody(['k_one'], { amount: '42.00' });
  const created = await t.app.inject({
    method: 'POST',
    url: '/v1/payments',
    headers: { ...bearer(t.key), 'idempotency-key': uid('idem') },
    payload: body,
  });
  expect(created.statusCode).toBe(201);
  const orderId = `${String(body.checkout_id)}_po0`;

  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(REPO_ROOT, 'test/support/payins-crash-child.ts')],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        DATABASE_URL: t.db.url,
        PSP_PORT: String(sandbox.port),
        PSP_SECRET_KEY: sandbox.secretKey,
        ORDER_ID: orderId,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  );
  await waitFor(
    async () => (output.includes('CHARGED') ? true : undefined),
    30_000,
    `the child to charge; output: ${output}`,
  );
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');

  // The PSP charged, we never recorded it.
  expect(await getOrder(t.db.pool, orderId)).toMatchObject({ status: 'EXECUTING', ledgerUpdated: false });
  const charges = async () =>
    (
      await sandbox.psp.stripe.paymentIntents.search({
        query: `metadata['payment_order_id']:'${orderId}'`,
        limit: 10,
      })
    ).data.length;
  expect(await charges()).toBe(1);

  // "Restart": the order's sweep deadline passes and a fresh process's sweeper runs.
  await t.db.pool.query(
    `UPDATE payins.payment_order SET next_sweep_at = now() - interval '1 second' WHERE payment_order_id = $1`,
    [orderId],
  );
  configurePayins(t.ctx, { psp: sandbox.psp });
  await waitFor(
    async () => {
      await sweepOnce(payinsRuntime(t.ctx));
      const order = await getOrder(t.db.pool, orderId);
      return order?.status === 'SUCCESS' ? order : undefined;
    },
    30_000,
    'the sweeper to settle the order',
  );

  expect(await charges()).toBe(1);
  const entries = await t.db.pool.query('SELECT 1 FROM ledger.entries WHERE reference = $1', [
    `payin:${orderId}:succeeded`,
  ]);
  expect(entries.rowCount).toBe(1);
  expect((await verifyLedger(t.db.pool)).ok).toBe(true);
});
