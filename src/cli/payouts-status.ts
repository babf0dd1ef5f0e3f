import { readFile } from 'node:fs/promises';
import type { Config } from '../config.ts';
import { composeModules, createContext } from '../compose.ts';
import type { Database } from '../db/database.ts';
import { isAppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { applyStatusReport } from '../reconciliation/index.ts';
import { UsageError } from './args.ts';

/**
 * `bursar payouts settle-status <pain.002 file>`: applies a bank's payment status report to the payouts of the file
 * it answers (docs/payouts.md) and files what it names that Bursar never sent as exceptions for investigation.
 * Exit 1 when the file is refused or names something unknown.
 */
export async function settleStatusCommand(
  rest: string[],
  db: Database,
  config: Config,
  log: Logger,
  out: (line: string) => void,
): Promise<number> {
  const path = rest[0];
  if (path === undefined || rest.length > 1) throw new UsageError('settle-status takes one pain.002 file');
  const rt = composeModules(createContext(config, db.pool, log)).reconciliation.runtime;
  try {
    const { runId, outcome, filed } = await applyStatusReport(rt, await readFile(path, 'utf8'), path);
    if (outcome.duplicate) {
      out(`status report ${path} was read before; nothing done`);
      return 0;
    }
    out(
      `status report for file ${outcome.originalMessageId} (${outcome.payoutFileId ?? 'not a file of ours'})`,
    );
    out(`group status: ${outcome.groupStatus ?? '-'}`);
    out(
      `accepted: ${outcome.accepted}, returned: ${outcome.returned}, recorded: ${outcome.recorded}, unchanged: ${outcome.unchanged}`,
    );
    for (const item of outcome.unknown) out(`unknown ${item.kind} ${item.reference} (${item.status ?? '-'})`);
    out(`run ${runId}: ${filed} exception(s) filed for investigation`);
    return outcome.unknown.length > 0 ? 1 : 0;
  } catch (error) {
    if (isAppError(error) && error.code === 'payout_status_report_malformed') {
      out(`refused (${error.code}): ${error.message}`);
      out('nothing of the file was applied');
      return 1;
    }
    throw error;
  }
}
