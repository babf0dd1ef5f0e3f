import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './test/support/sequencer.ts';

/** What both projects share. */
const shared = {
  pool: 'forks',
  testTimeout: 60_000,
  hookTimeout: 120_000,
  env: { NODE_ENV: 'test' },
} as const;

export default defineConfig({
  test: {
    // Two cores: two workers keep the embedded PostgreSQL and the tests from starving each other.
    maxWorkers: 2,
    // Long-running files first, so the run does not end on one worker (test/support/sequencer.ts).
    sequence: { sequencer: LongestFirstSequencer },
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        // Pure tests (no database, no server, no globals changed) share their worker's loaded modules instead of
        // importing the source tree again for every file, which was half of their time.
        test: { ...shared, name: 'unit', include: ['test/unit/**/*.test.ts'], isolate: false },
      },
      {
        // Everything on PostgreSQL, HTTP and processes, on the one embedded PostgreSQL of the global setup. The
        // files share their worker's loaded modules too: a fresh worker per file imported the source tree again
        // for every file, a quarter of the run's time. Every file makes what it uses in its hooks (its own
        // database, app, servers and processes) and stops it in afterAll; none mocks a module, fake timers are
        // put back in the test that takes them, and the one environment variable some files set
        // (BURSAR_WEBHOOK_ENDPOINTS_KEY) is set only when unset.
        test: {
          ...shared,
          name: 'integration',
          include: ['test/{store,http,e2e}/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          isolate: false,
        },
      },
    ],
  },
});
