import type { Database } from '../db/database.ts';
import { getBalances, getEntry, verifyLedger } from '../ledger/index.ts';
import { formatAmount, isCurrencyCode } from '../money/index.ts';
import { parse, UsageError } from './args.ts';

/** An amount as the API writes it: major units of its currency ("12.34" USD), negative with a "-". */
function amountText(minor: bigint, currency: string): string {
  if (!isCurrencyCode(currency)) return `${minor} (minor units)`;
  return minor < 0n ? `-${formatAmount(-minor, currency)}` : formatAmount(minor, currency);
}

export const LEDGER_USAGE = `bursar ledger verify [--max-listed <n>]
bursar ledger balance <account code> [<account code>…]
bursar ledger entry <je_ id>`;

/** `bursar ledger verify`: the ledger's invariants, with the failures found. */
async function verifyCommand(rest: string[], db: Database, out: (line: string) => void): Promise<number> {
  const { values, positionals } = parse(rest, { 'max-listed': { type: 'string' } });
  if (positionals.length > 0) throw new UsageError(`verify takes no arguments\n${LEDGER_USAGE}`);
  const maxListed = values['max-listed'] === undefined ? 50 : Number.parseInt(values['max-listed'], 10);
  if (!Number.isInteger(maxListed) || maxListed < 0)
    throw new UsageError('--max-listed takes a whole number');
  const report = await verifyLedger(db.pool, { maxListed });
  out(`entries:  ${report.entries}`);
  out(`postings: ${report.postings}`);
  out(`accounts: ${report.accounts}`);
  for (const currency of report.currencies) {
    out(
      `${currency.currency}: debits ${currency.debitsMinor}, credits ${currency.creditsMinor} (minor units)`,
    );
  }
  for (const [check, count] of Object.entries(report.failureCounts)) {
    out(`${check.padEnd(15)} ${count === 0 ? 'ok' : `${count} failure(s)`}`);
  }
  for (const failure of report.failures) out(`FAIL ${failure.check} ${failure.subject}: ${failure.detail}`);
  out(
    report.ok
      ? `ledger verified in ${report.durationMs} ms`
      : `ledger verification FAILED (${report.durationMs} ms)`,
  );
  return report.ok ? 0 : 1;
}

export async function ledgerCommand(
  argv: string[],
  db: Database,
  out: (line: string) => void,
): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'verify') return verifyCommand(rest, db, out);
  if (sub === 'balance') {
    if (rest.length === 0) throw new UsageError(`balance takes one or more account codes\n${LEDGER_USAGE}`);
    const balances = await getBalances(db.pool, rest);
    let missing = 0;
    for (const code of rest) {
      const balance = balances.get(code);
      if (balance === undefined) {
        out(`${code}: no such account`);
        missing += 1;
        continue;
      }
      const major = (minor: bigint) => amountText(minor, balance.currency);
      out(
        `${code}: ${major(balance.balanceMinor)} ${balance.currency} (${balance.type}, debits ` +
          `${major(balance.debitsMinor)}, credits ${major(balance.creditsMinor)}, ${balance.version} postings)`,
      );
    }
    return missing === 0 ? 0 : 1;
  }
  if (sub === 'entry') {
    const id = rest[0];
    if (id === undefined || rest.length !== 1)
      throw new UsageError(`entry takes one entry id\n${LEDGER_USAGE}`);
    const entry = await getEntry(db.pool, id);
    if (entry === undefined) {
      out(`no entry ${id}`);
      return 1;
    }
    out(`${entry.entryId}  ${entry.kind}  ${entry.reference}`);
    out(`  ${entry.description}`);
    out(`  effective ${entry.effectiveAt.toISOString()}, written ${entry.createdAt.toISOString()}`);
    if (entry.reversesEntryId !== null) out(`  reverses ${entry.reversesEntryId}`);
    for (const p of entry.postings) {
      out(
        `  ${p.direction === 'debit' ? 'Dr' : 'Cr'} ${p.accountCode}  ${amountText(p.amountMinor, p.currency)} ` +
          `${p.currency}  (#${p.seq}, balance after ${amountText(p.balanceAfterMinor, p.currency)})`,
      );
    }
    return 0;
  }
  throw new UsageError(LEDGER_USAGE);
}
