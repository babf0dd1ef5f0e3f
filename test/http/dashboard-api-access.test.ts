import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperator } from '../../src/operators/index.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
const PASSWORD = 'correct horse battery staple';

beforeAll(async () => {
  t = await createTestApp();
  for (const role of ['viewer', 'operator'] as const) {
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

async function session(email: string): Promise<{ cookie: string; csrf: string }> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/dashboard/api/session',
    payload: { email, password: PASSWORD },
  });
  expect(res.statusCode).toBe(200);
  const cookies = [res.headers['set-cookie']].flat().filter((c): c is string => typeof c === 'string');
  return { cookie: cookies.map((c) => c.split(';')[0]).join('; '), csrf: res.json().csrf_token as string };
}

const seller = { seller_account: 'dash_seller', name: 'Dash Seller', currency: 'EUR' };

describe('the API routes with a dashboard session instead of an API key', () => {
  it('lets an operator write with the CSRF token, through the same route and service as an API key', async () => {
    const op = await session('operator@example.com');
    const refused = await t.app.inject({
      method: 'POST',
      url: '/v1/sellers',
      headers: { cookie: op.cookie },
      payload: seller,
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('csrf_token_invalid');
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/sellers',
      headers: { cookie: op.cookie, 'x-csrf-token': op.csrf },
      payload: seller,
    });
    expect(created.statusCode).toBe(201);
    expect(created.json().seller_account).toBe('dash_seller');
  });

  it('lets a viewer read and refuses every write at the route (403 insufficient_scope)', async () => {
    const viewer = await session('viewer@example.com');
    const read = await t.app.inject({
      method: 'GET',
      url: '/v1/sellers/dash_seller',
      headers: { cookie: viewer.cookie },
    });
    expect(read.statusCode).toBe(200);
    const write = await t.app.inject({
      method: 'PATCH',
      url: '/v1/sellers/dash_seller',
      headers: { cookie: viewer.cookie, 'x-csrf-token': viewer.csrf },
      payload: { platform_fee: null },
    });
    expect(write.statusCode).toBe(403);
    expect(write.json().error.code).toBe('insufficient_scope');
  });

  it('records each operator write in the audit log with who, what, before and after', async () => {
    const op = await session('operator@example.com');
    const res = await t.app.inject({
      method: 'PATCH',
      url: '/v1/sellers/dash_seller',
      headers: { cookie: op.cookie, 'x-csrf-token': op.csrf },
      payload: { platform_fee: { basis_points: 250 } },
    });
    expect(res.statusCode).toBe(200);
    const audit = await t.app.inject({
      method: 'GET',
      url: '/dashboard/api/audit?target_type=sellers&target_id=dash_seller',
      headers: { cookie: op.cookie },
    });
    const records = audit.json().data as { actor: string; action: string; before: unknown; after: unknown }[];
    const patch = records.find((r) => r.action === 'PATCH /v1/sellers/:seller_account');
    expect(patch?.actor).toMatch(/^op_/);
    expect(JSON.stringify(patch?.before)).not.toContain('"basis_points":250');
    expect(JSON.stringify(patch?.after)).toContain('"basis_points":250');
    expect(records.some((r) => r.action === 'POST /v1/sellers')).toBe(true);
  });

  it('still takes an API key as before, and an ended session is 401 rather than anonymous', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/v1/sellers/dash_seller',
      headers: { authorization: `Bearer ${t.key}` },
    });
    expect(res.statusCode).toBe(200);
    const ended = await t.app.inject({
      method: 'GET',
      url: '/v1/sellers/dash_seller',
      headers: { cookie: `bursar_session=${'B'.repeat(43)}` },
    });
    expect(ended.statusCode).toBe(401);
  });
});

describe('a viewer at every write route', () => {
  it('is refused every write the API has, before the body is read', async () => {
    const viewer = await session('viewer@example.com');
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, { 'x-bursar-auth'?: { scope?: string } }>>;
    };
    let checked = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const scope = op['x-bursar-auth']?.scope;
        if (method === 'get' || scope === undefined || scope === 'payments:read') continue;
        const res = await t.app.inject({
          method: method.toUpperCase() as 'POST',
          url: path.replace(/\{[^}]+\}/g, 'x1'),
          headers: { cookie: viewer.cookie, 'x-csrf-token': viewer.csrf, 'idempotency-key': `v-${checked}` },
          payload: '{"broken": ',
        });
        expect(res.statusCode, `${method} ${path}`).toBe(403);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(5);
  });
});
