import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { signPayload } from '../../src/webhooks/signature.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

const apps: TestApp[] = [];
afterAll(async () => {
  for (const app of apps) await app.close();
});

function forgedEvent(secret: string): { body: string; signature: string } {
  const body = JSON.stringify({
    id: 'evt_forged',
    type: 'payout.paid',
    data: { external_id: 'po_forged', transfer_id: 'tr_forged' },
  });
  return { body, signature: signPayload(body, secret, Math.floor(Date.now() / 1000)) };
}

describe('the sandbox payout provider’s webhook route', () => {
  it('does not exist with the default provider (iso20022): 404, and absent from /openapi.json', async () => {
    const t = await createTestApp();
    apps.push(t);
    const { body, signature } = forgedEvent(`whsec_${randomBytes(16).toString('hex')}`);
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/webhooks/payouts/sandbox',
      headers: { 'content-type': 'application/json', 'sandbox-signature': signature },
      payload: body,
    });
    expect(response.statusCode).toBe(404);
    const spec = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<string, unknown>;
    }>();
    expect(Object.keys(spec.paths)).not.toContain('/v1/webhooks/payouts/sandbox');
  });

  it('exists while the sandbox is the provider, and refuses an event signed with any other secret', async () => {
    const secret = `whsec_${randomBytes(16).toString('hex')}`;
    const t = await createTestApp({
      overrides: { payouts: { provider: 'sandbox', sandboxWebhookSecret: secret } },
    });
    apps.push(t);
    const { body, signature } = forgedEvent(`whsec_${randomBytes(16).toString('hex')}`);
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/webhooks/payouts/sandbox',
      headers: { 'content-type': 'application/json', 'sandbox-signature': signature },
      payload: body,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: { code: 'webhook_signature_invalid' } });
    const spec = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<string, unknown>;
    }>();
    expect(Object.keys(spec.paths)).toContain('/v1/webhooks/payouts/sandbox');
  });
});
