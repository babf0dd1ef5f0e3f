import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seededDataDir } from '../support/data-dir.ts';
import { testPort } from '../support/ports.ts';
import { runBursar, spawnBursar, type Spawned } from '../support/process.ts';

const dataDir = seededDataDir('bursar-doctor-');
const running: Spawned[] = [];

afterAll(async () => {
  for (const proc of running)
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  await Promise.all(running.map((proc) => proc.exited()));
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function listing(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((name) => name !== 'postgres.log')
    .map((name) => `${name}:${(fs.statSync(path.join(dir, name)).mode & 0o777).toString(8)}`)
    .sort();
}

describe('npx bursar doctor', { timeout: 360_000 }, () => {
  it('on an empty data dir: one line per check, the database named as the problem, exit 1, nothing created', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-doctor-empty-'));
    try {
      const result = await runBursar(['doctor'], {
        BURSAR_DATA_DIR: empty,
        SANDBOX_PORT: String(await testPort()),
      });
      expect(result.code, result.output).toBe(1);
      expect(result.output).toMatch(/^ok {4}configuration: \d+ settings checked/m);
      expect(result.output).toMatch(/^FAIL {2}database: no embedded database under/m);
      expect(result.output).toMatch(/^FAIL {2}psp: .* unreachable/m);
      expect(result.output).toMatch(/^(ok {4}|warn {2})payouts: provider iso20022/m);
      expect(fs.readdirSync(empty)).toEqual([]);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('against a running Bursar: every check passes, exit 0, and the data dir is unchanged', async () => {
    const port = await testPort();
    const sandboxPort = String(await testPort());
    const env = {
      BURSAR_DATA_DIR: dataDir,
      PORT: String(port),
      SANDBOX_PORT: sandboxPort,
      SANDBOX_SECRET_KEY: 'sk_test_doctor_right_key',
      STRIPE_SECRET_KEY: 'sk_test_doctor_right_key',
    };
    const proc = spawnBursar(['start'], env);
    running.push(proc);
    await proc.waitForOutput('Press Ctrl-C to stop.', 90_000);
    const before = listing(dataDir);

    const healthy = await runBursar(['doctor'], env);
    expect(healthy.code, healthy.output).toBe(0);
    for (const check of [
      'configuration',
      'database',
      'migrations',
      'privileges',
      'clocks',
      'psp webhook secret',
      'psp',
      'data dir',
    ]) {
      expect(healthy.output).toMatch(new RegExp(`^ok {4}${check}: `, 'm'));
    }
    expect(healthy.output).toMatch(
      /^ok {4}privileges: .*cannot change or remove ledger entries and postings/m,
    );
    expect(healthy.output).toMatch(/^doctor: no problem found$/m);
    expect(listing(dataDir)).toEqual(before);

    // A key the PSP refuses, a secret's file others can read, a bad setting: each its own line, exit 1.
    fs.chmodSync(path.join(dataDir, 'stripe-webhook-secret'), 0o644);
    try {
      const sick = await runBursar(['doctor'], { ...env, STRIPE_SECRET_KEY: 'sk_test_doctor_wrong_key' });
      expect(sick.code, sick.output).toBe(1);
      expect(sick.output).toMatch(/^FAIL {2}psp: .* refuses the configured key \(401\)/m);
      expect(sick.output).toMatch(
        /^FAIL {2}data dir: stripe-webhook-secret is mode 644; a secret's file must be 0600/m,
      );
      expect(sick.output).not.toContain('sk_test_doctor_wrong_key');
      const badConfig = await runBursar(['doctor'], { ...env, BURSAR_PAYOUT_PROVIDER: 'swift' });
      expect(badConfig.code).toBe(1);
      expect(badConfig.output).toMatch(/^FAIL {2}configuration: BURSAR_PAYOUT_PROVIDER: "swift"/m);
    } finally {
      fs.chmodSync(path.join(dataDir, 'stripe-webhook-secret'), 0o600);
    }
    proc.child.kill('SIGTERM');
    expect(await proc.exited()).toBe(0);
  });
});
