import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../../src/compose.ts';
import { loadConfig } from '../../src/config.ts';
import { testPort } from '../support/ports.ts';
import { createPool } from '../../src/db/pool.ts';
import { buildApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { createTestDatabase } from '../support/db.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

describe('health', () => {
  it('/healthz answers 200 while the process lives, with no key needed', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz answers 200 when the database answers and migrations are current', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('ready');
  });

  it('/readyz answers 503 with a reason and Retry-After when the database is unreachable', async () => {
    const port = await testPort(); // nothing listens there
    const pool = createPool(`postgres://nobody:x@127.0.0.1:${port}/none`, { max: 1 });
    const ctx = createContext(loadConfig({}), pool, createLogger('silent'));
    const app = await buildApp(ctx, []);
    try {
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('service_unavailable');
      expect(res.json().error.message).toMatch(/database unreachable/);
      expect(res.headers['retry-after']).toBeDefined();
    } finally {
      await app.close();
      await pool.end();
    }
  });

  it('/readyz answers 503 naming the pending migrations on an unmigrated database', async () => {
    const db = await createTestDatabase();
    await db.pool.query(
      'DELETE FROM public.bursar_migrations WHERE version = (SELECT max(version) FROM public.bursar_migrations)',
    );
    const ctx = createContext(loadConfig({}), db.pool, createLogger('silent'));
    const app = await buildApp(ctx, []);
    try {
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.message).toMatch(/migrations pending: \d{4}_/);
    } finally {
      await app.close();
      await db.drop();
    }
  });

  it('/readyz answers 503 naming a degraded service, and 200 again once it recovers', async () => {
    t.app.readiness.report('payins-worker', 'database unreachable; retrying in 4 s');
    try {
      const res = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.message).toBe('degraded: payins-worker: database unreachable; retrying in 4 s');
      expect(res.headers['retry-after']).toBeDefined();
    } finally {
      t.app.readiness.report('payins-worker', undefined);
    }
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });

  it('/readyz answers 503 draining from the moment the process starts draining; /healthz stays 200', async () => {
    const ctx = createContext(loadConfig({}), t.db.pool, createLogger('silent'));
    const app = await buildApp(ctx, []);
    try {
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      app.readiness.drain();
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('service_unavailable');
      expect(res.json().error.message).toMatch(/^draining/);
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
