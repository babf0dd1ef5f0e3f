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
        // The store and HTTP files, on the one embedded PostgreSQL of the global setup. They share their worker's
        // loaded modules too: a fresh worker per file imported the source tree again for every file, some 40% of
        // their time. Each makes what it uses in its hooks (its own database and app) and closes it in
        // afterAll; none mocks a module, and the one environment variable some set (BURSAR_WEBHOOK_ENDPOINTS_KEY)
        // is set only when unset.
        test: {
          ...shared,
          name: 'integration',
          include: ['test/{store,http}/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          isolate: false,
        },
      },
      {
        // The end-to-end files, a fresh worker each: they run processes, browsers and in-process stacks for
        // minutes, and a file that fails mid-way (a timeout) must not leave its processes and loops running
        // beside the next file. Same PostgreSQL (the global setup is shared, test/support/global-setup.ts).
        test: {
          ...shared,
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
