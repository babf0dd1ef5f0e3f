import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { seededDataDir } from '../support/data-dir.ts';
import { testPort } from '../support/ports.ts';
import { savedMethodBody, uid, waitFor } from '../support/payins.ts';
import { spawnBursar, type Spawned } from '../support/process.ts';

// An order in hand when SIGTERM comes, whose PSP call outlasts the grace period, is handed back: the next
// process executes it at once (the sweeper would wait an hour), and the PSP charges it once.

const dataDir = seededDataDir('bursar-handback-');
const KEY = 'lifecycle_handback_key_0123456789';
const running: Spawned[] = [];

async function start(env: NodeJS.ProcessEnv): Promise<{ proc: Spawned; api: string; psp: string }> {
  const port = await testPort();
  const sandboxPort = await testPort();
  const proc = spawnBursar(['start'], {
    BURSAR_DATA_DIR: dataDir,
    BURSAR_API_KEY: KEY,
    BURSAR_PAYINS_SWEEP_AFTER_MS: '3600000',
    BURSAR_SHUTDOWN_GRACE_MS: '4000',
    PORT: String(port),
    SANDBOX_PORT: String(sandboxPort),
    ...env,
  });
  running.push(proc);
  await proc.waitForOutput('Press Ctrl-C to stop.', 90_000);
  return { proc, api: `http://127.0.0.1:${port}`, psp: `http://127.0.0.1:${sandboxPort}` };
}

afterAll(async () => {
  for (const proc of running)
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  await Promise.all(running.map((proc) => proc.exited()));
  try {
    const pid = Number.parseInt(
      fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0] ?? '',
      10,
    );
    if (Number.isInteger(pid)) process.kill(pid, 'SIGINT');
  } catch {
    // not running
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

it(
  'an order whose PSP call outlasts the grace period is handed back and executed at once by the next process, charged once',
  { timeout: 240_000 },
  async () => {
    // The PSP takes a minute to answer a charge: far longer than the grace period.
    const first = await start({
      SANDBOX_FAULTS: JSON.stringify({ rules: [{ match: 'POST /v1/payment_intents*', latencyMs: 60_000 }] }),
    });
    const seller = await fetch(`${first.api}/v1/sellers`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ seller_account: 'handback_a', name: 'A', currency: 'USD' }),
    });
    expect(seller.status).toBe(201);
    const body = savedMethodBody(['handback_a'], { checkoutId: uid('handback') });
    const created = await fetch(`${first.api}/v1/payments`, {
      method: 'POST',
      headers: { ...headers, 'idempotency-key': body.checkout_id },
      body: JSON.stringify(body),
    });
    expect(created.status).toBe(201);
    const orderId = String(body.payment_orders[0]?.payment_order_id);
    // The worker has claimed the order and is waiting for the PSP.
    await waitFor(
      async () => {
        const res = await fetch(`${first.api}/v1/payments/${orderId}`, { headers });
        const json = (await res.json()) as { status?: string };
        return json.status === 'EXECUTING' ? true : undefined;
      },
      30_000,
      'the order to be claimed',
    );
    first.proc.child.kill('SIGTERM');
    expect(await first.proc.exited()).toBe(0);

    // The next process, with a PSP that answers at once.
    const second = await start({});
    await waitFor(
      async () => {
        const res = await fetch(`${second.api}/v1/payments/${orderId}`, { headers });
        const json = (await res.json()) as { status?: string };
        return json.status === 'SUCCESS' ? true : undefined;
      },
      30_000,
      'the handed-back order to succeed without the sweeper',
    );
    const search = new URL(`${second.psp}/v1/payment_intents/search`);
    search.searchParams.set('query', `metadata['payment_order_id']:'${orderId}'`);
    const found = (await (
      await fetch(search, {
        headers: {
          authorization: `Bearer ${fs.readFileSync(path.join(dataDir, 'sandbox-secret-key'), 'utf8').trim()}`,
        },
      })
    ).json()) as { data: { status: string }[] };
    expect(found.data.filter((intent) => intent.status === 'succeeded')).toHaveLength(1);
    second.proc.child.kill('SIGTERM');
    expect(await second.proc.exited()).toBe(0);
  },
);
