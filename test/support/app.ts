import type { FastifyInstance } from 'fastify';
import { createKey } from '../../src/apikeys/service.ts';
import type { Scope } from '../../src/apikeys/scopes.ts';
import { SCOPES } from '../../src/apikeys/scopes.ts';
import type { Clock } from '../../src/clock.ts';
import { systemClock } from '../../src/clock.ts';
import { createContext, routeModules } from '../../src/compose.ts';
import { loadConfig } from '../../src/config.ts';
import type { AppContext } from '../../src/context.ts';
import { buildApp, type RouteModule } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';

export interface TestApp {
  app: FastifyInstance;
  ctx: AppContext;
  db: TestDatabase;
  /** A key with every scope. */
  key: string;
  keyWith(scopes: Scope[]): Promise<string>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  clock?: Clock;
  poolSize?: number;
  /** The route modules to serve; every module of the composition root by default. */
  modules?: RouteModule[];
  /** Runs on the new context before routes are registered (to configure a module's ports for the test). */
  beforeRoutes?: (ctx: AppContext) => void;
}

/** The real HTTP app on its own fresh database, for `inject()` tests. */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const db = await createTestDatabase(options.poolSize === undefined ? {} : { poolSize: options.poolSize });
  const config = { ...loadConfig({}), databaseUrl: db.url };
  const ctx = createContext(
    config,
    db.pool,
    createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    options.clock ?? systemClock,
  );
  options.beforeRoutes?.(ctx);
  const app = await buildApp(ctx, options.modules ?? routeModules);
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

export function bearer(key: string): { authorization: string } {
  return { authorization: `Bearer ${key}` };
}
