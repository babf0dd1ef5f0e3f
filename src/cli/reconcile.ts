import type { Config } from '../config.ts';
import { composeModules, createContext } from '../compose.ts';
import type { Database } from '../db/database.ts';
import { withTransaction } from '../db/tx.ts';
import { isAppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import {
  dailyRun,
  EXCEPTION_CLASSES,
  fetchAndReconcile,
  fileInput,
  getException,
  importBankDirectory,
  isExceptionKind,
  listExceptions,
  reconcileFiles,
  reopenException,
  reportDayInterval,
  reportLines,
  resolveException,
  runStaged,
  exceptionToWire,
  exceptionDetail,
  resolveByFilter,
  type ExceptionClass,
  type ExceptionStatus,
} from '../reconciliation/index.ts';
import { parse, UsageError } from './args.ts';

export const RECONCILE_USAGE = `bursar reconcile psp --file <report.csv> [--from <ISO time>] [--to <ISO time>] [--internal]
bursar reconcile psp --fetch [--date YYYY-MM-DD]   (the report's own day; default today)
bursar reconcile bank --file <statement.xml> | --dir <directory>
bursar reconcile internal
bursar reconcile daily [--date YYYY-MM-DD]         (the report's own day; default yesterday)`;

export const EXCEPTIONS_USAGE = `bursar exceptions list [--status open|fixed|resolved] [--class <class>] [--kind <kind>] [--run <rrun_ id>] [--limit <n>]
bursar exceptions show <rexc_ id>
bursar exceptions resolve <rexc_ id> --note <text> [--by <name>]
bursar exceptions resolve [--kind <kind>] [--class <class>] [--run <rrun_ id>] [--before <ISO time>] --note <text> [--by <name>]
bursar exceptions reopen <rexc_ id> [--note <text>] [--by <name>]`;

function dateOption(text: string | undefined, name: string): Date | undefined {
  if (text === undefined) return undefined;
  const date = new Date(text);
  if (Number.isNaN(date.getTime()))
    throw new UsageError(`--${name} takes an ISO date or time, got "${text}"`);
  return date;
}

/** `--date D`: the report's own day (UTC); without it, today (`psp --fetch`) or yesterday (`daily`). */
function dayOption(text: string | undefined, daysBack = 0): string {
  if (text === undefined) return new Date(Date.now() - daysBack * 86_400_000).toISOString().slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(new Date(`${text}T00:00:00Z`).getTime())) {
    throw new UsageError(`--date takes YYYY-MM-DD, got "${text}"`);
  }
  return text;
}

/** `bursar reconcile …`: imports and applies files, prints the run's report. Exit 1 when a file is refused. */
export async function reconcileCommand(
  argv: string[],
  db: Database,
  config: Config,
  log: Logger,
  out: (line: string) => void,
): Promise<number> {
  const rt = composeModules(createContext(config, db.pool, log)).reconciliation.runtime;
  const [sub, ...rest] = argv;
  const trigger = `cli:${process.env.USER ?? 'unknown'}`;
  try {
    let report: Record<string, unknown>;
    if (sub === 'psp') {
      const { values, positionals } = parse(rest, {
        file: { type: 'string' },
        fetch: { type: 'boolean' },
        from: { type: 'string' },
        to: { type: 'string' },
        date: { type: 'string' },
        internal: { type: 'boolean' },
      });
      if (positionals.length > 0 || (values.file === undefined) === (values.fetch !== true)) {
        throw new UsageError(`psp takes --file <report.csv> or --fetch\n${RECONCILE_USAGE}`);
      }
      if (values.file !== undefined) {
        const from = dateOption(values.from, 'from');
        const to = dateOption(values.to, 'to');
        report = await reconcileFiles(
          rt,
          { psp: [fileInput(values.file)] },
          {
            trigger,
            origin: 'file',
            internal: values.internal === true,
            ...(from === undefined ? {} : { intervalStart: from }),
            ...(to === undefined ? {} : { intervalEnd: to }),
          },
        );
      } else {
        const interval = reportDayInterval(dayOption(values.date), new Date());
        report = await fetchAndReconcile(rt, interval, trigger, values.internal === true);
      }
    } else if (sub === 'bank') {
      const { values, positionals } = parse(rest, { file: { type: 'string' }, dir: { type: 'string' } });
      if (positionals.length > 0 || (values.file === undefined) === (values.dir === undefined)) {
        throw new UsageError(`bank takes --file <statement.xml> or --dir <directory>\n${RECONCILE_USAGE}`);
      }
      if (values.file !== undefined) {
        report = await reconcileFiles(rt, { bank: [fileInput(values.file)] }, { trigger, origin: 'file' });
      } else {
        await importBankDirectory(rt, values.dir ?? '.');
        report = await runStaged(rt, trigger, false);
      }
    } else if (sub === 'internal') {
      report = await reconcileFiles(rt, {}, { trigger, origin: 'file', internal: true });
    } else if (sub === 'daily') {
      const { values } = parse(rest, { date: { type: 'string' } });
      report = await dailyRun(rt, dayOption(values.date, 1));
    } else {
      throw new UsageError(`unknown reconcile command "${sub ?? ''}"\n${RECONCILE_USAGE}`);
    }
    for (const line of reportLines(report)) out(line);
    return 0;
  } catch (error) {
    if (
      isAppError(error) &&
      (error.code === 'reconciliation_file_malformed' || error.code === 'reconciliation_file_duplicate')
    ) {
      out(`refused (${error.code}): ${error.message}`);
      out('nothing of the file was applied');
      return 1;
    }
    throw error;
  }
}

/** `bursar exceptions …`: list, show, resolve and reopen reconciliation exceptions. */
export async function exceptionsCommand(
  argv: string[],
  db: Database,
  out: (line: string) => void,
): Promise<number> {
  const [sub, ...rest] = argv;
  const actor = (by: string | undefined): string => `cli:${by ?? process.env.USER ?? 'unknown'}`;
  if (sub === 'list') {
    const { values } = parse(rest, {
      status: { type: 'string' },
      class: { type: 'string' },
      kind: { type: 'string' },
      run: { type: 'string' },
      limit: { type: 'string' },
    });
    if (values.status !== undefined && !['open', 'fixed', 'resolved'].includes(values.status)) {
      throw new UsageError('--status is open, fixed or resolved');
    }
    if (values.class !== undefined && !(EXCEPTION_CLASSES as readonly string[]).includes(values.class)) {
      throw new UsageError(`--class is one of ${EXCEPTION_CLASSES.join(', ')}`);
    }
    if (values.kind !== undefined && !isExceptionKind(values.kind))
      throw new UsageError(`unknown --kind "${values.kind}"`);
    const limit = values.limit === undefined ? 50 : Number.parseInt(values.limit, 10);
    if (!Number.isInteger(limit) || limit <= 0) throw new UsageError('--limit takes a positive whole number');
    const rows = await listExceptions(db.pool, {
      status: values.status as ExceptionStatus | undefined,
      class: values.class as ExceptionClass | undefined,
      kind: values.kind !== undefined && isExceptionKind(values.kind) ? values.kind : undefined,
      runId: values.run,
      limit,
    });
    for (const row of rows) {
      out(`${row.id}  ${row.status.padEnd(8)} ${row.class.padEnd(13)} ${row.kind.padEnd(24)} ${row.cause}`);
    }
    out(`${rows.length} exception(s)`);
    return 0;
  }
  if (sub === 'resolve' && (rest[0] === undefined || rest[0].startsWith('--'))) {
    return await bulkResolveCommand(rest, db, out, actor);
  }
  const id = rest[0];
  if (id === undefined || !/^rexc_[a-z2-7]+$/.test(id))
    throw new UsageError(`an exception id (rexc_…) is needed\n${EXCEPTIONS_USAGE}`);
  if (sub === 'show') {
    if ((await getException(db.pool, id)) === undefined) {
      out(`no exception ${id}`);
      return 1;
    }
    // Exactly what the API answers (GET /v1/reconciliation/exceptions/{id}), history included.
    out(JSON.stringify(await exceptionDetail(db.pool, id, exceptionToWire), null, 2));
    return 0;
  }
  if (sub === 'resolve' || sub === 'reopen') {
    const { values } = parse(rest.slice(1), { note: { type: 'string' }, by: { type: 'string' } });
    if (sub === 'resolve' && (values.note === undefined || values.note.trim() === '')) {
      throw new UsageError('resolve needs --note <text>');
    }
    try {
      const after = await withTransaction(db.pool, (client) =>
        sub === 'resolve'
          ? resolveException(client, id, values.note?.trim() ?? '', actor(values.by))
          : reopenException(client, id, values.note?.trim(), actor(values.by)),
      );
      out(`${after.id} is ${after.status}`);
      return 0;
    } catch (error) {
      if (isAppError(error)) {
        out(`${error.code}: ${error.message}`);
        return 1;
      }
      throw error;
    }
  }
  throw new UsageError(`unknown exceptions command "${sub ?? ''}"\n${EXCEPTIONS_USAGE}`);
}

/** `bursar exceptions resolve --kind … --note …`: the open exceptions a filter names, resolved with one note. */
async function bulkResolveCommand(
  rest: string[],
  db: Database,
  out: (line: string) => void,
  actor: (by: string | undefined) => string,
): Promise<number> {
  const { values, positionals } = parse(rest, {
    kind: { type: 'string' },
    class: { type: 'string' },
    run: { type: 'string' },
    before: { type: 'string' },
    note: { type: 'string' },
    by: { type: 'string' },
  });
  const note = values.note?.trim() ?? '';
  if (positionals.length > 0 || note === '')
    throw new UsageError(`resolve needs --note <text>\n${EXCEPTIONS_USAGE}`);
  if ([values.kind, values.class, values.run, values.before].every((v) => v === undefined))
    throw new UsageError('resolving in bulk needs at least one of --kind, --class, --run, --before');
  if (values.kind !== undefined && !isExceptionKind(values.kind))
    throw new UsageError(`unknown --kind "${values.kind}"`);
  if (values.class !== undefined && !(EXCEPTION_CLASSES as readonly string[]).includes(values.class))
    throw new UsageError(`--class is one of ${EXCEPTION_CLASSES.join(', ')}`);
  const before = dateOption(values.before, 'before');
  const result = await resolveByFilter(
    { pool: db.pool },
    {
      kind: values.kind,
      class: values.class as ExceptionClass | undefined,
      run_id: values.run,
      created_before: before?.toISOString(),
    },
    note,
    actor(values.by),
  );
  for (const id of result.ids) out(`${id} is resolved`);
  out(`${result.resolved} exception(s) resolved; ${result.remaining} more match`);
  return 0;
}
