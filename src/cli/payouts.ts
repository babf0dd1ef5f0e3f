import { readFile, writeFile } from 'node:fs/promises';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { Logger } from '../log.ts';
import {
  isoDateOf,
  listPayoutFiles,
  loadPayoutsConfig,
  parseIsoDate,
  providerFor,
  readPayoutFile,
  runPayouts,
  settleFromCamt,
} from '../payouts/index.ts';
import { assertCurrency, formatAmount } from '../money/index.ts';
import { parse, UsageError } from './args.ts';
import { settleAchCommand } from './payouts-ach.ts';
import { settleStatusCommand } from './payouts-status.ts';

export const PAYOUTS_USAGE = `bursar payouts run [--date YYYY-MM-DD [--as-of-test-clock]] [--same-day]
bursar payouts files
bursar payouts file <pf_ id> [--out <path>]
bursar payouts settle-camt <camt.053 or camt.054 file>
bursar payouts settle-ach <ACH return/NOC file>
bursar payouts settle-status <pain.002 file>`;

/**
 * "Today" as `--date D` says: D, at the current time of day (UTC). A date after today is refused: the run would
 * release holds early and write files and ledger entries dated in the future. `--as-of-test-clock` allows it, for
 * tests and rehearsals that treat D as today.
 */
export function nowFor(
  date: string | undefined,
  options: { asOfTestClock?: boolean; real?: Date } = {},
): { date: string; now: Date } {
  const real = options.real ?? new Date();
  if (date === undefined) return { date: isoDateOf(real), now: real };
  const day = parseIsoDate(date);
  if (day > isoDateOf(real) && options.asOfTestClock !== true) {
    throw new Error(
      `${day} is in the future (today is ${isoDateOf(real)} UTC); a run is for today or a past date. ` +
        '--as-of-test-clock treats the date as today (tests and rehearsals only)',
    );
  }
  return { date: day, now: new Date(`${day}T${real.toISOString().slice(11)}`) };
}

export async function payoutsCommand(
  argv: string[],
  db: Database,
  config: Config,
  log: Logger,
  out: (line: string) => void,
): Promise<number> {
  const [sub, ...rest] = argv;
  const payoutsConfig = loadPayoutsConfig(process.env, config.sandboxPort, config.port, config.dataDir);
  if (sub === 'run') return await runCommand(rest, db, payoutsConfig, log, out);
  if (sub === 'files') {
    for (const file of await listPayoutFiles(db.pool, { limit: 100 })) {
      out(
        `${file.id} ${file.format} ${file.runDate} ${file.currency} ${file.txCount} tx ${file.sizeBytes} bytes`,
      );
    }
    return 0;
  }
  if (sub === 'file') {
    const { values, positionals } = parse(rest, { out: { type: 'string' } });
    const id = positionals[0];
    if (id === undefined || positionals.length > 1) throw new UsageError(PAYOUTS_USAGE);
    const xml = await readPayoutFile(db.pool, id);
    if (xml.length === 0) {
      process.stderr.write(`bursar: no payout file ${id}\n`);
      return 1;
    }
    if (values.out === undefined) process.stdout.write(xml);
    else await writeFile(values.out, xml);
    return 0;
  }
  if (sub === 'settle-status') return await settleStatusCommand(rest, db, config, log, out);
  if (sub === 'settle-camt') {
    const path = rest[0];
    if (path === undefined || rest.length > 1) throw new UsageError(PAYOUTS_USAGE);
    const result = await settleFromCamt(db.pool, await readFile(path, 'utf8'), path);
    out(
      `entries: ${result.entries}, paid: ${result.paid}, returned: ${result.returned}, unchanged: ${result.unchanged}, unmatched: ${result.unmatched}`,
    );
    return 0;
  }
  if (sub === 'settle-ach') return await settleAchCommand(rest, db, config, log, out);
  throw new UsageError(PAYOUTS_USAGE);
}

/** `bursar payouts run [--date D [--as-of-test-clock]]`: the payout run of one day, with its totals and files. */
async function runCommand(
  rest: string[],
  db: Database,
  payoutsConfig: ReturnType<typeof loadPayoutsConfig>,
  log: Logger,
  out: (line: string) => void,
): Promise<number> {
  const { values, positionals } = parse(rest, {
    date: { type: 'string' },
    'as-of-test-clock': { type: 'boolean' },
    'same-day': { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError(`run takes no arguments\n${PAYOUTS_USAGE}`);
  let when;
  try {
    when = nowFor(values.date, { asOfTestClock: values['as-of-test-clock'] === true });
  } catch (error) {
    throw new UsageError(`--date: ${(error as Error).message}`);
  }
  const report = await runPayouts(
    { pool: db.pool, log, provider: providerFor(payoutsConfig), now: when.now },
    when.date,
    { sameDay: values['same-day'] === true },
  );
  out(`payout run ${report.date}`);
  out(`holds released:  ${report.holdsReleased}`);
  out(`debts recovered: ${report.debtsRecovered}`);
  out(`sellers due:     ${report.sellersDue}`);
  out(`payouts created: ${report.payoutsCreated}`);
  for (const [currency, total] of Object.entries(report.totalsMinor))
    out(`total: ${formatAmount(total, assertCurrency(currency))} ${currency}`);
  for (const [outcome, count] of Object.entries(report.outcomes)) if (count > 0) out(`${outcome}: ${count}`);
  for (const skipped of report.skipped) {
    out(
      `not paid, no ${skipped.currency} bank account: ${skipped.sellerAccount} ${formatAmount(skipped.availableMinor, assertCurrency(skipped.currency))} ${skipped.currency}`,
    );
  }
  out(`submitted to ${payoutsConfig.providers.join(', ')}: ${report.submit.submitted}`);
  for (const file of report.submit.files) {
    out(`file ${file.id} ${file.currency} ${file.txCount} transaction(s) ${file.sizeBytes} bytes`);
  }
  return report.outcomes.failed > 0 || report.submit.failed > 0 ? 1 : 0;
}
