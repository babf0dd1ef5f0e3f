import type { Queryable } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import { applyBankImport } from './apply-bank.ts';
import { applyPspImport, checkMissingPspLines } from './apply-psp.ts';
import { checkMissingPspRefunds } from './refunds-check.ts';
import { newRunId } from './ids.ts';
import type { FileInput } from './input.ts';
import { internalChecks } from './internal.ts';
import { newCounters, reportJson } from './report.ts';
import type { ReconRuntime } from './runtime.ts';
import { stageBankStatement, stagePspReport, type ImportOrigin, type StagedImport } from './staging.ts';

/**
 * Reconciliation's use cases. A run applies staged imports (PSP reports first, so that the PSP payouts they list
 * are known when the bank statements arrive), then checks for successes of ours with no PSP line, then, when asked,
 * checks Bursar against itself. Its report is stored with the run and returned.
 */

export type RunKind = 'psp' | 'bank' | 'internal' | 'daily';

export interface RunRequest {
  kind: RunKind;
  /** Who or what started it: `cli`, `api:<key id>`, `schedule`. */
  trigger: string;
  importIds: string[];
  internal: boolean;
  /** The interval of activity the run covers (a fetch's report day); else the span of the lines it reads. */
  interval?: { start: Date; end: Date };
}

/** The day `day` (YYYY-MM-DD, UTC) as a report interval: its midnight to the next, or to `now` while it lasts. */
export function reportDayInterval(day: string, now: Date): { start: Date; end: Date } {
  const start = new Date(`${day}T00:00:00Z`);
  const next = new Date(start.getTime() + 86_400_000);
  return { start, end: now < next && now > start ? now : next };
}

/** The span of the staged lines of `importIds`: the PSP reports' intervals and the bank lines' booking days. */
async function spanOf(
  rt: ReconRuntime,
  importIds: string[],
): Promise<{ start: Date; end: Date } | undefined> {
  const found = await rt.pool.query<{ start: Date | null; end: Date | null }>(
    `SELECT min(s) AS start, max(e) AS end FROM (
       SELECT interval_start AS s, interval_end AS e FROM recon.imports WHERE id = ANY($1::text[])
       UNION ALL
       SELECT min(left(booking_date, 10)::date)::timestamptz, (max(left(booking_date, 10)::date) + 1)::timestamptz
         FROM recon.bank_lines WHERE import_id = ANY($1::text[]) AND booking_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}'
     ) spans`,
    [importIds],
  );
  const row = found.rows[0];
  return row?.start == null || row.end == null ? undefined : { start: row.start, end: row.end };
}

export interface RunRecord {
  id: string;
  kind: RunKind;
  trigger: string;
  status: 'running' | 'succeeded' | 'failed';
  importIds: string[];
  report: Record<string, unknown> | null;
  error: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  intervalStart: Date | null;
  intervalEnd: Date | null;
}

export async function importPspReport(
  rt: ReconRuntime,
  input: FileInput,
  options: { origin: ImportOrigin; intervalStart?: Date; intervalEnd?: Date },
): Promise<StagedImport> {
  return await stagePspReport(rt.pool, input, options);
}

export async function importBankStatement(
  rt: ReconRuntime,
  input: FileInput,
  options: { origin: ImportOrigin },
): Promise<StagedImport> {
  return await stageBankStatement(rt.pool, input, options);
}

/** Stores (and returns) the interval a run covers: the one asked for, else the span of its lines. */
async function storeInterval(
  rt: ReconRuntime,
  runId: string,
  request: RunRequest,
): Promise<{ start: Date; end: Date } | undefined> {
  const interval = request.interval ?? (await spanOf(rt, request.importIds));
  if (interval !== undefined) {
    await rt.pool.query('UPDATE recon.runs SET interval_start = $2, interval_end = $3 WHERE id = $1', [
      runId,
      interval.start,
      interval.end,
    ]);
  }
  return interval;
}

export async function runReconciliation(
  rt: ReconRuntime,
  request: RunRequest,
): Promise<Record<string, unknown>> {
  const started = performance.now();
  const runId = newRunId();
  await rt.pool.query('INSERT INTO recon.runs (id, kind, trigger, import_ids) VALUES ($1, $2, $3, $4)', [
    runId,
    request.kind,
    request.trigger,
    request.importIds,
  ]);
  const counters = newCounters();
  try {
    const interval = await storeInterval(rt, runId, request);
    const imports = await rt.pool.query<{
      id: string;
      source: 'psp' | 'bank';
      format: string;
      name: string;
      lines: bigint;
    }>(
      `SELECT id, source, format, name, lines FROM recon.imports WHERE id = ANY($1::text[]) AND status = 'staged'
        ORDER BY CASE source WHEN 'psp' THEN 0 ELSE 1 END, created_at, id`,
      [request.importIds],
    );
    for (const staged of imports.rows) {
      if (staged.source === 'psp') await applyPspImport(rt, runId, staged.id, counters);
      else await applyBankImport(rt, runId, staged.id, counters);
      await rt.pool.query(
        `UPDATE recon.imports SET status = 'applied', applied_at = now(), run_id = $2 WHERE id = $1`,
        [staged.id, runId],
      );
    }
    if (imports.rows.some((row) => row.source === 'psp') || request.kind === 'daily') {
      await checkMissingPspLines(rt, runId, counters);
      await checkMissingPspRefunds(rt, runId, counters);
    }
    if (request.internal) await internalChecks(rt, runId, counters);
    const report = reportJson(counters, {
      runId,
      kind: request.kind,
      imports: imports.rows.map((row) => ({
        id: row.id,
        source: row.source,
        format: row.format,
        name: row.name,
        lines: Number(row.lines),
      })),
      durationMs: Math.round(performance.now() - started),
      interval,
    });
    await rt.pool.query(
      `UPDATE recon.runs SET status = 'succeeded', report = $2, finished_at = now() WHERE id = $1`,
      [runId, JSON.stringify(report)],
    );
    rt.metrics.runs.inc({ kind: request.kind, status: 'succeeded' });
    rt.log.info({ runId, kind: request.kind, report }, 'reconciliation run finished');
    return report;
  } catch (error) {
    await rt.pool
      .query(`UPDATE recon.runs SET status = 'failed', error = $2, finished_at = now() WHERE id = $1`, [
        runId,
        (error as Error).message.slice(0, 2000),
      ])
      .catch(() => undefined);
    rt.metrics.runs.inc({ kind: request.kind, status: 'failed' });
    throw error;
  }
}

/** Stages the given files (all of them, before applying any) and runs reconciliation over them. */
export async function reconcileFiles(
  rt: ReconRuntime,
  files: { psp?: FileInput[]; bank?: FileInput[] },
  options: {
    trigger: string;
    origin: ImportOrigin;
    internal?: boolean;
    intervalStart?: Date;
    intervalEnd?: Date;
  },
): Promise<Record<string, unknown>> {
  const staged: StagedImport[] = [];
  for (const input of files.psp ?? []) {
    staged.push(
      await importPspReport(rt, input, {
        origin: options.origin,
        ...(options.intervalStart === undefined ? {} : { intervalStart: options.intervalStart }),
        ...(options.intervalEnd === undefined ? {} : { intervalEnd: options.intervalEnd }),
      }),
    );
  }
  for (const input of files.bank ?? [])
    staged.push(await importBankStatement(rt, input, { origin: options.origin }));
  const kind: RunKind =
    (files.psp?.length ?? 0) > 0
      ? (files.bank?.length ?? 0) > 0
        ? 'daily'
        : 'psp'
      : (files.bank?.length ?? 0) > 0
        ? 'bank'
        : 'internal';
  return await runReconciliation(rt, {
    kind,
    trigger: options.trigger,
    importIds: staged.map((s) => s.importId),
    internal: options.internal ?? kind === 'internal',
  });
}

export async function getRun(db: Queryable, id: string): Promise<RunRecord> {
  const found = await db.query<{
    id: string;
    kind: RunKind;
    trigger: string;
    status: RunRecord['status'];
    import_ids: string[];
    report: Record<string, unknown> | null;
    error: string | null;
    started_at: Date;
    finished_at: Date | null;
    interval_start: Date | null;
    interval_end: Date | null;
  }>(
    `SELECT id, kind, trigger, status, import_ids, report, error, started_at, finished_at, interval_start,
            interval_end
       FROM recon.runs WHERE id = $1`,
    [id],
  );
  const row = found.rows[0];
  if (row === undefined) throw new AppError('reconciliation_run_not_found', `no reconciliation run ${id}`);
  return {
    id: row.id,
    kind: row.kind,
    trigger: row.trigger,
    status: row.status,
    importIds: row.import_ids,
    report: row.report,
    error: row.error,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    intervalStart: row.interval_start,
    intervalEnd: row.interval_end,
  };
}
