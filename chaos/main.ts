/**
 * `npm run chaos`: the chaos run (chaos/harness.ts) with its report; exits non-zero on any violation.
 *
 *   npm run chaos                                  # seed 1, 2,000 checkouts, 12 kills
 *   npm run chaos -- --seed 7 --checkouts 300 --kills 2
 */
import { parseArgs } from 'node:util';
import { DEFAULT_CHAOS_OPTIONS, formatReport, runChaos } from './harness.ts';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      checkouts: { type: 'string' },
      kills: { type: 'string' },
      sellers: { type: 'string' },
      concurrency: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const int = (value: string | undefined, fallback: number, name: string): number => {
    if (value === undefined) return fallback;
    if (!/^\d{1,9}$/.test(value)) throw new Error(`--${name} must be a whole number`);
    return Number.parseInt(value, 10);
  };
  const d = DEFAULT_CHAOS_OPTIONS;
  const report = await runChaos({
    ...d,
    seed: int(values.seed, d.seed, 'seed'),
    checkouts: int(values.checkouts, d.checkouts, 'checkouts'),
    kills: int(values.kills, d.kills, 'kills'),
    sellers: int(values.sellers, d.sellers, 'sellers'),
    concurrency: int(values.concurrency, d.concurrency, 'concurrency'),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`\n${formatReport(report)}\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  return report.violations.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(2);
  },
);
