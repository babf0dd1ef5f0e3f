import type { FastifyInstance } from 'fastify';
import { createKey } from '../../src/apikeys/service.ts';
import type { Scope } from '../../src/apikeys/scopes.ts';
import { SCOPES } from '../../src/apikeys/scopes.ts';
import type { Clock } from '../../src/clock.ts';
import { systemClock } from '../../src/clock.ts';
import {
  composeModules,
  createContext,
  routeModules,
  type ComposeOverrides,
  type Modules,
} from '../../src/compose.ts';
import { loadConfig } from '../../src/config.ts';
import type { AppContext } from '../../src/context.ts';
import { buildApp, type RouteModule } from '../../src/http/app.ts';
import { createLogger } from '../../src/log.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';

export interface TestApp {
  app: FastifyInstance;
  ctx: AppContext;
  /** The modules the app serves, built by the composition root with the test's overrides. */
  modules: Modules;
  db: TestDatabase;
  /** A key with every scope. */
  key: string;
  keyWith(scopes: Scope[]): Promise<string>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  clock?: Clock;
  poolSize?: number;
  /** The route modules to serve, chosen from the composed modules; every module's routes by default. */
  routes?: (modules: Modules) => RouteModule[];
  /** What the composition root builds differently for the test (a PSP, a risk port, short delays). */
  overrides?: ComposeOverrides;
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
  const modules = composeModules(ctx, options.overrides ?? {});
  const app = await buildApp(ctx, (options.routes ?? routeModules)(modules));
  await app.ready();
  const all = await createKey(db.pool, 'test', [...SCOPES]);
  return {
    app,
    ctx,
    modules,
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
