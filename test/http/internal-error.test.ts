import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../../src/compose.ts';
import { loadConfig } from '../../src/config.ts';
import { buildApp, type App } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
let app: App;
beforeAll(async () => {
  db = await createTestDatabase();
  const ctx = createContext({ ...loadConfig({}), databaseUrl: db.url }, db.pool, createLogger('silent'));
  app = await buildApp(ctx, [
    (instance) => {
      instance.get('/boom', { config: { auth: 'public' } }, async () => {
        throw new Error('relation "secret_internal_table" does not exist at 10.0.0.7');
      });
    },
  ]);
});
afterAll(async () => {
  await app.close();
  await db.drop();
});

describe('a 500', () => {
  it('never echoes internals, and gives the request id to quote', async () => {
    const res = await app.inject({ method: 'GET', url: '/boom' });
    expect(res.statusCode).toBe(500);
    const body = res.json();
    expect(body.error.code).toBe('internal_error');
    expect(res.body).not.toContain('secret_internal_table');
    expect(res.body).not.toContain('10.0.0.7');
    expect(body.error.message).toContain(body.error.request_id);
  });
});
