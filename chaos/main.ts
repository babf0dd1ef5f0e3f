/**
 * `npm run chaos`: the chaos run (chaos/harness.ts) with its report; exits non-zero on any violation.
 *
 *   npm run chaos                                  # seed 1, 2,000 checkouts, 12 kills, 3 database kills,
 *                                                  # then refunds and disputes over the paid charges, 6 kills
 *   npm run chaos -- --seed 3 --checkouts 300 --kills 2   # 2 kills during checkouts, 2 during refunds/disputes
 *                                                          # (--money-back-kills N to choose)
 *   npm run chaos -- --seed 7 --checkouts 300 --kills 2 --kill-db   # --kill-db: the database dies too (2 kills
 *                                                                    # unless --db-kills N); --no-kill-db: never
 */
import { parseArgs } from 'node:util';
import { DEFAULT_CHAOS_OPTIONS, formatReport, runChaos } from './harness.ts';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      checkouts: { type: 'string' },
      kills: { type: 'string' },
      'money-back-kills': { type: 'string' },
      'kill-db': { type: 'boolean' },
      'no-kill-db': { type: 'boolean' },
      'db-kills': { type: 'string' },
      sellers: { type: 'string' },
      concurrency: { type: 'string' },
      'settle-seconds': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const int = (value: string | undefined, fallback: number, name: string): number => {
    if (value === undefined) return fallback;
    if (!/^\d{1,9}$/.test(value)) throw new Error(`--${name} must be a whole number`);
    return Number.parseInt(value, 10);
  };
  const d = DEFAULT_CHAOS_OPTIONS;
  if (values['kill-db'] === true && values['no-kill-db'] === true)
    throw new Error('--kill-db and --no-kill-db contradict each other');
  // The full run kills the database by default; a run sized by hand does when told to (--kill-db).
  const sized = values.checkouts !== undefined || values.kills !== undefined;
  const defaultDbKills =
    values['no-kill-db'] === true
      ? 0
      : values['kill-db'] === true
        ? sized
          ? 2
          : d.dbKills
        : sized
          ? 0
          : d.dbKills;
  const report = await runChaos({
    ...d,
    seed: int(values.seed, d.seed, 'seed'),
    checkouts: int(values.checkouts, d.checkouts, 'checkouts'),
    kills: int(values.kills, d.kills, 'kills'),
    // Unless told, as many kills while refunds and disputes are driven as while the checkouts are.
    moneyBackKills: int(
      values['money-back-kills'],
      values.kills === undefined ? d.moneyBackKills : int(values.kills, d.kills, 'kills'),
      'money-back-kills',
    ),
    dbKills: values['no-kill-db'] === true ? 0 : int(values['db-kills'], defaultDbKills, 'db-kills'),
    sellers: int(values.sellers, d.sellers, 'sellers'),
    concurrency: int(values.concurrency, d.concurrency, 'concurrency'),
    // How long each settling (after the checkouts, after the refunds and disputes) may take: longer on a loaded machine.
    settleTimeoutMs: int(values['settle-seconds'], d.settleTimeoutMs / 1000, 'settle-seconds') * 1000,
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
