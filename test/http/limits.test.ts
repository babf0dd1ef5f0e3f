import net from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/apikeys/service.ts';
import { SCOPES } from '../../src/apikeys/scopes.ts';
import { createContext, composeModules, routeModules } from '../../src/compose.ts';
import { loadConfig } from '../../src/config.ts';
import { buildApp } from '../../src/http/app.ts';
import { loadHttpLimits } from '../../src/http/limits.ts';
import { createLogger } from '../../src/log.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

/**
 * Issue 11, item 4: a burst is limited (429 `rate_limited` with Retry-After) per API key and per client address,
 * by route class; the client address comes from X-Forwarded-For only through a trusted proxy; a slow client is cut
 * off (408) while others are served; a money-moving POST has its own, smaller body limit. Also the access log
 * (Operability): every request is one line with method, route, status, duration, key id and request id, and a
 * client that aborts is logged at info, not as an error.
 */

let db: TestDatabase;
const apps: FastifyInstance[] = [];
const lines: Array<Record<string, unknown>> = [];

function capture(): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });
}

async function appWith(env: NodeJS.ProcessEnv): Promise<FastifyInstance> {
  const config = { ...loadConfig({}), databaseUrl: db.url, httpLimits: loadHttpLimits(env) };
  const ctx = createContext(config, db.pool, createLogger('info', capture()));
  const app = await buildApp(ctx, routeModules(composeModules(ctx)));
  apps.push(app);
  return app;
}

async function keyOf(name: string): Promise<{ secret: string; id: string }> {
  const key = await createKey(db.pool, name, [...SCOPES]);
  return { secret: key.secret, id: key.id };
}

/** Resolves when `predicate` holds, polling; fails after `timeoutMs`. */
async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await db.drop();
});

describe('rate limits (issue 11, item 4)', () => {
  it('limits a burst per API key and per client address, answering 429 rate_limited with Retry-After', async () => {
    const app = await appWith({ BURSAR_RATE_LIMIT_READS: '5' });
    const a = await keyOf('burst-a');
    const b = await keyOf('burst-b');
    const get = (key: string, remoteAddress: string) =>
      app.inject({
        method: 'GET',
        url: '/v1/sellers/nobody',
        headers: { authorization: `Bearer ${key}` },
        remoteAddress,
      });

    const burst = [];
    for (let i = 0; i < 8; i += 1) burst.push(await get(a.secret, '10.0.0.1'));
    const statuses = burst.map((res) => res.statusCode);
    expect(statuses.slice(0, 5)).toEqual([404, 404, 404, 404, 404]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    const limited = burst[5];
    expect(limited?.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect(Number(limited?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited?.json().error.request_id).toBe(limited?.headers['request-id']);

    // Another key from another address is served; the limited key from a new address is still limited (per key);
    // another key from the limited address is limited too (per address).
    expect((await get(b.secret, '10.0.0.2')).statusCode).toBe(404);
    expect((await get(a.secret, '10.0.0.3')).statusCode).toBe(429);
    expect((await get(b.secret, '10.0.0.1')).statusCode).toBe(429);
  });

  it('sets limits per route class: a read burst leaves money-moving POSTs and webhooks their own budget', async () => {
    const app = await appWith({ BURSAR_RATE_LIMIT_READS: '2', BURSAR_RATE_LIMIT_MONEY: '3' });
    const key = await keyOf('classes');
    const headers = { authorization: `Bearer ${key.secret}` };
    for (let i = 0; i < 3; i += 1) await app.inject({ method: 'GET', url: '/v1/sellers/x', headers });
    expect((await app.inject({ method: 'GET', url: '/v1/sellers/x', headers })).statusCode).toBe(429);
    const post = () =>
      app.inject({
        method: 'POST',
        url: '/v1/sellers',
        headers,
        payload: { seller_account: 'x', name: 'X', currency: 'ZZZ' },
      });
    const posts = [await post(), await post(), await post(), await post()].map((res) => res.statusCode);
    expect(posts.slice(0, 3).every((status) => status !== 429)).toBe(true);
    expect(posts[3]).toBe(429);
    // Probes are public and never limited.
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('takes the client address from X-Forwarded-For only when the peer is a trusted proxy', async () => {
    const app = await appWith({ BURSAR_RATE_LIMIT_READS: '1', BURSAR_TRUSTED_PROXIES: '10.9.9.9' });
    const a = await keyOf('proxy-a');
    const b = await keyOf('proxy-b');
    const c = await keyOf('proxy-c');
    const d = await keyOf('proxy-d');
    const via = (key: string, remoteAddress: string, client: string) =>
      app.inject({
        method: 'GET',
        url: '/v1/sellers/nobody',
        headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': client },
        remoteAddress,
      });
    // Through the trusted proxy, two clients are two addresses.
    expect((await via(a.secret, '10.9.9.9', '203.0.113.1')).statusCode).toBe(404);
    expect((await via(b.secret, '10.9.9.9', '203.0.113.2')).statusCode).toBe(404);
    // From an untrusted peer, X-Forwarded-For is ignored: the peer's own address is limited.
    expect((await via(d.secret, '10.0.0.7', '203.0.113.3')).statusCode).toBe(404);
    expect((await via(c.secret, '10.0.0.7', '203.0.113.4')).statusCode).toBe(429);
  });
});

describe('body limits and timeouts (issue 11, item 4)', () => {
  it('gives money-moving POSTs a smaller body limit than other routes', async () => {
    const app = await appWith({ BURSAR_MONEY_BODY_LIMIT_BYTES: '1024' });
    const key = await keyOf('bodies');
    const big = JSON.stringify({ checkout_id: 'chk_big', note: 'x'.repeat(2000) });
    const money = await app.inject({
      method: 'POST',
      url: '/v1/payments',
      headers: {
        authorization: `Bearer ${key.secret}`,
        'idempotency-key': 'big-1',
        'content-type': 'application/json',
      },
      payload: big,
    });
    expect(money.statusCode).toBe(413);
    expect(money.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    const other = await app.inject({
      method: 'POST',
      url: '/v1/sellers',
      headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ seller_account: 's_big', name: 'x'.repeat(2000), currency: 'EUR' }),
    });
    expect(other.statusCode).toBe(400); // too long a name: validated, not refused for size
  });

  it('cuts a slow client off with 408 while other clients are served', async () => {
    const app = await appWith({ BURSAR_REQUEST_TIMEOUT_MS: '1000', BURSAR_HEADERS_TIMEOUT_MS: '1000' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const key = await keyOf('slow');

    // The slow client: headers promise a body that never finishes arriving.
    const slow = net.connect(address.port, '127.0.0.1');
    let answer = '';
    let closedAtMs = 0;
    slow.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    slow.on('close', () => (closedAtMs = Date.now()));
    slow.on('error', () => undefined);
    const startedMs = Date.now();
    slow.write(
      `POST /v1/sellers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key.secret}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"seller_acc',
    );

    // Meanwhile others are served promptly.
    for (let i = 0; i < 5; i += 1) {
      const served = await fetch(`http://127.0.0.1:${address.port}/healthz`);
      expect(served.status).toBe(200);
    }
    expect(closedAtMs).toBe(0);

    await until(() => closedAtMs > 0, 10_000, 'the slow client to be cut off');
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toContain('"code":"request_timeout"');
    expect(closedAtMs - startedMs).toBeLessThan(5000);
  });
});

describe('access log (issue 11, Operability)', () => {
  it('logs every request once with method, route, status, duration, API key id and request id', async () => {
    const app = await appWith({});
    const key = await keyOf('access');
    lines.length = 0;
    const res = await app.inject({
      method: 'GET',
      url: '/v1/sellers/someone?x=1',
      headers: { authorization: `Bearer ${key.secret}`, 'x-request-id': 'trace-access-1' },
    });
    expect(res.statusCode).toBe(404);
    await until(() => lines.some((line) => line.msg === 'request completed'), 5000, 'the access log line');
    const access = lines.filter((line) => line.msg === 'request completed');
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({
      level: 30,
      request_id: 'trace-access-1',
      method: 'GET',
      route: '/v1/sellers/:seller_account',
      status: 404,
      api_key_id: key.id,
    });
    expect(typeof access[0]?.duration_ms).toBe('number');
    expect(JSON.stringify(lines)).not.toContain(key.secret);
  });

  it('logs a client that aborts its request at info, and nothing at error', async () => {
    const app = await appWith({});
    let arrived = false;
    app.addHook('preParsing', async () => {
      arrived = true;
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const key = await keyOf('abort');
    lines.length = 0;
    const socket = net.connect(address.port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(
      `POST /v1/sellers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key.secret}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{"seller_account":',
    );
    // Once the server is reading the body (the key checked), the client goes away.
    await until(() => arrived, 5000, 'the request to reach the body');
    socket.destroy();
    await until(
      () => lines.some((line) => line.msg === 'request aborted by the client'),
      5000,
      'the abort log',
    );
    const aborted = lines.find((line) => line.msg === 'request aborted by the client');
    expect(aborted).toMatchObject({ level: 30, method: 'POST', route: '/v1/sellers' });
    expect(lines.filter((line) => Number(line.level) >= 50)).toEqual([]);
  });
});
