import { userInfo } from 'node:os';
import type { Pool } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { isAppError } from '../errors.ts';
import { loadDebtWriteOffDays, writeOffDebt, type DebtWriteOff } from '../sellers/index.ts';
import { formatAmount } from '../money/index.ts';
import { parse, UsageError } from './args.ts';

export const SELLERS_USAGE = `bursar sellers write-off <seller_account> --currency <CUR> [--reason <text>]
    [--older-than-days <n>] [--dry-run]`;

/** Who runs the command, for the audit: `cli:<operating-system user>`. */
export function cliActor(): string {
  let name: string;
  try {
    name = userInfo().username;
  } catch {
    name = process.env.USER ?? 'unknown';
  }
  return `cli:${name || 'unknown'}`;
}

function report(writeOff: DebtWriteOff, out: (line: string) => void): void {
  const fmt = (minor: bigint) => `${formatAmount(minor, writeOff.currency)} ${writeOff.currency}`;
  out(`${writeOff.dryRun ? 'would write off' : 'written off'}: ${fmt(writeOff.amountMinor)}`);
  out(`owed before: ${fmt(writeOff.owedBeforeMinor)}`);
  out(`owed after:  ${fmt(writeOff.owedAfterMinor)}`);
  out(`debt since:  ${writeOff.debtSince?.toISOString() ?? '-'}`);
  out(`older than:  ${writeOff.olderThanDays} days`);
  if (writeOff.ledgerEntryId !== null) out(`ledger entry: ${writeOff.ledgerEntryId}`);
  out(`by: ${writeOff.actor}`);
}

function daysOption(raw: string | undefined): number {
  if (raw === undefined) return loadDebtWriteOffDays();
  if (!/^\d{1,5}$/.test(raw) || Number.parseInt(raw, 10) > 36500) {
    throw new UsageError('--older-than-days takes a whole number of days (0–36500)');
  }
  return Number.parseInt(raw, 10);
}

/**
 * `bursar sellers write-off`: writes off what a seller has owed for longer than the age (docs/payouts.md "Seller
 * debt"), audited as `cli:<user>`. Exit 0 when written off (or previewed with --dry-run), and when the seller owes
 * nothing any more (a re-run after a write-off changes nothing); 1 when nothing is old enough or on any refusal.
 */
export async function sellersCommand(
  argv: string[],
  db: { pool: Pool },
  out: (line: string) => void,
  options: { now?: Date; actor?: string } = {},
): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'write-off') throw new UsageError(SELLERS_USAGE);
  const { values, positionals } = parse(rest, {
    currency: { type: 'string' },
    reason: { type: 'string' },
    'older-than-days': { type: 'string' },
    'dry-run': { type: 'boolean' },
  });
  const seller = positionals[0];
  if (seller === undefined || positionals.length > 1 || values.currency === undefined) {
    throw new UsageError(SELLERS_USAGE);
  }
  const input = {
    sellerAccount: seller,
    currency: values.currency,
    reason: values.reason ?? null,
    olderThanDays: daysOption(values['older-than-days']),
    dryRun: values['dry-run'] === true,
    actor: options.actor ?? cliActor(),
    now: options.now ?? new Date(),
  };
  try {
    report(await withTransaction(db.pool, (client) => writeOffDebt(client, input)), out);
    return 0;
  } catch (error) {
    if (isAppError(error) && error.code === 'seller_has_no_debt') {
      out(`nothing to write off: ${error.message}`);
      return 0;
    }
    if (isAppError(error)) {
      process.stderr.write(`bursar: ${error.code}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
