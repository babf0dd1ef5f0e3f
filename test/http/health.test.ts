import net from 'node:net';
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

  it('a request that arrives on a kept-alive connection while the server closes gets 503 draining in Bursar’s error shape', async () => {
    const port = await testPort(); // nothing listens there: only /healthz is asked
    const pool = createPool(`postgres://nobody:x@127.0.0.1:${port}/none`, { max: 1 });
    const ctx = createContext(loadConfig({}), pool, createLogger('silent'));
    const socket = new net.Socket();
    let received = '';
    let onData: () => void = () => undefined;
    let socketClosed = false;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      onData();
    });
    // A connection the server drops instead of answering ends the wait, and the assertions below say so.
    socket.on('close', () => {
      socketClosed = true;
      onData();
    });
    const answers = () => received.split(/(?=HTTP\/1\.1 )/).filter((answer) => answer.includes('\r\n\r\n{'));
    const answered = (count: number) =>
      new Promise<void>((resolve) => {
        onData = () => {
          if (socketClosed || answers().length >= count) resolve();
        };
        onData();
      });
    const ask = () =>
      socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
    const app = await buildApp(ctx, [
      (routes) => {
        // Runs after the server has begun to close and before it drops its idle connections: the moment a request
        // can still arrive on a kept-alive connection.
        routes.addHook('preClose', async () => {
          ask();
          await answered(2);
        });
      },
    ]);
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      await new Promise<void>((resolve) => socket.connect(address.port, '127.0.0.1', resolve));
      ask();
      await answered(1);
      await app.close();
    } finally {
      socket.destroy();
      await pool.end();
    }
    const [before, during] = answers();
    expect(before).toMatch(/^HTTP\/1\.1 200 /);
    expect(during).toMatch(/^HTTP\/1\.1 503 /);
    expect(during).toMatch(/\r\nconnection: close\r\n/i);
    expect(during).toMatch(/\r\nretry-after: 5\r\n/i);
    const body = JSON.parse(during?.split('\r\n\r\n')[1] ?? '{}');
    expect(body.error.code).toBe('service_unavailable');
    expect(body.error.message).toMatch(/draining/);
  });
});
