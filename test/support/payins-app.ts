import type { Clock } from '../../src/clock.ts';
import type { ComposeOverrides } from '../../src/compose.ts';
import { createTestApp, type TestApp } from './app.ts';

/**
 * The real HTTP app with the pay-in routes only, on a fresh database, for tests that should not depend on
 * other modules' routes. The overrides (PSP, risk, delays) go to the composition root that builds the modules.
 */
export async function createPayinsTestApp(
  overrides: ComposeOverrides = {},
  options: { clock?: Clock; poolSize?: number } = {},
): Promise<TestApp> {
  return await createTestApp({
    ...options,
    poolSize: options.poolSize ?? 20,
    routes: (modules) => [modules.payins.routes],
    overrides,
  });
}
