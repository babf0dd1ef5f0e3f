import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { verifyLedger } from '../../src/ledger/service.ts';
import { getHistory, getOrder } from '../../src/payins/store.ts';
import type { TestApp } from '../support/app.ts';
import { createPayinsTestApp } from '../support/payins-app.ts';
import { bearer, registerSellers, savedMethodBody, uid, waitFor } from '../support/payins.ts';
import { startPspProxy, type PspProxy } from '../support/payins-psp-proxy.ts';
import { testPort } from '../support/ports.ts';
import { REPO_ROOT, spawnBursar, type Spawned } from '../support/process.ts';
import { startTestSandbox, type TestSandbox } from '../support/sandbox.ts';

let t: TestApp;
let sandbox: TestSandbox;
let restarted: Spawned | undefined;
let api: Spawned | undefined;
let proxy: PspProxy | undefined;
let dataDir: string;

/** The sweep deadline both workers use (BURSAR_PAYINS_SWEEP_AFTER_MS): short, so the test takes seconds. */
const PAYINS_ENV = {
  BURSAR_PAYINS_SWEEP_AFTER_MS: '1500',
  BURSAR_PAYINS_SWEEP_BASE_MS: '200',
  BURSAR_PAYINS_TICK_MS: '200',
};

beforeAll(async () => {
  // No webhook target: the only way the order can settle after the crash is the sweeper asking the PSP.
  sandbox = await startTestSandbox();
  // No worker runs in this process: the workers are the child we kill and the one started after it.
  t = await createPayinsTestApp({ psp: sandbox.psp });
  await registerSellers(t.db.pool, ['k_one']);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-crash-'));
});

afterAll(async () => {
  for (const spawned of [restarted, api]) {
    if (spawned && spawned.child.exitCode === null && spawned.child.signalCode === null) {
      spawned.child.kill('SIGKILL');
      await spawned.exited();
    }
  }
  await proxy?.close();
  await sandbox?.stop();
  await t?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

/** What a Bursar process needs to share this test's database and reach the PSP at `pspPort` (HTTP on 127.0.0.1). */
function bursarEnv(pspPort: number): NodeJS.ProcessEnv {
  return {
    DATABASE_URL: t.db.url,
    BURSAR_DATA_DIR: dataDir,
    STRIPE_API_HOST: '127.0.0.1',
    STRIPE_API_PORT: String(pspPort),
    STRIPE_API_PROTOCOL: 'http',
    STRIPE_SECRET_KEY: sandbox.secretKey,
    STRIPE_WEBHOOK_SECRET: sandbox.webhookSecret,
    LOG_LEVEL: 'warn',
  };
}

/** How long a child process may take to start and reach its point: a Bursar start is slow on a loaded machine. */
const STARTUP_MS = 120_000;

it(
  'a worker killed (kill -9) between the PSP charge and our commit: a restarted worker’s sweeper settles it from the PSP; one charge, one entry, ledger verifies',
  { timeout: 240_000 },
  async () => {
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
          ...PAYINS_ENV,
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
    try {
      await waitFor(
        async () => (output.includes('CHARGED') ? true : undefined),
        STARTUP_MS,
        `the child to charge; output: ${output}`,
      );
    } finally {
      child.kill('SIGKILL');
    }
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
    // The dead worker's claim took the order out of the executor's queue: only the sweeper can find it now.
    const queued = await t.db.pool.query<{ queued: boolean; sweep_deadline: boolean }>(
      `SELECT execute_at IS NOT NULL AS queued, next_sweep_at IS NOT NULL AS sweep_deadline
         FROM payins.payment_order WHERE payment_order_id = $1`,
      [orderId],
    );
    expect(queued.rows).toEqual([{ queued: false, sweep_deadline: true }]);

    // Restart: a new worker process, as an operator starts it, against the same database and PSP.
    restarted = spawnBursar(['start', '--role', 'worker'], { ...PAYINS_ENV, ...bursarEnv(sandbox.port) });
    await restarted.waitForOutput('Bursar is running (role: worker)', STARTUP_MS);
    const settled = await waitFor(
      async () => {
        const order = await getOrder(t.db.pool, orderId);
        return order?.status === 'SUCCESS' ? order : undefined;
      },
      20_000,
      'the restarted worker to settle the order',
    );
    expect(settled).toMatchObject({ ledgerUpdated: true, needsAttention: false });
    const history = await getHistory(t.db.pool, orderId);
    expect(history.at(-1)).toMatchObject({ to: 'SUCCESS', details: { settled_by: 'sweeper' } });

    restarted.child.kill('SIGTERM');
    const code = await restarted.exited();
    expect(code, `the restarted worker exited with ${String(code)}; its output:\n${restarted.output()}`).toBe(
      0,
    );

    expect(await charges()).toBe(1);
    const entries = await t.db.pool.query('SELECT 1 FROM ledger.entries WHERE reference = $1', [
      `payin:${orderId}:succeeded`,
    ]);
    expect(entries.rowCount).toBe(1);
    expect((await verifyLedger(t.db.pool)).ok).toBe(true);
  },
);

it(
  'the API killed (kill -9) after the PSP made the hosted session and before we stored it: a retry after the lease takes the work over and gets that same session; none is made twice',
  { timeout: 240_000 },
  async () => {
    // Between the API process and the PSP: the answer to the session creation is kept from the API, which dies.
    proxy = await startPspProxy(
      sandbox.port,
      (method, pathname) => method === 'POST' && pathname === '/v1/checkout/sessions',
    );
    const port = await testPort();
    const devKey = `bsk_crash_${randomBytes(12).toString('hex')}`;
    api = spawnBursar(['start', '--role', 'api'], {
      ...bursarEnv(proxy.port),
      PORT: String(port),
      BURSAR_API_KEY: devKey,
      BURSAR_IDEMPOTENCY_LEASE_MS: '1000',
    });
    await api.waitForOutput('Bursar is running (role: api)', STARTUP_MS);

    const checkoutId = uid('kh');
    const body = {
      checkout_id: checkoutId,
      buyer_info: { id: 'buyer_crash' },
      credit_card_info: { flow: 'hosted_page', return_url: 'http://127.0.0.1:9/back' },
      payment_orders: [
        { payment_order_id: `${checkoutId}_po`, seller_account: 'k_one', amount: '18.00', currency: 'USD' },
      ],
    };
    const key = uid('idem');
    const first = fetch(`http://127.0.0.1:${port}/v1/payments`, {
      method: 'POST',
      headers: { ...bearer(devKey), 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(body),
    }).then(
      (response) => response.status,
      () => 'no answer' as const,
    );
    const made = await proxy.held;
    expect(made.status).toBe(200);
    const sessionId = (JSON.parse(made.body) as { id: string }).id;
    api.child.kill('SIGKILL');
    await api.exited();
    expect(await first).toBe('no answer');

    // What the crash left: the checkout and its orders (first transaction), the key in progress, no session stored.
    const stored = await t.db.pool.query<{ psp_session_id: string | null }>(
      'SELECT psp_session_id FROM payins.payment_event WHERE checkout_id = $1',
      [checkoutId],
    );
    expect(stored.rows).toEqual([{ psp_session_id: null }]);
    expect(await getOrder(t.db.pool, `${checkoutId}_po`)).toMatchObject({ status: 'EXECUTING' });

    // The marketplace retries with the same key (here through another API instance on the same database): 429
    // while the dead request's lease lasts, then the retry takes the work over and the PSP replays its session.
    const retried = await waitFor(
      async () => {
        const response = await t.app.inject({
          method: 'POST',
          url: '/v1/payments',
          headers: { ...bearer(devKey), 'idempotency-key': key },
          payload: body,
        });
        if (response.statusCode === 429) return undefined;
        return response;
      },
      15_000,
      'the lease of the dead request to run out',
    );
    expect(retried.statusCode).toBe(201);
    const answer = retried.json() as { status: string; next_action: { redirect_url: string } };
    expect(answer.status).toBe('requires_action');
    expect(answer.next_action.redirect_url.endsWith(`/c/pay/${sessionId}`)).toBe(true);
    const sessions = [];
    for await (const session of sandbox.stripe.checkout.sessions.list({ limit: 100 })) {
      if (session.client_reference_id === checkoutId) sessions.push(session.id);
    }
    expect(sessions).toEqual([sessionId]);
  },
);
