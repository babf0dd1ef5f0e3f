import { checkConfig, EXIT_CONFIG, formatConfigProblems, type CheckedRole } from '../config-check.ts';
import { migrateAndGrant, openDatabase } from '../db/database.ts';
import { roleSetupSql, serviceRoleName } from '../db/roles.ts';
import pino from 'pino';
import { createLogger } from '../log.ts';
import { UsageError } from './args.ts';
import { dlqCommand, DLQ_USAGE } from './dlq.ts';
import { KEYS_USAGE, keysMain } from './keys.ts';
import { ledgerCommand, LEDGER_USAGE } from './ledger.ts';
import { operatorsCommand, OPERATORS_USAGE } from './operators.ts';
import { reportCommand, REPORT_USAGE } from './report.ts';
import { payoutsCommand, PAYOUTS_USAGE } from './payouts.ts';
import { exceptionsCommand, EXCEPTIONS_USAGE, reconcileCommand, RECONCILE_USAGE } from './reconcile.ts';
import { doctorCommand, DOCTOR_USAGE } from './doctor.ts';
import { sellersCommand, SELLERS_USAGE } from './sellers.ts';
import { startCommand, type ExtraService } from './start.ts';

const USAGE = `usage: bursar <command>

  start [--role all|api|worker|sandbox]   run Bursar (npm start runs "start")
  migrate [--print-grants]                 apply pending database migrations (then the service role's grants) and
                                           exit; --print-grants prints the roles and grants for DATABASE_URL
  ${DOCTOR_USAGE.replace(/^bursar /, '')}
${KEYS_USAGE.split('\n')
  .map((line) => `  ${line.replace(/^bursar /, '')}`)
  .join('\n')}
${OPERATORS_USAGE.split('\n')
  .map((line) => `  ${line.replace(/^bursar /, '')}`)
  .join('\n')}
${DLQ_USAGE.split('\n')
  .map((line) => `  ${line.replace(/^bursar /, '')}`)
  .join('\n')}
${LEDGER_USAGE.split('\n')
  .map((line) => `  ${line.replace(/^bursar /, '')}`)
  .join('\n')}
${PAYOUTS_USAGE.split('\n')
  .map((line) => `  ${line.replace(/^bursar /, '')}`)
  .join('\n')}
${SELLERS_USAGE.split('\n')
  .map((line) => `  ${line.replace(/^bursar /, '')}`)
  .join('\n')}
${RECONCILE_USAGE.split('\n')
  .map((line) => `  ${line.replace(/^bursar /, '')}`)
  .join('\n')}
${EXCEPTIONS_USAGE.split('\n')
  .map((line) => `  ${line.replace(/^bursar /, '')}`)
  .join('\n')}
${REPORT_USAGE.split('\n')
  .map((line) => `  ${line.replace(/^bursar /, '')}`)
  .join('\n')}

Every command reads the same configuration as "start": DATABASE_URL, or the embedded PostgreSQL under
BURSAR_DATA_DIR (default ./.bursar), shared with a running "start" when there is one.`;

/** The roles whose settings a command needs: `start`'s `--role`, every role for `doctor`, the database's otherwise. */
function checkedRole(command: string | undefined, rest: string[]): CheckedRole {
  if (command === 'doctor') return 'all';
  if (command !== 'start') return 'cli';
  const index = rest.findIndex((arg) => arg === '--role' || arg.startsWith('--role='));
  const value = index < 0 ? 'all' : (rest[index]?.split('=')[1] ?? rest[index + 1]);
  return value === 'api' || value === 'worker' || value === 'sandbox' ? value : 'all';
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

export interface MainOptions {
  /** Background services `start` adds for some roles; the launcher passes the sandbox PSP this way. */
  extraServices?: readonly ExtraService[];
}

export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'doctor') {
    // The doctor reports configuration problems as its first check rather than refusing to run.
    const doctorLog = createLogger(process.env.LOG_LEVEL || 'warn', pino.destination(2));
    return await doctorCommand(process.env, doctorLog, out);
  }
  // Every setting the command's roles read is checked before anything starts; all problems are reported at once.
  const checked = checkConfig(process.env, checkedRole(command, rest));
  const config = checked.config;
  if (config === undefined || checked.problems.length > 0) {
    process.stderr.write(`${formatConfigProblems(checked.problems)}\n`);
    return EXIT_CONFIG;
  }
  // Commands other than start log only warnings, to stderr, so their own output stays readable.
  const log =
    command === 'start'
      ? createLogger(config.logLevel)
      : createLogger(process.env.LOG_LEVEL ?? 'warn', pino.destination(2));
  try {
    switch (command) {
      case 'start':
        return await startCommand(rest, config, log, out, options.extraServices ?? []);
      case 'migrate': {
        if (rest.includes('--print-grants')) {
          out(roleSetupSql({ service: serviceRoleName() }));
          return 0;
        }
        if (config.databaseUrl !== undefined) {
          // As the owner role: migrations, then the grants to the service role (every run, new tables included).
          const applied = await migrateAndGrant(config.databaseUrl, serviceRoleName(), { alwaysGrant: true });
          out(applied.length > 0 ? `applied ${applied.join(', ')}` : 'migrations are current');
          return 0;
        }
        const db = await openDatabase(config, log, { role: 'cli', poolSize: 2 });
        await db.close();
        out('migrations are current');
        return 0;
      }
      case 'payouts': {
        const db = await openDatabase(config, log, { role: 'cli', poolSize: 4 });
        try {
          return await payoutsCommand(rest, db, config, log, out);
        } finally {
          await db.close();
        }
      }
      case 'sellers': {
        const db = await openDatabase(config, log, { role: 'cli', poolSize: 2 });
        try {
          return await sellersCommand(rest, db, out);
        } finally {
          await db.close();
        }
      }
      case 'reconcile':
      case 'exceptions': {
        const db = await openDatabase(config, log, { role: 'cli', poolSize: 4 });
        try {
          if (command === 'reconcile') return await reconcileCommand(rest, db, config, log, out);
          return await exceptionsCommand(rest, db, out);
        } finally {
          await db.close();
        }
      }
      case 'report': {
        const db = await openDatabase(config, log, { role: 'cli', poolSize: 4 });
        try {
          return await reportCommand(rest, db, out);
        } finally {
          await db.close();
        }
      }
      case 'keys':
        return await keysMain(rest, () => openDatabase(config, log, { role: 'cli', poolSize: 4 }), out);
      case 'operators':
      case 'dlq':
      case 'ledger': {
        const db = await openDatabase(config, log, { role: 'cli', poolSize: 4 });
        try {
          if (command === 'operators') return await operatorsCommand(rest, db, out);
          if (command === 'dlq') return await dlqCommand(rest, db, out);
          return await ledgerCommand(rest, db, out);
        } finally {
          await db.close();
        }
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`bursar: ${(error as Error).message}\n`);
      return 2;
    }
    process.stderr.write(`bursar: ${(error as Error).message}\n`);
    return 1;
  }
}
