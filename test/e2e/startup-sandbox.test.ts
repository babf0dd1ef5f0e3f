import fs from 'node:fs';
import path from 'node:path';
import { EXIT_CONFIG } from '../../src/config-check.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { seededDataDir } from '../support/data-dir.ts';
import { testPort } from '../support/ports.ts';
import { spawnBursar, type Spawned } from '../support/process.ts';

// The published development secret of the sandbox payout provider, spelled in pieces (no secret sits whole in code).
const OLD_DEFAULT = ['whsec', 'sandbox', 'payouts', 'development'].join('_');

const dataDir = seededDataDir('bursar-start-sandbox-');
const running: Spawned[] = [];

afterAll(async () => {
  for (const proc of running) {
    if (proc.child.exitCode === null) {
      proc.child.kill('SIGINT');
      await proc.exited();
    }
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start with the sandbox wired in by the launcher', { timeout: 180_000 }, () => {
  it('role sandbox runs the sandbox PSP (its own migrations applied) and prints its line; SIGINT stops it', async () => {
    const sandboxPort = await testPort();
    const proc = spawnBursar(['start', '--role', 'sandbox'], {
      BURSAR_DATA_DIR: dataDir,
      PORT: String(await testPort()),
      SANDBOX_PORT: String(sandboxPort),
    });
    running.push(proc);
    await proc.waitForOutput('Press Ctrl-C to stop.', 120_000);
    expect(proc.output()).toContain(
      `  Sandbox PSP:  http://127.0.0.1:${sandboxPort}   (Stripe-compatible; docs/sandbox.md)`,
    );
    expect(proc.output()).not.toContain('  API:');
    const balance = await fetch(`http://127.0.0.1:${sandboxPort}/v1/balance`, {
      headers: { authorization: 'Bearer sk_test_startup' },
    });
    // Only the key generated for this installation opens the sandbox's API.
    expect(balance.status).toBe(401);
    const sandboxKey = fs.readFileSync(path.join(dataDir, 'sandbox-secret-key'), 'utf8').trim();
    const own = await fetch(`http://127.0.0.1:${sandboxPort}/v1/balance`, {
      headers: { authorization: `Bearer ${sandboxKey}` },
    });
    expect(own.status).toBe(200);
    // The admin endpoints take the installation's own admin key, printed where it is kept, not a secret key.
    const keyFile = path.join(dataDir, 'sandbox-admin-key');
    expect(proc.output()).toContain(`  Sandbox admin key: ${keyFile}`);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const clock = (key: string) =>
      fetch(`http://127.0.0.1:${sandboxPort}/v1/sandbox/clock`, {
        headers: { authorization: `Bearer ${key}` },
      });
    expect((await clock('sk_test_startup')).status).toBe(401);
    expect((await clock(fs.readFileSync(keyFile, 'utf8').trim())).status).toBe(200);
    proc.child.kill('SIGINT');
    expect(await proc.exited()).toBe(0);
    // Generated per installation, kept beside the data: the sandbox's signing secrets.
    expect(fs.existsSync(path.join(dataDir, 'payout-sandbox-webhook-secret'))).toBe(true);
  });

  it('refuses to start with the published development payout secret unless the sandbox is the provider', async () => {
    const proc = spawnBursar(['start', '--role', 'api'], {
      BURSAR_DATA_DIR: dataDir,
      PORT: String(await testPort()),
      SANDBOX_PORT: String(await testPort()),
      BURSAR_PAYOUT_SANDBOX_WEBHOOK_SECRET: OLD_DEFAULT,
    });
    running.push(proc);
    // Found by the start-up configuration check (src/config-check.ts), which exits EXIT_CONFIG.
    expect(await proc.exited()).toBe(EXIT_CONFIG);
    expect(proc.output()).toContain('published development secret');
    expect(proc.output()).not.toContain('Press Ctrl-C to stop.');
  });
});
