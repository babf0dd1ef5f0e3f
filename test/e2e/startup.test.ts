import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seededDataDir } from '../support/data-dir.ts';
import { testPort } from '../support/ports.ts';
import { runBursar, spawnBursar, type Spawned } from '../support/process.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-start-'));
const running: Spawned[] = [];

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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function start(env: NodeJS.ProcessEnv): Promise<{ proc: Spawned; api: string }> {
  const port = await testPort();
  const sandboxPort = await testPort();
  const proc = spawnBursar(['start'], {
    BURSAR_DATA_DIR: dataDir,
    PORT: String(port),
    SANDBOX_PORT: String(sandboxPort),
    ...env,
  });
  running.push(proc);
  await proc.waitForOutput('Press Ctrl-C to stop.', 90_000);
  return { proc, api: `http://127.0.0.1:${port}` };
}

afterAll(async () => {
  for (const proc of running) if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
  const pid = pgPid();
  if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGINT');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start on the embedded PostgreSQL', { timeout: 120_000 }, () => {
  let devKey = '';

  it('starts on an empty data dir, prints the URL and a development key that works', async () => {
    const { proc, api } = await start({});
    const out = proc.output();
    expect(out).toContain(api);
    const key = /API key:\s+(bsk_[A-Za-z0-9_-]+)/.exec(out)?.[1];
    expect(key).toBeDefined();
    devKey = key ?? '';
    const ready = await fetch(`${api}/readyz`);
    expect(ready.status).toBe(200);
    const created = await fetch(`${api}/v1/sellers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${devKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ seller_account: 'kept_seller', name: 'Kept', currency: 'EUR' }),
    });
    expect(created.status).toBe(201);

    proc.child.kill('SIGTERM');
    expect(await proc.exited()).toBe(0);
    // A clean shutdown stops the embedded server too.
    expect(pgPid()).toBeUndefined();
  });

  it('finds its data again on a second start, and prints the same development key', async () => {
    const { proc, api } = await start({});
    expect(proc.output()).toContain(devKey);
    const res = await fetch(`${api}/v1/sellers/kept_seller`, {
      headers: { authorization: `Bearer ${devKey}` },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { currency: string }).currency).toBe('EUR');

    // The CLI shares the server the running service owns.
    const verify = await runBursar(['ledger', 'verify'], { BURSAR_DATA_DIR: dataDir });
    expect(verify.code, verify.output).toBe(0);

    // kill -9: the embedded server survives as an orphan...
    proc.child.kill('SIGKILL');
    await proc.exited();
    const orphan = pgPid();
    expect(orphan).toBeDefined();
  });

  it('recovers after kill -9: the next start adopts the server, loses nothing, and stops it on shutdown', async () => {
    const fixed = 'fixed_development_key_123456';
    const { proc, api } = await start({ BURSAR_API_KEY: fixed });
    expect(proc.output()).toContain(fixed);
    const res = await fetch(`${api}/v1/sellers/kept_seller`, {
      headers: { authorization: `Bearer ${fixed}` },
    });
    expect(res.status).toBe(200);
    const pid = pgPid();
    proc.child.kill('SIGINT');
    expect(await proc.exited()).toBe(0);
    expect(pid !== undefined && alive(pid)).toBe(false);
  });

  it('runs CLI commands with the service stopped, starting and stopping the server itself; refuses bad arguments before starting it', async () => {
    const verify = await runBursar(['ledger', 'verify'], { BURSAR_DATA_DIR: dataDir });
    expect(verify.code, verify.output).toBe(0);
    const keys = await runBursar(['keys', 'create', '--scope', 'payments:read'], {
      BURSAR_DATA_DIR: dataDir,
    });
    expect(keys.code, keys.output).toBe(0);
    expect(keys.output).toMatch(/secret: bsk_/);
    expect(pgPid()).toBeUndefined();
    // A mistake in the arguments is refused before any database is opened: on an empty data dir, nothing is made.
    const emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-start-empty-'));
    try {
      const bad = await runBursar(['keys', 'create', '--scope', 'everything'], { BURSAR_DATA_DIR: emptyDir });
      expect(bad.code, bad.output).toBe(2);
      expect(bad.output).toContain('unknown scope');
      expect(fs.readdirSync(emptyDir)).toEqual([]);
    } finally {
      fs.rmSync(emptyDir, { recursive: true, force: true });
    }
  });

  it('runs two instances side by side with different data dirs and ports', async () => {
    // Its own data dir, made once for the run (the first start on an empty one is the first test's).
    const otherDir = seededDataDir('bursar-start2-');
    try {
      const a = await start({});
      const port = await testPort();
      const b = spawnBursar(['start'], {
        BURSAR_DATA_DIR: otherDir,
        PORT: String(port),
        SANDBOX_PORT: String(await testPort()),
      });
      running.push(b);
      await b.waitForOutput('Press Ctrl-C to stop.', 90_000);
      expect((await fetch(`${a.api}/readyz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      a.proc.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      expect(await a.proc.exited(), a.proc.output()).toBe(0);
      expect(await b.exited(), b.output()).toBe(0);
    } finally {
      fs.rmSync(otherDir, { recursive: true, force: true });
    }
  });
});
