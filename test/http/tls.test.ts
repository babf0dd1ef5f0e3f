import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, composeModules, routeModules } from '../../src/compose.ts';
import { loadConfig } from '../../src/config.ts';
import { buildApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

/**
 * Issue 11, item 8: with BURSAR_TLS_CERT_FILE and BURSAR_TLS_KEY_FILE the API is served over TLS, and HTTPS
 * responses carry Strict-Transport-Security. The certificate is self-signed, made by openssl for this test. Behind
 * a trusted TLS proxy (X-Forwarded-Proto: https) the plain-HTTP app sends HSTS too; a direct plain-HTTP answer
 * does not (HSTS over HTTP is meaningless and ignored by browsers).
 */

let db: TestDatabase;
let dir: string;
const apps: FastifyInstance[] = [];

function get(
  port: string | number,
  ca: Buffer,
): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host: '127.0.0.1', port, path: '/healthz', ca, servername: 'localhost' },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on('error', reject);
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await db.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('TLS (issue 11, item 8)', () => {
  it('serves the API over TLS with HSTS when given a certificate and key', async () => {
    const env = {
      BURSAR_TLS_CERT_FILE: path.join(dir, 'cert.pem'),
      BURSAR_TLS_KEY_FILE: path.join(dir, 'key.pem'),
    };
    const config = { ...loadConfig(env), databaseUrl: db.url };
    const ctx = createContext(config, db.pool, createLogger('silent'));
    const app = await buildApp(ctx, routeModules(composeModules(ctx)));
    apps.push(app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const res = await get(address.port, fs.readFileSync(path.join(dir, 'cert.pem')));
    expect(res.status).toBe(200);
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    // Plain HTTP on the TLS port is not served.
    await expect(fetch(`http://127.0.0.1:${address.port}/healthz`)).rejects.toThrow();
  });

  it('refuses half a TLS configuration', () => {
    expect(() => loadConfig({ BURSAR_TLS_CERT_FILE: path.join(dir, 'cert.pem') })).toThrow(/go together/);
  });

  it('sends HSTS behind a trusted TLS proxy, and not on a direct plain-HTTP answer', async () => {
    const config = { ...loadConfig({ BURSAR_TRUSTED_PROXIES: '10.9.9.9' }), databaseUrl: db.url };
    const ctx = createContext(config, db.pool, createLogger('silent'));
    const app = await buildApp(ctx, routeModules(composeModules(ctx)));
    apps.push(app);
    const proxied = await app.inject({
      method: 'GET',
      url: '/healthz',
      remoteAddress: '10.9.9.9',
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(proxied.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    const spoofed = await app.inject({
      method: 'GET',
      url: '/healthz',
      remoteAddress: '10.0.0.8',
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(spoofed.headers['strict-transport-security']).toBeUndefined();
  });
});
