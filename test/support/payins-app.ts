import type { Clock } from '../../src/clock.ts';
import { registerPayinRoutes } from '../../src/payins/http.ts';
import { configurePayins, type PayinsOverrides } from '../../src/payins/runtime.ts';
import { createTestApp, type TestApp } from './app.ts';

/**
 * The real HTTP app with the pay-in routes only, on a fresh database, for tests that should not depend on
 * other modules' routes. Overrides (PSP, risk, delays) are applied before the routes are registered.
 */
export async function createPayinsTestApp(
  overrides: PayinsOverrides = {},
  options: { clock?: Clock; poolSize?: number } = {},
): Promise<TestApp> {
  return await createTestApp({
    ...options,
    poolSize: options.poolSize ?? 20,
    modules: [registerPayinRoutes],
    beforeRoutes: (ctx) => configurePayins(ctx, overrides),
  });
}
