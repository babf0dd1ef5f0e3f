import fs from 'node:fs';
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The order test files start in, longest first, so that neither of the two workers is left alone with a long file
 * at the end of the run. Vitest's own order needs timings from an earlier run, which a fresh clone (CI) has not:
 * it then starts the largest files first, and a short file that runs for minutes (the chaos run) started last.
 *
 * Files that run for a long time in real time (processes, browsers, embedded PostgreSQL start-ups, the chaos run)
 * come first, in the order below (longest first, as measured on the whole suite); then the other end-to-end files,
 * the HTTP and store files, and the unit files last, each group by size, largest first. Only the order changes
 * (vitest.config.ts says how workers are shared). A new file that runs for minutes belongs in LONG_FIRST, at the
 * place its duration gives it.
 */
const LONG_FIRST = [
  // The two longest (about 150 s each on an idle machine), one per worker.
  'test/e2e/chaos.test.ts',
  'test/e2e/startup.test.ts',
  // Then by the durations measured on the whole suite, longest first.
  'test/e2e/dashboard-browser.test.ts',
  'test/e2e/lifecycle-signals.test.ts',
  'test/e2e/lifecycle-config.test.ts',
  'test/e2e/hosted-flow-browser.test.ts',
  'test/e2e/lifecycle-drain.test.ts',
  'test/e2e/dashboard-firefox.test.ts',
  'test/e2e/refunds-crash.test.ts',
  'test/e2e/recon-cli.test.ts',
  'test/e2e/payins-recovery.test.ts',
  'test/e2e/lifecycle-doctor.test.ts',
  'test/e2e/payouts-concurrent.test.ts',
  'test/http/fuzz.test.ts',
  'test/e2e/payouts-ach-cli.test.ts',
  'test/e2e/generated-client.test.ts',
  'test/e2e/payins-crash.test.ts',
  'test/e2e/lifecycle-handback.test.ts',
  'test/e2e/startup-sandbox.test.ts',
  'test/store/recon-property.test.ts',
  'test/e2e/disputes.test.ts',
  'test/e2e/sandbox-hosted-page.test.ts',
  'test/http/dashboard-admin.test.ts',
  'test/store/debt-money-property.test.ts',
  'test/e2e/startup-external-db.test.ts',
  'test/http/dashboard-api-access.test.ts',
  'test/http/dashboard-auth.test.ts',
  'test/e2e/sandbox-openapi.test.ts',
  'test/store/ledger-property.test.ts',
  'test/http/openapi.test.ts',
  'test/e2e/hosted-faults.test.ts',
];

const GROUPS = ['test/e2e/', 'test/http/', 'test/store/', 'test/unit/'];

function rank(relative: string): number {
  const listed = LONG_FIRST.indexOf(relative);
  if (listed >= 0) return listed;
  const group = GROUPS.findIndex((prefix) => relative.startsWith(prefix));
  return LONG_FIRST.length + (group < 0 ? GROUPS.length : group);
}

export default class LongestFirstSequencer extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const keyed = files.map((spec) => {
      const relative = path.relative(spec.project.config.root, spec.moduleId).split(path.sep).join('/');
      let size = 0;
      try {
        size = fs.statSync(spec.moduleId).size;
      } catch {
        // A file that cannot be read sorts with size 0; vitest reports its error when it runs it.
      }
      return { spec, rank: rank(relative), size, relative };
    });
    keyed.sort((a, b) => a.rank - b.rank || b.size - a.size || a.relative.localeCompare(b.relative));
    return Promise.resolve(keyed.map(({ spec }) => spec));
  }
}
