import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPayoutsConfig } from '../../src/payouts/config.ts';
import { loadStripeConfig } from '../../src/psp/stripe/config.ts';
import { isKnownDevelopmentSecret, KEPT_SECRET_FILES } from '../../src/webhooks/kept-secret.ts';
import { loadSandboxConfig } from '../../sandbox/index.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
// Spelled in pieces so that this file is not itself a place where the old constant sits whole.
const OLD_DEFAULT = ['whsec', 'sandbox', 'payouts', 'development'].join('_');

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-secret-'));
}

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') || file.endsWith('.mjs'))
    .map((file) => path.join(ROOT, dir, file));
}

describe('the sandbox payout provider’s webhook secret', () => {
  it('is generated per installation and kept in the data dir (0600), the same for Bursar and the sandbox', () => {
    const dir = tempDir();
    const env = { BURSAR_PAYOUT_PROVIDER: 'sandbox' };
    const bursar = loadPayoutsConfig(env, 8081, 8080, dir).sandboxWebhookSecret;
    expect(bursar).toMatch(/^whsec_[A-Za-z0-9_-]{32}$/);
    expect(loadPayoutsConfig(env, 8081, 8080, dir).sandboxWebhookSecret).toBe(bursar);
    expect(loadSandboxConfig({}, dir).payoutWebhookSecret).toBe(bursar);
    const file = path.join(dir, KEPT_SECRET_FILES.payoutSandboxWebhook);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(loadPayoutsConfig(env, 8081, 8080, tempDir()).sandboxWebhookSecret).not.toBe(bursar);
  });

  it('is the operator’s when given', () => {
    const env = {
      BURSAR_PAYOUT_PROVIDER: 'sandbox',
      BURSAR_PAYOUT_SANDBOX_WEBHOOK_SECRET: 'whsec_operator_given',
    };
    expect(loadPayoutsConfig(env, 8081, 8080, tempDir()).sandboxWebhookSecret).toBe('whsec_operator_given');
  });

  it('is not resolved (no route, no file) unless the sandbox is the provider', () => {
    const dir = tempDir();
    expect(loadPayoutsConfig({}, 8081, 8080, dir).sandboxWebhookSecret).toBeUndefined();
    expect(fs.existsSync(path.join(dir, KEPT_SECRET_FILES.payoutSandboxWebhook))).toBe(false);
  });

  it('refuses the published development secret at start-up unless the sandbox is the provider', () => {
    expect(isKnownDevelopmentSecret(OLD_DEFAULT)).toBe(true);
    expect(() =>
      loadPayoutsConfig({ BURSAR_PAYOUT_SANDBOX_WEBHOOK_SECRET: OLD_DEFAULT }, 8081, 8080, tempDir()),
    ).toThrow(/published development secret/);
    expect(
      loadPayoutsConfig(
        { BURSAR_PAYOUT_PROVIDER: 'sandbox', BURSAR_PAYOUT_SANDBOX_WEBHOOK_SECRET: OLD_DEFAULT },
        8081,
        8080,
        tempDir(),
      ).sandboxWebhookSecret,
    ).toBe(OLD_DEFAULT);
  });

  it('refuses the published development secret for real Stripe, accepts it against the sandbox', () => {
    expect(() =>
      loadStripeConfig(
        {
          STRIPE_API_HOST: 'api.stripe.com',
          STRIPE_SECRET_KEY: 'sk_live_x',
          STRIPE_WEBHOOK_SECRET: OLD_DEFAULT,
        },
        tempDir(),
        'http://127.0.0.1:8081',
      ),
    ).toThrow(/published development secret/);
    expect(
      loadStripeConfig({ STRIPE_WEBHOOK_SECRET: OLD_DEFAULT }, tempDir(), 'http://127.0.0.1:8081')
        .webhookSecret,
    ).toBe(OLD_DEFAULT);
  });

  it('is written nowhere in the code (src/, sandbox/, bin/)', () => {
    const offenders = ['src', 'sandbox', 'bin']
      .flatMap(sourceFiles)
      .filter((file) => fs.readFileSync(file, 'utf8').includes(OLD_DEFAULT));
    expect(offenders).toEqual([]);
  });
});
