import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { checkConfig, SETTINGS } from '../config-check.ts';
import type { Config } from '../config.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../db/embedded.ts';
import { migrationStatus } from '../db/migrate.ts';
import { createPool, type Pool } from '../db/pool.ts';
import { APPEND_ONLY_TABLES } from '../db/roles.ts';
import type { Logger } from '../log.ts';
import {
  DEFAULT_ACH,
  DEFAULT_DEBTOR,
  loadPayoutsConfig,
  type AchSettings,
  type PayoutsConfig,
} from '../payouts/index.ts';
import { loadStripeConfig } from '../psp/index.ts';

export const DOCTOR_USAGE =
  'bursar doctor                            check the configuration, database, PSP, payouts, data dir and clocks; changes nothing';

type Verdict = 'ok' | 'warn' | 'FAIL';

interface Line {
  verdict: Verdict;
  check: string;
  detail: string;
}

/** How far the database's clock may be from the process's before it is a problem (holds, crons, expiries). */
const MAX_CLOCK_SKEW_MS = 2_000;
/** The files that hold secrets in the data dir: nobody but the owner may read them. */
const SECRET_FILES = [
  'stripe-webhook-secret',
  'marketplace-webhook-secret',
  'pg-password',
  'dev-api-key',
  'sandbox-secret-key',
];

async function timed<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function modeOf(file: string): number | undefined {
  try {
    return fs.statSync(file).mode & 0o777;
  } catch {
    return undefined;
  }
}

function dataDirChecks(config: Config): Line[] {
  if (config.databaseUrl !== undefined) {
    return [{ verdict: 'ok', check: 'data dir', detail: 'not used (DATABASE_URL is set)' }];
  }
  const dir = config.dataDir;
  if (!fs.existsSync(dir)) {
    return [
      {
        verdict: 'warn',
        check: 'data dir',
        detail: `${dir} does not exist yet (the first start creates it)`,
      },
    ];
  }
  const problems: string[] = [];
  try {
    fs.accessSync(dir, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    problems.push(`${dir} is not readable and writable by this account`);
  }
  const pgMode = modeOf(path.join(dir, 'pg'));
  if (pgMode !== undefined && (pgMode & 0o027) !== 0) {
    problems.push(`pg/ is mode ${pgMode.toString(8)}; PostgreSQL needs 0700 or 0750`);
  }
  for (const name of fs.readdirSync(dir)) {
    if (name === 'pg') continue;
    const mode = modeOf(path.join(dir, name));
    if (mode === undefined || (mode & 0o077) === 0) continue;
    problems.push(
      SECRET_FILES.includes(name) || name.endsWith('-secret') || name.endsWith('-password')
        ? `${name} is mode ${mode.toString(8)}; a secret's file must be 0600`
        : `${name} is mode ${mode.toString(8)}; every file in the data dir must be 0600 (directories 0700)`,
    );
  }
  return [
    problems.length === 0
      ? { verdict: 'ok', check: 'data dir', detail: `${dir}: permissions fine` }
      : { verdict: 'FAIL', check: 'data dir', detail: problems.join('; ') },
  ];
}

/**
 * The service role's privileges (src/db/roles.ts): it reads and writes every table of Bursar's schemas (pg-boss's
 * included), and it is no superuser, owns none of the ledger, and may not UPDATE, DELETE or TRUNCATE the ledger's
 * entries and postings.
 */
export async function privilegeCheck(pool: Pool, who: string): Promise<Line> {
  const missing = await pool.query<{ missing: string }>(
    `SELECT n.nspname || '.' || c.relname AS missing
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg_toast%'
        AND NOT (has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT, INSERT'))
        AND NOT (c.oid = ANY($1::regclass[]) AND has_table_privilege(c.oid, 'SELECT, INSERT'))
      ORDER BY 1`,
    [[...APPEND_ONLY_TABLES]],
  );
  if (missing.rows.length > 0) {
    return {
      verdict: 'FAIL',
      check: 'privileges',
      detail: `${who} cannot read and write ${missing.rows
        .slice(0, 5)
        .map((r) => r.missing)
        .join(', ')}${missing.rows.length > 5 ? ` and ${missing.rows.length - 5} more` : ''}`,
    };
  }
  const excess = await pool.query<{ problem: string }>(
    `SELECT 'is a superuser' AS problem FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolbypassrls)
     UNION ALL
     SELECT 'owns ' || t AS problem FROM unnest($1::text[]) AS t
      WHERE pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = t::regclass), 'USAGE')
     UNION ALL
     SELECT 'may ' || p || ' ' || t AS problem FROM unnest($1::text[]) AS t, unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE']) AS p
      WHERE has_table_privilege(t, p)`,
    [[...APPEND_ONLY_TABLES]],
  );
  if (excess.rows.length > 0) {
    return {
      verdict: 'FAIL',
      check: 'privileges',
      detail:
        `${who} has more than the service role needs: ${excess.rows.map((r) => r.problem).join(', ')} ` +
        '(run Bursar as the service role; `npx bursar migrate --print-grants`, docs/security.md)',
    };
  }
  return {
    verdict: 'ok',
    check: 'privileges',
    detail: `${who} can read and write every table, and cannot change or remove ledger entries and postings`,
  };
}

async function databaseChecks(config: Config, log: Logger): Promise<Line[]> {
  let embedded: EmbeddedPostgres | undefined;
  let pool: Pool | undefined;
  try {
    let url = config.databaseUrl;
    if (url === undefined) {
      if (!fs.existsSync(path.join(config.dataDir, 'pg', 'PG_VERSION'))) {
        return [
          {
            verdict: 'FAIL',
            check: 'database',
            detail: `no embedded database under ${config.dataDir} yet; run \`npx bursar migrate\` or \`npm start\``,
          },
        ];
      }
      // Shares the server a running `bursar start` owns, or runs it for the duration of the check.
      embedded = await timed(
        startEmbeddedPostgres({ dataDir: config.dataDir, log, adoptOrphan: false }),
        60_000,
      );
      url = embedded.url;
    }
    pool = createPool(url, { max: 2, applicationName: 'bursar-doctor' });
    const lines: Line[] = [];
    const started = Date.now();
    const now = await timed(
      pool.query<{ now: Date; who: string; version: string }>(
        "SELECT now() AS now, current_user AS who, current_setting('server_version') AS version",
      ),
      5_000,
    );
    const row = now.rows[0];
    const roundTripMs = Date.now() - started;
    lines.push({
      verdict: 'ok',
      check: 'database',
      detail: `reachable (PostgreSQL ${row?.version ?? '?'}, as ${row?.who ?? '?'}, ${roundTripMs} ms)`,
    });

    const status = await migrationStatus(pool);
    if (status.modified.length > 0) {
      lines.push({
        verdict: 'FAIL',
        check: 'migrations',
        detail: `applied migrations were modified: ${status.modified.join(', ')}`,
      });
    } else if (status.pending.length > 0) {
      lines.push({
        verdict: 'FAIL',
        check: 'migrations',
        detail: `pending: ${status.pending.join(', ')} (\`npx bursar migrate\` applies them)`,
      });
    } else {
      lines.push({
        verdict: 'ok',
        check: 'migrations',
        detail: `current (${status.applied.length} applied)`,
      });
    }

    lines.push(await privilegeCheck(pool, row?.who ?? 'the role'));

    // The database's clock against ours, allowing for the round trip.
    const skewMs = row ? Math.abs(row.now.getTime() - (started + roundTripMs / 2)) : 0;
    lines.push(
      skewMs <= MAX_CLOCK_SKEW_MS + roundTripMs
        ? {
            verdict: 'ok',
            check: 'clocks',
            detail: `database and process agree within ${Math.ceil(skewMs)} ms`,
          }
        : {
            verdict: 'FAIL',
            check: 'clocks',
            detail: `the database's clock is ${Math.round(skewMs)} ms from the process's (at most ${MAX_CLOCK_SKEW_MS} ms)`,
          },
    );
    return lines;
  } catch (error) {
    return [{ verdict: 'FAIL', check: 'database', detail: `unreachable: ${(error as Error).message}` }];
  } finally {
    await pool?.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
  }
}

async function pspChecks(env: NodeJS.ProcessEnv, config: Config): Promise<Line[]> {
  const lines: Line[] = [];
  const keptSecret = path.join(config.dataDir, 'stripe-webhook-secret');
  const secretSet = Boolean(env.STRIPE_WEBHOOK_SECRET) || fs.existsSync(keptSecret);
  lines.push(
    secretSet
      ? {
          verdict: 'ok',
          check: 'psp webhook secret',
          detail: env.STRIPE_WEBHOOK_SECRET ? 'STRIPE_WEBHOOK_SECRET is set' : `kept in ${keptSecret}`,
        }
      : {
          verdict: 'FAIL',
          check: 'psp webhook secret',
          detail: 'STRIPE_WEBHOOK_SECRET is not set and none is kept in the data dir yet',
        },
  );
  // Placeholders keep the loader from generating and writing a secret or a key; doctor changes nothing.
  const stripe = loadStripeConfig(
    {
      ...env,
      STRIPE_WEBHOOK_SECRET: env.STRIPE_WEBHOOK_SECRET || 'whsec_doctor',
      // None kept yet (Bursar never started here): a throwaway key, which the sandbox refuses as it should.
      STRIPE_SECRET_KEY:
        env.STRIPE_SECRET_KEY ||
        readKeptSandboxKey(config.dataDir) ||
        `sk_test_${randomBytes(24).toString('hex')}`,
    },
    config.dataDir,
    `http://127.0.0.1:${config.sandboxPort}`,
  );
  const base = `${stripe.protocol ?? 'https'}://${stripe.host ?? 'api.stripe.com'}:${stripe.port ?? 443}`;
  try {
    const res = await timed(
      fetch(`${base}/v1/balance`, { headers: { authorization: `Bearer ${stripe.secretKey}` } }),
      10_000,
    );
    await res.body?.cancel();
    if (res.ok)
      lines.push({ verdict: 'ok', check: 'psp', detail: `${base} answers with the configured key` });
    else if (res.status === 401 || res.status === 403)
      lines.push({
        verdict: 'FAIL',
        check: 'psp',
        detail: `${base} refuses the configured key (${res.status})`,
      });
    else lines.push({ verdict: 'FAIL', check: 'psp', detail: `${base} answered ${res.status}` });
  } catch (error) {
    const cause = (error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    lines.push({
      verdict: 'FAIL',
      check: 'psp',
      detail: `${base} unreachable (${cause})${env.STRIPE_API_HOST ? '' : '; the sandbox PSP runs inside `bursar start`'}`,
    });
  }
  return lines;
}

/** With nacha enabled: who the ACH files come from, warning on the development values. */
function achCheck(ach: AchSettings | undefined): Line[] {
  if (ach === undefined) return [];
  const development =
    ach.companyId === DEFAULT_ACH.companyId || ach.immediateDestination === DEFAULT_ACH.immediateDestination;
  return [
    {
      verdict: development ? 'warn' : 'ok',
      check: 'payouts (ACH)',
      detail: `provider nacha, company ${ach.companyName} (${ach.companyId}), to ${ach.immediateDestination}${
        development
          ? ': development values; set the BURSAR_ACH_* settings your bank gave for real payouts'
          : ''
      }`,
    },
  ];
}

function payoutChecks(env: NodeJS.ProcessEnv, config: Config): Line[] {
  const payouts = loadPayoutsConfig(env, config.sandboxPort, config.port, config.dataDir);
  return [...pain001Check(payouts), ...achCheck(payouts.ach)];
}

function pain001Check(payouts: PayoutsConfig): Line[] {
  if (payouts.providers.length === 1 && payouts.provider === 'nacha') return [];
  if (payouts.providers.includes('sandbox')) {
    return [
      {
        verdict: 'ok',
        check: 'payouts',
        detail: `provider sandbox at ${payouts.sandboxUrl}, events to ${payouts.webhookUrl}`,
      },
    ];
  }
  const development = payouts.debtor.iban === DEFAULT_DEBTOR.iban;
  return [
    {
      verdict: development ? 'warn' : 'ok',
      check: 'payouts',
      detail: `provider iso20022 (${payouts.painVersion}), debtor ${payouts.debtor.name}, ${payouts.debtor.bic}${
        development
          ? ': the development debtor account; set BURSAR_PAYOUT_DEBTOR_IBAN/BIC for real payouts'
          : ''
      }`,
    },
  ];
}

/** `bursar doctor`: one line per check, exit 1 on any problem; reads only. */
export async function doctorCommand(
  env: NodeJS.ProcessEnv,
  log: Logger,
  out: (line: string) => void,
): Promise<number> {
  const lines: Line[] = [];
  const checked = checkConfig(env, 'all');
  const config = checked.config;
  if (config === undefined) {
    for (const problem of checked.problems) {
      lines.push({
        verdict: 'FAIL',
        check: 'configuration',
        detail: `${problem.variable}: ${problem.problem} (accepted: ${problem.accepted})`,
      });
    }
    lines.push({
      verdict: 'warn',
      check: 'other checks',
      detail: 'skipped until the configuration is fixed',
    });
  } else {
    const set = SETTINGS.filter(
      (setting) => env[setting.name] !== undefined && env[setting.name] !== '',
    ).length;
    lines.push({
      verdict: 'ok',
      check: 'configuration',
      detail: `${SETTINGS.length} settings checked for every role (${set} set, the rest default)`,
    });
    lines.push(...(await databaseChecks(config, log)));
    lines.push(...(await pspChecks(env, config)));
    lines.push(...payoutChecks(env, config));
    lines.push(...dataDirChecks(config));
  }
  for (const line of lines) out(`${line.verdict.padEnd(4)}  ${line.check}: ${line.detail}`);
  const failures = lines.filter((line) => line.verdict === 'FAIL').length;
  out(
    failures === 0 ? 'doctor: no problem found' : `doctor: ${failures} problem${failures === 1 ? '' : 's'}`,
  );
  return failures === 0 ? 0 : 1;
}

/** The sandbox key kept in the data dir, if Bursar ever started there; read only, never created. */
function readKeptSandboxKey(dataDir: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dataDir, 'sandbox-secret-key'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
