import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBursar } from '../support/process.ts';

// Bad configuration stops a process before it opens a port, takes a job or writes a file: every problem is
// reported at once, naming the variable, what is wrong and what is accepted, and the process exits 78.

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-config-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

async function startWith(
  role: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string }> {
  // Ports nobody listens on: a process that got as far as listening would be caught by the output check.
  return await runBursar(['start', '--role', role], { BURSAR_DATA_DIR: dataDir, PORT: '1', ...env });
}

function expectRefused(result: { code: number | null; output: string }): void {
  expect(result.code, result.output).toBe(78);
  expect(result.output).toContain('nothing was started');
  expect(result.output).not.toMatch(/Server listening|Bursar is running|embedded PostgreSQL/);
  // Nothing was written: no cluster, no generated secret.
  expect(fs.readdirSync(dataDir)).toEqual([]);
}

describe('bad configuration is refused before anything starts (exit 78)', { timeout: 60_000 }, () => {
  it('all: an unknown BURSAR_PAYOUT_PROVIDER exits at once instead of lingering with no server', async () => {
    const result = await startWith('all', { BURSAR_PAYOUT_PROVIDER: 'swift' });
    expectRefused(result);
    expect(result.output).toMatch(
      /BURSAR_PAYOUT_PROVIDER: "swift" is not one of the accepted values \(accepted: iso20022, sandbox or nacha\)/,
    );
  });

  it('all: every problem is reported at once, each with the variable, the problem and the accepted forms', async () => {
    const result = await startWith('all', {
      SANDBOX_PORT: '70000',
      LOG_LEVEL: 'loud',
      BURSAR_PAYOUT_PAIN_VERSION: 'pain.002',
      BURSAR_RECON_DAILY_CRON: 'every day',
      BURSAR_RISK_MAX_CHECKOUT: 'USD:1.234',
      BURSAR_PAYOUT_DEBTOR_IBAN: 'XX12',
      SANDBOX_FAULTS: '{not json',
    });
    expectRefused(result);
    expect(result.output).toContain('the configuration has 7 problems');
    expect(result.output).toMatch(
      /SANDBOX_PORT: "70000" is above 65535 \(accepted: a port number, 0–65535\)/,
    );
    expect(result.output).toMatch(
      /LOG_LEVEL: "loud" .*accepted: fatal, error, warn, info, debug, trace, silent/,
    );
    expect(result.output).toMatch(
      /BURSAR_PAYOUT_PAIN_VERSION: "pain.002" .*pain.001.001.09 or pain.001.001.03/,
    );
    expect(result.output).toMatch(
      /BURSAR_RECON_DAILY_CRON: "every day" has 2 fields, not 5 .*five-field cron/,
    );
    expect(result.output).toMatch(/BURSAR_RISK_MAX_CHECKOUT: .*at most 2 decimals.*CURRENCY:AMOUNT/);
    expect(result.output).toMatch(/BURSAR_PAYOUT_DEBTOR_IBAN: "XX12" is not valid: not an IBAN/);
    expect(result.output).toMatch(/SANDBOX_FAULTS: .* is not JSON \(accepted: a JSON object/);
  });

  it('all: the API and the sandbox on one port is refused', async () => {
    const result = await startWith('all', { PORT: '18080', SANDBOX_PORT: '18080' });
    expectRefused(result);
    expect(result.output).toMatch(/SANDBOX_PORT: "18080" is the API's PORT too/);
  });

  it('api: a secret’s value is never shown, only that it is wrong and what is accepted', async () => {
    const secret = 'pk_live_do_not_print_this_0123456789';
    const result = await startWith('api', {
      STRIPE_SECRET_KEY: secret,
      BURSAR_API_KEY: 'short',
      DATABASE_URL: 'mysql://root:hunter2hunter2@db/x',
      STRIPE_TIMEOUT_MS: 'soon',
    });
    expectRefused(result);
    expect(result.output).not.toContain(secret);
    expect(result.output).not.toContain('hunter2');
    expect(result.output).not.toMatch(/"short"/);
    expect(result.output).toMatch(
      /STRIPE_SECRET_KEY: the value \(hidden\) is not a Stripe secret key \(accepted: a Stripe secret key/,
    );
    expect(result.output).toMatch(/BURSAR_API_KEY: the value \(hidden\) .*at least 16 characters/);
    expect(result.output).toMatch(/DATABASE_URL: the value \(hidden\) is not a postgres:\/\/ URL/);
    expect(result.output).toMatch(/STRIPE_TIMEOUT_MS: "soon" is not a whole number/);
  });

  it('api: a port that is not a number, and a webhook URL that is not http', async () => {
    const result = await startWith('api', { PORT: 'eighty', BURSAR_WEBHOOK_URL: 'ftp://example.com/hook' });
    expectRefused(result);
    expect(result.output).toMatch(
      /PORT: "eighty" is not a whole number \(accepted: a port number, 0–65535\)/,
    );
    expect(result.output).toMatch(/BURSAR_WEBHOOK_URL: "ftp:\/\/example.com\/hook" is not an http\(s\) URL/);
  });

  it('worker: the settings of the workers, the payout schedule and reconciliation', async () => {
    const result = await startWith('worker', {
      BURSAR_PAYINS_WORKER_CONCURRENCY: '0',
      BURSAR_PAYOUT_RUN_CRON: '0 6 * *',
      BURSAR_RECON_DAILY: 'yes',
      BURSAR_RECON_SETTLEMENT_WINDOW_HOURS: '-1',
      BURSAR_SHUTDOWN_GRACE_MS: '10s',
    });
    expectRefused(result);
    expect(result.output).toMatch(
      /BURSAR_PAYINS_WORKER_CONCURRENCY: "0" is below 1 \(accepted: a whole number, 1–100\)/,
    );
    expect(result.output).toMatch(/BURSAR_PAYOUT_RUN_CRON: "0 6 \* \*" has 4 fields, not 5/);
    expect(result.output).toMatch(/BURSAR_RECON_DAILY: "yes" .*accepted: true or false/);
    expect(result.output).toMatch(/BURSAR_RECON_SETTLEMENT_WINDOW_HOURS: "-1" is not a whole number/);
    expect(result.output).toMatch(
      /BURSAR_SHUTDOWN_GRACE_MS: "10s" is not a whole number \(accepted: milliseconds/,
    );
  });

  it('sandbox: its own settings, and only the settings it reads', async () => {
    const result = await startWith('sandbox', {
      SANDBOX_SECRET_KEY: 'sk_live_not_for_the_sandbox',
      SANDBOX_SEED: 'random',
      SANDBOX_AUTOMATIC_PAYOUTS: 'maybe',
      // Not read by a sandbox process: not its problem.
      BURSAR_PAYOUT_PROVIDER: 'swift',
    });
    expectRefused(result);
    expect(result.output).toContain('the configuration has 3 problems');
    expect(result.output).not.toContain('sk_live_not_for_the_sandbox');
    expect(result.output).toMatch(/SANDBOX_SECRET_KEY: the value \(hidden\) does not start with sk_test_/);
    expect(result.output).toMatch(/SANDBOX_SEED: "random" is not a whole number/);
    expect(result.output).toMatch(/SANDBOX_AUTOMATIC_PAYOUTS: "maybe" .*accepted: true or false/);
  });

  it('other commands check the database settings the same way', async () => {
    const result = await runBursar(['ledger', 'verify'], {
      BURSAR_DATA_DIR: dataDir,
      BURSAR_PG_OS_USER: 'no such user!',
    });
    expect(result.code, result.output).toBe(78);
    expect(result.output).toMatch(/BURSAR_PG_OS_USER: "no such user!" is not an account name/);
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });
});
