import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AppError, isAppError } from '../errors.ts';
import { fileInput, type FileInput } from './input.ts';
import type { ReconRuntime } from './runtime.ts';
import { achFileSeen, applyAchReturnFile, isAchFile } from './ach-returns.ts';
import { applyStatusReport, isStatusReportFile } from './status-reports.ts';
import { importBankStatement, importPspReport, reportDayInterval, runReconciliation } from './service.ts';

/**
 * The daily run: fetch yesterday's PSP settlement report, read new bank statements from the configured directory,
 * apply them with any import a crashed run left staged, then check Bursar against itself. A file imported before
 * (same fingerprint) is skipped, so running the day twice applies nothing twice; a malformed bank file is logged
 * and skipped whole, the others still run.
 */
export async function fetchAndReconcile(
  rt: ReconRuntime,
  interval: { start: Date; end: Date },
  trigger: string,
  internal: boolean,
): Promise<Record<string, unknown>> {
  if (rt.fetchReport === undefined) {
    throw new AppError('reconciliation_source_unavailable', 'no PSP report fetcher is configured', {
      retryAfterSeconds: 60,
    });
  }
  let input: FileInput & { cleanup?: () => Promise<void> };
  try {
    input = await rt.fetchReport(interval);
  } catch (error) {
    if (isAppError(error)) throw error;
    throw new AppError(
      'reconciliation_source_unavailable',
      `the PSP report could not be fetched: ${(error as Error).message}`,
      {
        retryAfterSeconds: 60,
        cause: error,
      },
    );
  }
  try {
    await importPspReport(rt, input, {
      origin: 'psp_fetch',
      intervalStart: interval.start,
      intervalEnd: interval.end,
    });
  } catch (error) {
    if (!(isAppError(error) && error.code === 'reconciliation_file_duplicate')) throw error;
    rt.log.info({ interval }, 'the PSP report of this interval was imported before');
  } finally {
    await input.cleanup?.();
  }
  return await runStaged(rt, trigger, internal, interval);
}

/** Applies a pain.002 status report of the bank directory (read once: the payouts module skips one seen before). */
async function statusReportOf(rt: ReconRuntime, file: string, name: string): Promise<boolean> {
  if (rt.fix.payouts.applyStatusReport === undefined || !(await isStatusReportFile(file))) return false;
  try {
    await applyStatusReport(rt, await fs.readFile(file, 'utf8'), name);
  } catch (error) {
    if (!isAppError(error) || error.code !== 'payout_status_report_malformed') throw error;
    rt.log.error({ file: name, err: error.message }, 'status report refused; nothing of it was applied');
  }
  return true;
}

/**
 * Applies an ACH return/NOC file of the bank directory not read before (by SHA-256); its unmatched lines are filed
 * as `ach_return_unmatched`. A malformed one is logged and skipped whole.
 */
async function achReturnsOf(rt: ReconRuntime, file: string, name: string): Promise<void> {
  if (rt.fix.payouts.applyAchReturns === undefined) return;
  const text = await fs.readFile(file, 'latin1');
  if (await achFileSeen(rt, createHash('sha256').update(text).digest('hex'))) return;
  try {
    await applyAchReturnFile(rt, text, name);
  } catch (error) {
    if (!isAppError(error) || error.code !== 'payout_ach_file_malformed') throw error;
    rt.log.error({ file: name, err: error.message }, 'ACH return file refused; nothing of it was applied');
  }
}

/**
 * Imports the camt files of `directory` not imported before (by fingerprint), and applies its pain.002 payment
 * status reports and its ACH return/NOC files (any other name whose first record is a NACHA file header), each
 * read once (docs/payouts.md).
 */
export async function importBankDirectory(rt: ReconRuntime, directory: string): Promise<number> {
  const all = (await fs.readdir(directory)).filter((name) => !name.startsWith('.')).sort();
  for (const name of all.filter((n) => !/\.xml$/i.test(n))) {
    const file = path.join(directory, name);
    if ((await fs.stat(file)).isFile() && (await isAchFile(file))) await achReturnsOf(rt, file, name);
  }
  const names = all.filter((name) => /\.xml$/i.test(name));
  let imported = 0;
  for (const name of names) {
    if (await statusReportOf(rt, path.join(directory, name), name)) continue;
    try {
      await importBankStatement(rt, fileInput(path.join(directory, name)), { origin: 'file' });
      imported += 1;
    } catch (error) {
      if (isAppError(error) && error.code === 'reconciliation_file_duplicate') continue;
      if (isAppError(error) && error.code === 'reconciliation_file_malformed') {
        rt.log.error({ file: name, err: error.message }, 'bank statement refused; nothing of it was applied');
        continue;
      }
      throw error;
    }
  }
  return imported;
}

/** Runs reconciliation over every staged import (this run's and any a crashed run left behind). */
export async function runStaged(
  rt: ReconRuntime,
  trigger: string,
  internal: boolean,
  interval?: { start: Date; end: Date },
): Promise<Record<string, unknown>> {
  const staged = await rt.pool.query<{ id: string }>(
    `SELECT id FROM recon.imports WHERE status = 'staged' ORDER BY created_at`,
  );
  return await runReconciliation(rt, {
    kind: 'daily',
    trigger,
    importIds: staged.rows.map((row) => row.id),
    internal,
    ...(interval === undefined ? {} : { interval }),
  });
}

/**
 * The daily run of `day`, the report's own day (YYYY-MM-DD, UTC): the PSP activity from that midnight to the next
 * (or to now while the day lasts), with the bank directory's new files. The scheduler runs yesterday's.
 */
export async function dailyRun(
  rt: ReconRuntime,
  day: string,
  trigger = `schedule:${day}`,
): Promise<Record<string, unknown>> {
  const interval = reportDayInterval(day, rt.clock.now());
  if (rt.config.bankDirectory !== undefined) await importBankDirectory(rt, rt.config.bankDirectory);
  if (rt.fetchReport === undefined) return await runStaged(rt, trigger, true, interval);
  return await fetchAndReconcile(rt, interval, trigger, true);
}
