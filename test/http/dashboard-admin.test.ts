import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperator, listAudit } from '../../src/operators/index.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

/** The admins' routes of the dashboard: operators, API keys, and a seller's bank-detail history. */

let t: TestApp;
const PASSWORD = 'correct horse battery staple';

beforeAll(async () => {
  t = await createTestApp();
  for (const role of ['viewer', 'operator', 'admin'] as const) {
    await createOperator(t.ctx.pool, {
      email: `${role}@example.com`,
      role,
      password: PASSWORD,
      actor: 'test',
    });
  }
});
afterAll(async () => {
  await t.close();
});

interface Session {
  cookie: string;
  csrf: string;
  id: string;
}

async function session(email: string, password = PASSWORD): Promise<Session> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/dashboard/api/session',
    payload: { email, password },
  });
  expect(res.statusCode).toBe(200);
  const cookies = [res.headers['set-cookie']].flat().filter((c): c is string => typeof c === 'string');
  return {
    cookie: cookies.map((c) => c.split(';')[0]).join('; '),
    csrf: res.json().csrf_token as string,
    id: res.json().operator.id as string,
  };
}

function as(s: Session, method: 'GET' | 'POST', url: string, payload?: unknown, csrf = true) {
  return t.app.inject({
    method,
    url,
    headers: { cookie: s.cookie, ...(csrf ? { 'x-csrf-token': s.csrf } : {}) },
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });
}

describe('dashboard administration routes', () => {
  it('lets an admin create an operator (password shown once, audited) who can then sign in', async () => {
    const admin = await session('admin@example.com');
    const res = await as(admin, 'POST', '/dashboard/api/operators', {
      email: 'New@Example.com',
      role: 'operator',
    });
    expect(res.statusCode).toBe(201);
    const created = res.json();
    expect(created).toMatchObject({ email: 'new@example.com', role: 'operator', disabled: false });
    await session('new@example.com', created.password as string);
    const audit = await listAudit(t.ctx.pool, { targetId: created.id as string, limit: 10 });
    expect(audit.map((r) => [r.actor, r.action])).toEqual([[admin.id, 'operator.created']]);
    expect(JSON.stringify(audit)).not.toContain(created.password as string);
    const again = await as(admin, 'POST', '/dashboard/api/operators', {
      email: 'new@example.com',
      role: 'viewer',
    });
    expect(again.statusCode).toBe(409);
  });

  it('disables an operator (ending their sessions) and enables them, each audited with before and after', async () => {
    const admin = await session('admin@example.com');
    const viewer = await session('viewer@example.com');
    const disabled = await as(admin, 'POST', `/dashboard/api/operators/${viewer.id}/disable`);
    expect(disabled.statusCode).toBe(200);
    expect(disabled.json().disabled).toBe(true);
    expect((await as(viewer, 'GET', '/dashboard/api/session')).statusCode).toBe(401);
    const enabled = await as(admin, 'POST', `/dashboard/api/operators/${viewer.id}/enable`);
    expect(enabled.json().disabled).toBe(false);
    const audit = await listAudit(t.ctx.pool, { targetId: viewer.id, limit: 10 });
    expect(audit.map((r) => r.action).slice(0, 2)).toEqual(['operator.enabled', 'operator.disabled']);
    expect(audit[1]?.before).toMatchObject({ disabled: false });
    expect(audit[1]?.after).toMatchObject({ disabled: true });
    const self = await as(admin, 'POST', `/dashboard/api/operators/${admin.id}/disable`);
    expect(self.statusCode).toBe(400);
    const unknown = await as(admin, 'POST', '/dashboard/api/operators/op_abcdef/disable');
    expect(unknown.statusCode).toBe(404);
  });

  it('creates an API key whose secret works once shown, lists it without the secret, and revokes it', async () => {
    const admin = await session('admin@example.com');
    const res = await as(admin, 'POST', '/dashboard/api/api_keys', {
      name: 'reporting',
      scopes: ['payments:read'],
    });
    expect(res.statusCode).toBe(201);
    const { id, secret } = res.json() as { id: string; secret: string };
    const auth = { authorization: `Bearer ${secret}` };
    expect((await t.app.inject({ method: 'GET', url: '/v1/payments', headers: auth })).statusCode).toBe(200);
    const list = await as(admin, 'GET', '/dashboard/api/api_keys');
    expect(list.body).not.toContain(secret);
    expect(list.json().data.map((k: { id: string }) => k.id)).toContain(id);
    const revoked = await as(admin, 'POST', `/dashboard/api/api_keys/${id}/revoke`);
    expect(revoked.json().revoked_at).not.toBeNull();
    expect((await t.app.inject({ method: 'GET', url: '/v1/payments', headers: auth })).statusCode).toBe(401);
    const audit = await listAudit(t.ctx.pool, { targetId: id, limit: 10 });
    expect(audit.map((r) => r.action)).toEqual(['api_key.revoked', 'api_key.created']);
    expect(JSON.stringify(audit)).not.toContain(secret);
  });

  it('refuses the admin routes to an operator and a viewer (403), and a write without the CSRF token', async () => {
    const admin = await session('admin@example.com');
    for (const email of ['operator@example.com', 'viewer@example.com']) {
      const s = await session(email);
      expect((await as(s, 'GET', '/dashboard/api/api_keys')).statusCode).toBe(403);
      const write = await as(s, 'POST', '/dashboard/api/api_keys', { name: 'x', scopes: ['ops'] });
      expect(write.statusCode).toBe(403);
      const op = await as(s, 'POST', '/dashboard/api/operators', { email: 'x@example.com', role: 'admin' });
      expect(op.statusCode).toBe(403);
    }
    const noCsrf = await as(admin, 'POST', '/dashboard/api/api_keys', { name: 'x', scopes: ['ops'] }, false);
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json().error.code).toBe('csrf_token_invalid');
    expect((await t.app.inject({ method: 'GET', url: '/dashboard/api/api_keys' })).statusCode).toBe(401);
  });

  it("shows a viewer a seller's bank-detail changes, masked, oldest first", async () => {
    const headers = { authorization: `Bearer ${t.key}` };
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/sellers',
      headers,
      payload: {
        seller_account: 'bank_hist',
        name: 'Bank',
        currency: 'EUR',
        payout: { iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' },
      },
    });
    expect(created.statusCode).toBe(201);
    const patched = await t.app.inject({
      method: 'PATCH',
      url: '/v1/sellers/bank_hist',
      headers,
      payload: { payout: { iban: 'GB82WEST12345698765432', bic: 'NWBKGB2LXXX' } },
    });
    expect(patched.statusCode).toBe(200);
    const viewer = await session('viewer@example.com');
    const res = await as(viewer, 'GET', '/dashboard/api/sellers/bank_hist/bank_details_history');
    expect(res.statusCode).toBe(200);
    const changes = res.json().data as Array<{ before: unknown; after: unknown }>;
    expect(changes.length).toBeGreaterThanOrEqual(1);
    expect(changes.at(-1)?.after).toMatchObject({ iban_last4: '5432' });
    expect(res.body).not.toContain('12345698765432');
    expect(res.body).not.toContain('0532013000');
    const bad = await as(viewer, 'GET', '/dashboard/api/sellers/bad%20id/bank_details_history');
    expect(bad.statusCode).toBe(400);
    expect(
      (await t.app.inject({ method: 'GET', url: '/dashboard/api/sellers/bank_hist/bank_details_history' }))
        .statusCode,
    ).toBe(401);
  });
});
