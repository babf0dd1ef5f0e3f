import { createKey } from '../../src/apikeys/service.ts';
import { SCOPES } from '../../src/apikeys/scopes.ts';
import { systemClock, type Clock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { AppContext } from '../../src/context.ts';
import { buildApp } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';
import { registerPayinRoutes } from '../../src/payins/http.ts';
import { configurePayins, type PayinsOverrides } from '../../src/payins/runtime.ts';
import { Registry } from 'prom-client';
import type { TestApp } from './app.ts';
import { createTestDatabase } from './db.ts';

/**
 * The real HTTP app with the pay-in routes only, on a fresh database, for tests that should not depend on
 * other modules' routes. Overrides (PSP, risk, delays) are applied before the routes are registered.
 */
export async function createPayinsTestApp(
  overrides: PayinsOverrides = {},
  options: { clock?: Clock; poolSize?: number } = {},
): Promise<TestApp> {
  const db = await createTestDatabase({ poolSize: options.poolSize ?? 20 });
  const config = { ...loadConfig({}), databaseUrl: db.url };
  const ctx: AppContext = {
    config,
    pool: db.pool,
    log: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    clock: options.clock ?? systemClock,
    metrics: new Registry(),
  };
  configurePayins(ctx, overrides);
  const app = await buildApp(ctx, [registerPayinRoutes]);
  await app.ready();
  const all = await createKey(db.pool, 'test', [...SCOPES]);
  return {
    app,
    ctx,
    db,
    key: all.secret,
    keyWith: async (scopes) => (await createKey(db.pool, 'test-scoped', scopes)).secret,
    close: async () => {
      await app.close();
      await db.drop();
    },
  };
}
