import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seededDataDir } from '../support/data-dir.ts';
import { testPort } from '../support/ports.ts';
import { savedMethodBody, uid, waitFor, type PaymentBody } from '../support/payins.ts';
import { spawnBursar, type Spawned } from '../support/process.ts';

// SIGTERM in the middle of a stream of saved-method checkouts against the real process (API, workers and the
// sandbox PSP in one), then a restart on the same data dir.

const dataDir = seededDataDir('bursar-drain-');
const KEY = `drain_key_${uid('k').replace(/[^A-Za-z0-9_]/g, '')}`;
const running: Spawned[] = [];

/** The sweeper would only look after an hour: an order settled within the test was not left to it. */
const ENV = {
  BURSAR_DATA_DIR: dataDir,
  BURSAR_API_KEY: KEY,
  BURSAR_PAYINS_SWEEP_AFTER_MS: '3600000',
  BURSAR_SHUTDOWN_GRACE_MS: '10000',
};

async function start(): Promise<{ proc: Spawned; api: string; psp: string }> {
  const port = await testPort();
  const sandboxPort = await testPort();
  const proc = spawnBursar(['start'], { ...ENV, PORT: String(port), SANDBOX_PORT: String(sandboxPort) });
  running.push(proc);
  await proc.waitForOutput('Press Ctrl-C to stop.', 90_000);
  return { proc, api: `http://127.0.0.1:${port}`, psp: `http://127.0.0.1:${sandboxPort}` };
}

afterAll(async () => {
  for (const proc of running) {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGTERM');
      await Promise.race([proc.exited(), new Promise((resolve) => setTimeout(resolve, 20_000))]);
      if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
    }
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

type Outcome =
  | { kind: 'answered'; status: number }
  /** No response started: refused, or a kept-alive connection closed before the request was read. */
  | { kind: 'unanswered'; error: string }
  /** Headers came but the body did not: a connection reset mid-response. */
  | { kind: 'cut'; error: string };

async function post(api: string, body: PaymentBody): Promise<Outcome> {
  let res: Response;
  try {
    res = await fetch(`${api}/v1/payments`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${KEY}`,
        'content-type': 'application/json',
        'idempotency-key': body.checkout_id,
      },
      body: JSON.stringify(body),
    });
  } catch (error) {
    return { kind: 'unanswered', error: String((error as Error).cause ?? error) };
  }
  try {
    await res.text();
  } catch (error) {
    return { kind: 'cut', error: String(error) };
  }
  return { kind: 'answered', status: res.status };
}

describe('SIGTERM drains', { timeout: 240_000 }, () => {
  it('every checkout that got a 201 is charged exactly once, by this process or the next; none waits for the sweeper; no response is cut', async () => {
    const first = await start();
    for (const seller of ['drain_a', 'drain_b']) {
      const res = await fetch(`${first.api}/v1/sellers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ seller_account: seller, name: seller, currency: 'USD' }),
      });
      expect(res.status).toBe(201);
    }

    const bodies = new Map<string, PaymentBody>();
    const outcomes = new Map<string, Outcome>();
    let created = 0;
    let signalled = false;
    const client = async () => {
      for (;;) {
        const body = savedMethodBody(['drain_a', 'drain_b'], { checkoutId: uid('drain') });
        bodies.set(body.checkout_id, body);
        const outcome = await post(first.api, body);
        outcomes.set(body.checkout_id, outcome);
        if (outcome.kind === 'answered' && outcome.status === 201) created++;
        if (created >= 12 && !signalled) {
          signalled = true;
          first.proc.child.kill('SIGTERM');
        }
        if (outcome.kind !== 'answered') return;
        if (signalled && outcome.status === 503) return;
      }
    };
    // Watching /readyz from the moment of the signal: it never says ready again.
    const readyz: (number | string)[] = [];
    const watchReadyz = async () => {
      await waitFor(async () => (signalled ? true : undefined), 60_000, 'the signal');
      for (;;) {
        try {
          const res = await fetch(`${first.api}/readyz`);
          const text = await res.text();
          readyz.push(res.status === 503 ? text : res.status);
        } catch {
          return;
        }
      }
    };
    await Promise.all([client(), client(), client(), client(), watchReadyz()]);
    expect(await first.proc.exited()).toBe(0);
    // The embedded PostgreSQL went last and is gone: the restart below starts it again.
    expect(fs.existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);

    if (process.env.BURSAR_TEST_VERBOSE) {
      console.log(JSON.stringify({ readyz, outcomes: [...outcomes.values()] }));
    }
    const cut = [...outcomes.values()].filter((outcome) => outcome.kind === 'cut');
    expect(cut).toEqual([]);
    // After the signal /readyz answered 503 draining (or the connection was refused), and never 200 again.
    const firstNotReady = readyz.findIndex((entry) => entry !== 200);
    for (const entry of readyz.slice(firstNotReady < 0 ? readyz.length : firstNotReady)) {
      expect(String(entry)).toMatch(/draining/);
    }

    // The next process, on the same data dir: the clients send what got no answer again, with the same key.
    const second = await start();
    for (const [checkoutId, outcome] of outcomes) {
      if (outcome.kind === 'answered' && outcome.status === 201) continue;
      const body = bodies.get(checkoutId);
      if (body === undefined) continue;
      if (outcome.kind === 'unanswered') {
        // A request without an answer was never taken in: the first process did not store its checkout (else
        // its response would have been lost mid-way).
        const stored = await fetch(`${second.api}/v1/checkouts/${checkoutId}`, {
          headers: { authorization: `Bearer ${KEY}` },
        });
        await stored.body?.cancel();
        expect(stored.status, `${checkoutId}: ${outcome.error}`).toBe(404);
      }
      const again = await post(second.api, body);
      expect(again.kind).toBe('answered');
      outcomes.set(checkoutId, again);
    }
    const accepted = [...outcomes]
      .filter(
        ([, outcome]) => outcome.kind === 'answered' && (outcome.status === 201 || outcome.status === 200),
      )
      .map(([checkoutId]) => checkoutId);
    expect(accepted.length).toBeGreaterThanOrEqual(12);

    // Every accepted checkout's orders succeed within seconds (the sweeper would wait an hour).
    for (const checkoutId of accepted) {
      let last = '';
      await waitFor(
        async () => {
          const res = await fetch(`${second.api}/v1/checkouts/${checkoutId}`, {
            headers: { authorization: `Bearer ${KEY}` },
          });
          last = await res.text();
          const json = JSON.parse(last) as { status?: string };
          return json.status === 'succeeded' ? true : undefined;
        },
        30_000,
        `checkout ${checkoutId} to succeed`,
      ).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}; last answer: ${last}`);
      });
    }

    // Exactly one charge at the PSP per payment order.
    const charges = new Map<string, number>();
    let startingAfter: string | undefined;
    for (;;) {
      const url = new URL(`${second.psp}/v1/payment_intents`);
      url.searchParams.set('limit', '100');
      if (startingAfter) url.searchParams.set('starting_after', startingAfter);
      const res = await fetch(url, {
        headers: {
          authorization: `Bearer ${fs.readFileSync(path.join(dataDir, 'sandbox-secret-key'), 'utf8').trim()}`,
        },
      });
      const page = (await res.json()) as {
        data: { id: string; status: string; metadata: Record<string, string> }[];
        has_more: boolean;
      };
      for (const intent of page.data) {
        const order = intent.metadata.payment_order_id;
        if (order !== undefined && intent.status === 'succeeded')
          charges.set(order, (charges.get(order) ?? 0) + 1);
      }
      if (!page.has_more || page.data.length === 0) break;
      startingAfter = page.data[page.data.length - 1]?.id;
    }
    for (const checkoutId of accepted) {
      const body = bodies.get(checkoutId);
      for (const order of body?.payment_orders ?? []) {
        const id = String(order.payment_order_id);
        expect(charges.get(id), id).toBe(1);
      }
    }
    second.proc.child.kill('SIGINT');
    expect(await second.proc.exited()).toBe(0);
  });
});
