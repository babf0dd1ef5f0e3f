import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSandboxAdminKey, SANDBOX_ADMIN_KEY_FILE } from '../../sandbox/config.ts';
import { startTestSandbox, type TestSandbox } from '../support/sandbox.ts';

/** The sandbox where it runs (issue 11, item 7): its hosted page's headers and its admin endpoints' own key. */

let sandbox: TestSandbox;

beforeAll(async () => {
  sandbox = await startTestSandbox();
});

afterAll(async () => {
  await sandbox?.stop();
});

async function adminCall(key: string, method = 'GET', url = '/v1/sandbox/faults'): Promise<number> {
  const response = await fetch(`${sandbox.url}${url}`, {
    method,
    headers: { authorization: `Bearer ${key}` },
  });
  await response.text();
  return response.status;
}

describe('the sandbox hosted page', () => {
  it('forbids framing, MIME sniffing and referrers: CSP frame-ancestors, nosniff, Referrer-Policy', async () => {
    const session = await sandbox.stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [
        { price_data: { currency: 'usd', unit_amount: 4999, product_data: { name: 'Kettle' } }, quantity: 1 },
      ],
      success_url: 'http://127.0.0.1:9/success',
      cancel_url: 'http://127.0.0.1:9/cancel',
    });
    const page = await fetch(session.url ?? '');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Card number');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).not.toMatch(/script-src/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    // The API's answers carry nosniff too.
    const api = await fetch(`${sandbox.url}/v1/balance`, {
      headers: { authorization: `Bearer ${sandbox.secretKey}` },
    });
    expect(api.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('the sandbox admin endpoints', () => {
  it('refuse any sk_test_ key, the sandbox secret key included, and accept only the admin key', async () => {
    for (const [method, url] of [
      ['GET', '/v1/sandbox/faults'],
      ['PUT', '/v1/sandbox/faults'],
      ['POST', '/v1/sandbox/clock/advance'],
      ['POST', '/v1/sandbox/payouts/run'],
      ['POST', '/v1/sandbox/tick'],
      ['GET', '/v1/sandbox/webhook_deliveries'],
    ] as const) {
      expect(await adminCall(sandbox.secretKey, method, url), `${method} ${url}`).toBe(401);
      expect(await adminCall('sk_test_anything', method, url), `${method} ${url}`).toBe(401);
      expect(await adminCall(`${sandbox.adminKey}x`, method, url), `${method} ${url}`).toBe(401);
    }
    expect(await adminCall(sandbox.adminKey)).toBe(200);
  });

  it('generate the admin key per installation and keep it in the data dir, mode 0600', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-sbx-admin-'));
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-sbx-admin-'));
    try {
      const key = resolveSandboxAdminKey({}, dir);
      expect(key).toMatch(/^sbx_admin_[A-Za-z0-9_-]{32}$/);
      expect(resolveSandboxAdminKey({}, dir)).toBe(key);
      expect(fs.statSync(path.join(dir, SANDBOX_ADMIN_KEY_FILE)).mode & 0o777).toBe(0o600);
      expect(resolveSandboxAdminKey({}, other)).not.toBe(key);
      expect(() => resolveSandboxAdminKey({ SANDBOX_ADMIN_KEY: 'sk_test_abc' }, dir)).toThrow(
        /SANDBOX_ADMIN_KEY/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(other, { recursive: true, force: true });
    }
  });
});
