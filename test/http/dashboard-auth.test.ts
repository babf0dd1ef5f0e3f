import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperator } from '../../src/operators/index.ts';
import { setOperatorDisabled } from '../../src/operators/index.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
const PASSWORD = 'correct horse battery staple';

beforeAll(async () => {
  t = await createTestApp({ overrides: { operators: { maxFailures: 3, windowSeconds: 600 } } });
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
}

async function signIn(email: string, password = PASSWORD, ip = '127.0.0.1') {
  return await t.app.inject({
    method: 'POST',
    url: '/dashboard/api/session',
    payload: { email, password },
    remoteAddress: ip,
  });
}

async function session(email: string): Promise<Session> {
  const res = await signIn(email);
  expect(res.statusCode).toBe(200);
  const cookies = [res.headers['set-cookie']].flat().filter((c): c is string => typeof c === 'string');
  const cookie = cookies.map((c) => c.split(';')[0]).join('; ');
  return { cookie, csrf: res.json().csrf_token as string };
}

describe('dashboard sign-in', () => {
  it('starts a session in an HttpOnly, SameSite=Strict cookie with an expiry, and a CSRF token', async () => {
    const res = await signIn('Viewer@Example.com');
    expect(res.statusCode).toBe(200);
    const cookies = [res.headers['set-cookie']].flat().filter((c): c is string => typeof c === 'string');
    const sessionCookie = cookies.find((c) => c.startsWith('bursar_session='));
    expect(sessionCookie).toMatch(/HttpOnly/);
    expect(sessionCookie).toMatch(/SameSite=Strict/);
    expect(sessionCookie).toMatch(/Max-Age=\d+/);
    // Served over plain HTTP here: Secure would make the browser drop it.
    expect(sessionCookie).not.toMatch(/Secure/);
    const body = res.json();
    expect(body.operator).toMatchObject({ email: 'viewer@example.com', role: 'viewer' });
    expect(body.csrf_token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(JSON.stringify(body)).not.toContain('scrypt');
  });

  it('refuses a wrong password and an unknown email alike, with 401 sign_in_failed', async () => {
    const wrong = await signIn('admin@example.com', 'not the password at all', '10.0.0.1');
    const unknown = await signIn('nobody@example.com', PASSWORD, '10.0.0.1');
    for (const res of [wrong, unknown]) {
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('sign_in_failed');
    }
  });

  it('throttles an email after repeated failures, even with the right password, with 429 and Retry-After', async () => {
    for (let i = 0; i < 3; i++)
      expect((await signIn('operator@example.com', 'wrong password!!', '10.0.0.2')).statusCode).toBe(401);
    const res = await signIn('operator@example.com', PASSWORD, '10.0.0.3');
    expect(res.statusCode).toBe(429);
    expect(res.json().error.code).toBe('sign_in_throttled');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('refuses a malformed body with 400 and an unauthenticated session read with 401', async () => {
    const bad = await t.app.inject({
      method: 'POST',
      url: '/dashboard/api/session',
      payload: { email: 'x' },
    });
    expect(bad.statusCode).toBe(400);
    const anon = await t.app.inject({ method: 'GET', url: '/dashboard/api/session' });
    expect(anon.statusCode).toBe(401);
    const forged = await t.app.inject({
      method: 'GET',
      url: '/dashboard/api/session',
      headers: { cookie: `bursar_session=${'A'.repeat(43)}` },
    });
    expect(forged.statusCode).toBe(401);
  });
});

describe('dashboard roles and CSRF', () => {
  it('lets a viewer read but not reach an admin route (403 insufficient_role)', async () => {
    const viewer = await session('viewer@example.com');
    const me = await t.app.inject({
      method: 'GET',
      url: '/dashboard/api/session',
      headers: { cookie: viewer.cookie },
    });
    expect(me.statusCode).toBe(200);
    expect(me.json().operator.role).toBe('viewer');
    const ops = await t.app.inject({
      method: 'GET',
      url: '/dashboard/api/operators',
      headers: { cookie: viewer.cookie },
    });
    expect(ops.statusCode).toBe(403);
    expect(ops.json().error.code).toBe('insufficient_role');
    const admin = await session('admin@example.com');
    const list = await t.app.inject({
      method: 'GET',
      url: '/dashboard/api/operators',
      headers: { cookie: admin.cookie },
    });
    expect(list.statusCode).toBe(200);
    expect(list.json().data.map((o: { email: string }) => o.email)).toContain('viewer@example.com');
  });

  it('refuses a write without the session’s CSRF token, and accepts it with the token', async () => {
    const admin = await session('admin@example.com');
    const other = await session('admin@example.com');
    for (const headers of [{}, { 'x-csrf-token': other.csrf }, { 'x-csrf-token': 'short' }]) {
      const res = await t.app.inject({
        method: 'DELETE',
        url: '/dashboard/api/session',
        headers: { cookie: admin.cookie, ...headers },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('csrf_token_invalid');
    }
    const ok = await t.app.inject({
      method: 'DELETE',
      url: '/dashboard/api/session',
      headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf },
    });
    expect(ok.statusCode).toBe(204);
    const after = await t.app.inject({
      method: 'GET',
      url: '/dashboard/api/session',
      headers: { cookie: admin.cookie },
    });
    expect(after.statusCode).toBe(401);
  });

  it('ends the sessions of a disabled operator at once', async () => {
    await createOperator(t.ctx.pool, {
      email: 'leaver@example.com',
      role: 'operator',
      password: PASSWORD,
      actor: 'test',
    });
    const leaver = await session('leaver@example.com');
    await setOperatorDisabled(t.ctx.pool, 'leaver@example.com', true);
    const res = await t.app.inject({
      method: 'GET',
      url: '/dashboard/api/session',
      headers: { cookie: leaver.cookie },
    });
    expect(res.statusCode).toBe(401);
    expect((await signIn('leaver@example.com', PASSWORD, '10.0.0.9')).statusCode).toBe(401);
  });
});

describe('audit log', () => {
  it('records who created each operator and can be filtered', async () => {
    const viewer = await session('viewer@example.com');
    const res = await t.app.inject({
      method: 'GET',
      url: '/dashboard/api/audit?action=operator.created&limit=2',
      headers: { cookie: viewer.cookie },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.data).toHaveLength(2);
    expect(body.has_more).toBe(true);
    expect(body.data[0]).toMatchObject({
      actor: 'test',
      action: 'operator.created',
      target_type: 'operator',
    });
    const next = await t.app.inject({
      method: 'GET',
      url: `/dashboard/api/audit?action=operator.created&starting_after=${body.data[1].id}`,
      headers: { cookie: viewer.cookie },
    });
    expect(next.json().data.every((r: { id: string }) => BigInt(r.id) < BigInt(body.data[1].id))).toBe(true);
  });

  it('is append-only in the database', async () => {
    await expect(t.ctx.pool.query("UPDATE operators.audit_log SET actor = 'someone else'")).rejects.toThrow(
      /append-only/,
    );
    await expect(t.ctx.pool.query('DELETE FROM operators.audit_log')).rejects.toThrow(/append-only/);
  });

  it('keeps only a scrypt hash of each password', async () => {
    const rows = await t.ctx.pool.query<{ password_hash: string }>(
      'SELECT password_hash FROM operators.operators',
    );
    for (const row of rows.rows) {
      expect(row.password_hash).toMatch(/^scrypt\$15\$8\$1\$/);
      expect(row.password_hash).not.toContain(PASSWORD);
    }
  });
});
