import { writeFile } from 'node:fs/promises';
import type { Queryable } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import { assertCurrency } from '../money/index.ts';
import { getPayout, listPayouts } from '../payouts/index.ts';
import {
  fxPositionsCsv,
  fxPositionsReport,
  fxPositionsToWire,
  payoutCsv,
  payoutReport,
  payoutReportToWire,
  platformCsv,
  platformReport,
  platformToWire,
  sellerStatement,
  statementCsv,
  statementToWire,
  windowOf,
  type PayoutReport,
} from '../reports/index.ts';
import { findSeller } from '../sellers/index.ts';
import { parse, UsageError } from './args.ts';

export const REPORT_USAGE = `bursar report statement <seller_account> --out <file> [--from <time>] [--to <time>] [--currency <CUR>] [--format csv|json]
bursar report payout (<po_ id> | --run-date <YYYY-MM-DD>) --out <file> [--format csv|json]
bursar report platform --out <file> [--from <time>] [--to <time>] [--currency <CUR>] [--format csv|json]
bursar report fx-positions --out <file> [--from <time>] [--to <time>] [--format csv|json]`;

const OPTIONS = {
  out: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  currency: { type: 'string' },
  format: { type: 'string' },
  'run-date': { type: 'string' },
} as const;

type Values = ReturnType<typeof parse<typeof OPTIONS>>['values'];

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** An input error of the report's (a bad time, an unknown currency) as a usage message. */
async function asUsage<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AppError) throw new UsageError(error.message);
    throw error;
  }
}

async function statementFile(db: Queryable, seller: string | undefined, v: Values, csv: boolean) {
  if (seller === undefined) throw new UsageError(`statement takes a seller account\n${REPORT_USAGE}`);
  const found = await findSeller(db, seller);
  if (!found) throw new UsageError(`no seller ${seller}`);
  const currency = assertCurrency(v.currency ?? found.currency);
  const window = windowOf(v, new Date());
  const statement = await sellerStatement(db, { sellerAccount: seller, currency, ...window });
  return {
    text: csv ? statementCsv(statement) : json(statementToWire(statement)),
    summary: `${statement.movements.length} movement(s)`,
  };
}

async function payoutFile(db: Queryable, id: string | undefined, v: Values, csv: boolean) {
  const runDate = v['run-date'];
  if ((id === undefined) === (runDate === undefined)) {
    throw new UsageError(`payout takes a payout id or --run-date\n${REPORT_USAGE}`);
  }
  const payouts = [];
  if (id !== undefined) {
    const payout = await getPayout(db, id);
    if (!payout) throw new UsageError(`no payout ${id}`);
    payouts.push(payout);
  } else {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(runDate ?? '')) throw new UsageError('--run-date takes YYYY-MM-DD');
    let startingAfter: string | undefined;
    for (;;) {
      const page = await listPayouts(db, { runDate }, { limit: 100, startingAfter });
      payouts.push(...page.rows.slice(0, 100));
      if (page.rows.length <= 100) break;
      startingAfter = page.rows[99]?.id;
    }
  }
  const reports: PayoutReport[] = [];
  for (const payout of payouts) {
    const report = await payoutReport(db, payout);
    if (report) reports.push(report);
  }
  return {
    text: csv ? payoutCsv(reports) : json(reports.map(payoutReportToWire)),
    summary: `${reports.length} payout(s)`,
  };
}

async function platformFile(db: Queryable, v: Values, csv: boolean) {
  const window = windowOf(v, new Date());
  const currency = v.currency === undefined ? undefined : assertCurrency(v.currency);
  const report = await platformReport(db, { ...window, currency });
  return {
    text: csv ? platformCsv(report) : json(platformToWire(report)),
    summary: `${report.days.length} day(s)`,
  };
}

async function fxPositionsFile(db: Queryable, v: Values, csv: boolean) {
  if (v.currency !== undefined) throw new UsageError(`fx-positions takes no --currency\n${REPORT_USAGE}`);
  const report = await fxPositionsReport(db, windowOf(v, new Date()));
  return {
    text: csv ? fxPositionsCsv(report) : json(fxPositionsToWire(report)),
    summary: `${report.pairs.length} currency pair(s)`,
  };
}

/**
 * `bursar report statement|payout|platform|fx-positions`: the reports of the API (docs/reports.md) written to a file, amounts in
 * major units with their currency. CSV unless `--format json`.
 */
export async function reportCommand(
  argv: string[],
  db: { pool: Queryable },
  out: (line: string) => void,
): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parse(rest, OPTIONS);
  if (values.out === undefined) throw new UsageError(`--out <file> is required\n${REPORT_USAGE}`);
  if (values.format !== undefined && values.format !== 'csv' && values.format !== 'json') {
    throw new UsageError('--format takes csv or json');
  }
  const csv = values.format !== 'json';
  if (positionals.length > 1) throw new UsageError(REPORT_USAGE);
  const result = await asUsage(async () => {
    if (sub === 'statement') return statementFile(db.pool, positionals[0], values, csv);
    if (sub === 'payout') return payoutFile(db.pool, positionals[0], values, csv);
    if (sub === 'platform' && positionals.length === 0) return platformFile(db.pool, values, csv);
    if (sub === 'fx-positions' && positionals.length === 0) return fxPositionsFile(db.pool, values, csv);
    throw new UsageError(REPORT_USAGE);
  });
  await writeFile(values.out, result.text, 'utf8');
  out(`wrote ${values.out}: ${result.summary}`);
  return 0;
}
