import { readFile } from 'node:fs/promises';
import type { Config } from '../config.ts';
import { composeModules, createContext } from '../compose.ts';
import type { Database } from '../db/database.ts';
import { isAppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { applyAchReturnFile } from '../reconciliation/index.ts';
import { UsageError } from './args.ts';

/**
 * `bursar payouts settle-ach <file>`: ACH returns and notifications of change (docs/payouts.md "NACHA ACH").
 * Every line is processed; a line that settles nothing is printed and filed as an `ach_return_unmatched`
 * exception for investigation. Exit 1 when the file is refused or any line was unmatched.
 */
export async function settleAchCommand(
  rest: string[],
  db: Database,
  config: Config,
  log: Logger,
  out: (line: string) => void,
): Promise<number> {
  const path = rest[0];
  if (path === undefined || rest.length > 1) throw new UsageError('settle-ach takes one ACH return/NOC file');
  const rt = composeModules(createContext(config, db.pool, log)).reconciliation.runtime;
  try {
    const { runId, outcome, filed } = await applyAchReturnFile(rt, await readFile(path, 'latin1'), path);
    out(
      `entries: ${outcome.entries}, returned: ${outcome.returned}, corrections: ${outcome.corrections}, ` +
        `unchanged: ${outcome.unchanged}, unmatched: ${outcome.unmatched.length}`,
    );
    for (const item of outcome.unmatched) out(`unmatched line ${item.line}: ${item.reason}`);
    if (outcome.corrections > 0) {
      out('corrections wait for an operator: GET /v1/sellers/{seller}/bank_corrections?status=open');
    }
    out(`run ${runId}: ${filed} exception(s) filed for investigation`);
    return outcome.unmatched.length > 0 ? 1 : 0;
  } catch (error) {
    if (isAppError(error) && error.code === 'payout_ach_file_malformed') {
      out(`refused (${error.code}): ${error.message}`);
      out('nothing of the file was applied');
      return 1;
    }
    throw error;
  }
}
