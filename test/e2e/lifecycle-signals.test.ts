import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seededDataDir } from '../support/data-dir.ts';
import { testPort } from '../support/ports.ts';
import { waitFor } from '../support/payins.ts';
import { spawnBursar, type Spawned } from '../support/process.ts';

// The lifecycle of `bursar start` seen from outside, as a supervisor sees it: signals, drain, failures.

const dataDir = seededDataDir('bursar-life-');
const KEY = 'lifecycle_signals_key_0123456789';
const running: Spawned[] = [];

async function start(env: NodeJS.ProcessEnv = {}): Promise<{ proc: Spawned; port: number; api: string }> {
  const port = await testPort();
  const proc = spawnBursar(['start'], {
    BURSAR_DATA_DIR: dataDir,
    BURSAR_API_KEY: KEY,
    PORT: String(port),
    SANDBOX_PORT: String(await testPort()),
    ...env,
  });
  running.push(proc);
  await proc.waitForOutput('Press Ctrl-C to stop.', 90_000);
  return { proc, port, api: `http://127.0.0.1:${port}` };
}

function pgPid(): number | undefined {
  try {
    const pid = Number.parseInt(
      fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0] ?? '',
      10,
    );
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A request whose body is sent in part only, so it stays in flight until `finish` is called. */
function slowRequest(port: number): {
  response: Promise<{ status: number; body: string }>;
  finish(): void;
} {
  const body = JSON.stringify({
    seller_account: `slow_${Date.now().toString(36)}`,
    name: 'Slow',
    currency: 'USD',
  });
  const request = http.request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/v1/sellers',
    headers: {
      authorization: `Bearer ${KEY}`,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    request.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    request.on('error', reject);
  });
  request.write(body.slice(0, 10));
  return { response, finish: () => request.end(body.slice(10)) };
}

/** A round trip on another connection: by then the server has read the slow request's headers. */
async function requestIsIn(api: string): Promise<void> {
  for (let i = 0; i < 3; i++) await fetch(`${api}/healthz`).then((res) => res.text());
}

async function readyz(api: string): Promise<{ status: number; body: string } | 'refused'> {
  try {
    const res = await fetch(`${api}/readyz`, { headers: { connection: 'close' } });
    return { status: res.status, body: await res.text() };
  } catch {
    return 'refused';
  }
}

afterAll(async () => {
  for (const proc of running)
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  await Promise.all(running.map((proc) => proc.exited()));
  const pid = pgPid();
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      // gone already
    }
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('bursar start under a supervisor', { timeout: 180_000 }, () => {
  it('SIGTERM: /readyz says 503 draining at once, the request in flight finishes with its answer, then exit 0', async () => {
    const { proc, port, api } = await start({ BURSAR_SHUTDOWN_GRACE_MS: '60000' });
    expect((await readyz(api)) as { status: number }).toMatchObject({ status: 200 });
    const slow = slowRequest(port);
    await requestIsIn(api);
    proc.child.kill('SIGTERM');
    const draining = await waitFor(
      async () => {
        const answer = await readyz(api);
        return answer !== 'refused' && answer.status === 503 ? answer : undefined;
      },
      10_000,
      '/readyz to say draining',
    );
    expect(draining.body).toMatch(/"code":"service_unavailable".*"message":"draining/);
    expect(proc.child.exitCode).toBeNull();
    slow.finish();
    const answer = await slow.response;
    expect(answer.status, answer.body).toBe(201);
    expect(await proc.exited()).toBe(0);
    // The embedded PostgreSQL was stopped, last.
    expect(pgPid()).toBeUndefined();
  });

  it('a second signal while draining exits at once (130)', async () => {
    const { proc, port, api } = await start({ BURSAR_SHUTDOWN_GRACE_MS: '60000' });
    const slow = slowRequest(port);
    slow.response.catch(() => undefined);
    await requestIsIn(api);
    proc.child.kill('SIGTERM');
    await waitFor(
      async () => {
        const answer = await readyz(api);
        return answer !== 'refused' && answer.status === 503 ? true : undefined;
      },
      10_000,
      '/readyz to say draining',
    );
    const before = Date.now();
    proc.child.kill('SIGINT');
    expect(await proc.exited()).toBe(130);
    expect(Date.now() - before).toBeLessThan(5_000);
    expect(proc.output()).toMatch(/second signal: exiting now/);
  });

  it('a database lost after start: /readyz shows it (503), then past BURSAR_DB_OUTAGE_LIMIT_MS the process exits 69', async () => {
    // The previous test left the embedded server running (exit at once skips the drain); this start adopts it.
    const { proc, api } = await start({
      BURSAR_DB_OUTAGE_LIMIT_MS: '6000',
      BURSAR_SHUTDOWN_GRACE_MS: '2000',
    });
    const pid = pgPid();
    expect(pid).toBeDefined();
    process.kill(pid ?? 0, 'SIGKILL');
    const degraded = await waitFor(
      async () => {
        const answer = await readyz(api);
        return answer !== 'refused' && answer.status === 503 ? answer : undefined;
      },
      20_000,
      '/readyz to report the database',
    );
    expect(degraded.body).toMatch(/database unreachable|degraded: database: unreachable/);
    const code = await Promise.race([
      proc.exited(),
      new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 90_000)),
    ]);
    expect(code, proc.output()).toBe(69);
    expect(proc.output()).toMatch(/database failed: unreachable for more than 6000 ms/);
  });

  it('a failure during start (the sandbox port taken) exits 1 with the reason, leaving nothing listening', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    const port = await testPort();
    try {
      const proc = spawnBursar(['start'], {
        BURSAR_DATA_DIR: dataDir,
        BURSAR_API_KEY: KEY,
        PORT: String(port),
        SANDBOX_PORT: String(taken),
      });
      running.push(proc);
      const code = await Promise.race([
        proc.exited(),
        new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 90_000)),
      ]);
      expect(code, proc.output()).toBe(1);
      expect(proc.output()).toMatch(/could not start: listen EADDRINUSE/);
      expect(await readyz(`http://127.0.0.1:${port}`)).toBe('refused');
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
