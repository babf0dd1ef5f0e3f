import { z } from 'zod';
import { withTransaction } from '../db/tx.ts';
import { AppError } from '../errors.ts';
import type { App, RouteModule } from '../http/app.ts';
import { errorResponses, listOf } from '../http/schemas.ts';
import { listQuery } from '../http/list-query.ts';
import { pageOf, pageRequestOf } from '../http/pagination.ts';
import { listRuns } from './runs-list.ts';
import { formatAmount, isCurrencyCode } from '../money/index.ts';
import { EXCEPTION_CLASSES, EXCEPTION_KINDS } from './domain/types.ts';
import { bulkResolveRoute, exceptionDetail } from './http-bulk.ts';
import {
  listExceptions,
  reopenException,
  resolveException,
  type ReconException,
} from './exceptions-store.ts';
import { contentInput } from './input.ts';
import { fetchAndReconcile } from './daily.ts';
import type { ReconRuntime } from './runtime.ts';
import { getRun, reconcileFiles, reportDayInterval, type RunRecord } from './service.ts';
import { ExceptionList, ExceptionWire, ExceptionWithHistory, RunWire } from './http-schemas.ts';

const ExceptionId = z.string().regex(/^rexc_[a-z2-7]{1,40}$/, 'must be an exception id (rexc_…)');
const RunId = z.string().regex(/^rrun_[a-z2-7]{1,40}$/, 'must be a run id (rrun_…)');

const ListQuery = z
  .object({
    status: z.enum(['open', 'fixed', 'resolved']).optional(),
    class: z.enum(EXCEPTION_CLASSES).optional(),
    kind: z.enum(EXCEPTION_KINDS as [string, ...string[]]).optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    run_id: RunId.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z
      .string()
      .regex(/^\d{1,19}$/, 'must be the next_cursor of a previous page')
      // A sequence number is a PostgreSQL bigint: 2^63 and above is no cursor of ours (and not a 500).
      .refine(
        (value) => !/^\d{1,19}$/.test(value) || BigInt(value) <= MAX_BIGINT,
        'must be the next_cursor of a previous page',
      )
      .optional(),
  })
  .strict();

const MAX_BIGINT = 2n ** 63n - 1n;

const ResolveBody = z.object({ note: z.string().trim().min(1).max(2000) }).strict();
const ReopenBody = z.object({ note: z.string().trim().min(1).max(2000).optional() }).strict();

const RunBody = z
  .object({
    source: z.enum(['psp', 'bank', 'internal']),
    /** The file's content (CSV or camt XML); without it, a `psp` run fetches the report from the PSP. */
    content: z.string().min(1).optional(),
    name: z.string().trim().min(1).max(200).optional(),
    interval_start: z.iso.datetime({ offset: true }).optional(),
    interval_end: z.iso.datetime({ offset: true }).optional(),
    /** A `psp` fetch: the report's own day (UTC); the run covers that midnight to the next. Default: today. */
    date: z.iso.date().optional(),
    internal_checks: z.boolean().optional(),
  })
  .strict();

function amountWire(minor: bigint | null, currency: string | null): string | null {
  if (minor === null || currency === null || !isCurrencyCode(currency)) return minor?.toString() ?? null;
  return minor < 0n ? `-${formatAmount(-minor, currency)}` : formatAmount(minor, currency);
}

export function exceptionToWire(exception: ReconException): ExceptionWire {
  return {
    id: exception.id,
    object: 'reconciliation_exception',
    class: exception.class,
    kind: exception.kind,
    status: exception.status,
    cause: exception.cause,
    amount: amountWire(exception.amountMinor, exception.currency),
    currency: exception.currency,
    evidence: exception.evidence,
    fix: exception.fix,
    run_id: exception.runId,
    resolution:
      exception.status === 'resolved'
        ? {
            note: exception.resolutionNote,
            resolved_by: exception.resolvedBy,
            resolved_at: exception.resolvedAt?.toISOString() ?? null,
          }
        : null,
    created_at: exception.createdAt.toISOString(),
    updated_at: exception.updatedAt.toISOString(),
  };
}

function runToWire(run: RunRecord): RunWire {
  return {
    id: run.id,
    object: 'reconciliation_run',
    kind: run.kind,
    trigger: run.trigger,
    status: run.status,
    import_ids: run.importIds,
    report: run.report,
    error: run.error,
    started_at: run.startedAt.toISOString(),
    finished_at: run.finishedAt?.toISOString() ?? null,
    interval_start: run.intervalStart?.toISOString() ?? null,
    interval_end: run.intervalEnd?.toISOString() ?? null,
  };
}

function actorOf(request: { apiKey?: { id: string } }): string {
  return request.apiKey === undefined ? 'unknown' : `api_key:${request.apiKey.id}`;
}

export function reconciliationRoutes(rt: ReconRuntime): RouteModule {
  return (app) => registerReconciliationRoutes(app, rt);
}

// Every reconciliation route needs an `ops` key (the marker installs the check; see src/http/route-auth.ts).
const ops = { auth: { scope: 'ops' } } as const;

function registerReconciliationRoutes(app: App, rt: ReconRuntime): void {
  listExceptionsRoute(app, rt);
  getExceptionRoute(app, rt);
  resolveExceptionRoute(app, rt);
  bulkResolveRoute(app, rt, ops);
  reopenExceptionRoute(app, rt);
  getRunRoute(app, rt);
  listRunsRoute(app, rt);
  startRunRoute(app, rt);
}

function listExceptionsRoute(app: App, ctx: ReconRuntime): void {
  app.get(
    '/v1/reconciliation/exceptions',
    {
      config: ops,
      schema: {
        summary: 'List reconciliation exceptions',
        description:
          'Differences the reconciliation filed, newest first, filtered by status, class, kind and run.',
        tags: ['reconciliation'],
        querystring: ListQuery,
        response: { 200: ExceptionList, ...errorResponses() },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await listExceptions(ctx.pool, {
        status: q.status,
        class: q.class,
        kind: q.kind as ReconException['kind'] | undefined,
        runId: q.run_id,
        since: q.since === undefined ? undefined : new Date(q.since),
        afterSeq: q.cursor === undefined ? undefined : BigInt(q.cursor),
        limit: q.limit + 1,
      });
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      const hasMore = rows.length > q.limit;
      return {
        object: 'list' as const,
        data: page.map(exceptionToWire),
        has_more: hasMore,
        next_cursor: hasMore && last !== undefined ? last.seq.toString() : null,
      };
    },
  );
}

function getExceptionRoute(app: App, ctx: ReconRuntime): void {
  app.get(
    '/v1/reconciliation/exceptions/:id',
    {
      config: ops,
      schema: {
        summary: 'A reconciliation exception',
        description: 'One exception with its evidence, fix and audit trail.',
        tags: ['reconciliation'],
        params: z.object({ id: ExceptionId }),
        response: { 200: ExceptionWithHistory, ...errorResponses() },
      },
    },
    async (request) => exceptionDetail(ctx.pool, request.params.id, exceptionToWire),
  );
}

function resolveExceptionRoute(app: App, ctx: ReconRuntime): void {
  app.post(
    '/v1/reconciliation/exceptions/:id/resolve',
    {
      config: ops,
      schema: {
        summary: 'Resolve an exception',
        description: 'Marks an exception resolved with a note; audited.',
        tags: ['reconciliation'],
        params: z.object({ id: ExceptionId }),
        body: ResolveBody,
        response: { 200: ExceptionWire, ...errorResponses() },
      },
    },
    async (request) => {
      const resolved = await withTransaction(ctx.pool, (client) =>
        resolveException(client, request.params.id, request.body.note, actorOf(request)),
      );
      return exceptionToWire(resolved);
    },
  );
}

function reopenExceptionRoute(app: App, ctx: ReconRuntime): void {
  app.post(
    '/v1/reconciliation/exceptions/:id/reopen',
    {
      config: ops,
      schema: {
        summary: 'Reopen an exception',
        description: 'Reopens a resolved exception; audited.',
        tags: ['reconciliation'],
        params: z.object({ id: ExceptionId }),
        body: ReopenBody.optional(),
        response: { 200: ExceptionWire, ...errorResponses() },
      },
    },
    async (request) => {
      const reopened = await withTransaction(ctx.pool, (client) =>
        reopenException(client, request.params.id, request.body?.note, actorOf(request)),
      );
      return exceptionToWire(reopened);
    },
  );
}

/** `GET /v1/reconciliation/runs`: the runs, newest first (cursor pagination). */
function listRunsRoute(app: App, ctx: ReconRuntime): void {
  app.get(
    '/v1/reconciliation/runs',
    {
      config: ops,
      schema: {
        summary: 'List reconciliation runs',
        description: 'Reconciliation runs newest first (by start), with their reports.',
        tags: ['reconciliation'],
        querystring: listQuery({}),
        response: { 200: listOf(RunWire), ...errorResponses() },
      },
    },
    async (request) => {
      const page = pageRequestOf(request.query);
      const { rows, backwards } = await listRuns(ctx.pool, page);
      return pageOf(rows, page, backwards, runToWire);
    },
  );
}

function getRunRoute(app: App, ctx: ReconRuntime): void {
  app.get(
    '/v1/reconciliation/runs/:id',
    {
      config: ops,
      schema: {
        summary: 'A reconciliation run',
        description: 'One run with its counts by outcome.',
        tags: ['reconciliation'],
        params: z.object({ id: RunId }),
        response: { 200: RunWire, ...errorResponses() },
      },
    },
    async (request) => runToWire(await getRun(ctx.pool, request.params.id)),
  );
}

/** Runs a reconciliation as `POST /v1/reconciliation/runs` asks: internal checks, an uploaded file, or a PSP fetch. */
async function runRequested(
  rt: ReconRuntime,
  body: z.infer<typeof RunBody>,
  trigger: string,
): Promise<Record<string, unknown>> {
  const ctx = rt;
  const interval = {
    ...(body.interval_start === undefined ? {} : { intervalStart: new Date(body.interval_start) }),
    ...(body.interval_end === undefined ? {} : { intervalEnd: new Date(body.interval_end) }),
  };
  if (body.source === 'internal') {
    return reconcileFiles(rt, {}, { trigger, origin: 'api', internal: true });
  } else if (body.content !== undefined) {
    const input = contentInput(body.name ?? `${body.source}-upload`, body.content);
    return reconcileFiles(rt, body.source === 'psp' ? { psp: [input] } : { bank: [input] }, {
      trigger,
      origin: 'api',
      internal: body.internal_checks ?? false,
      ...interval,
    });
  } else if (body.source === 'psp') {
    const now = ctx.clock.now();
    const day = reportDayInterval(body.date ?? now.toISOString().slice(0, 10), now);
    const end = interval.intervalEnd ?? day.end;
    const start =
      interval.intervalStart ??
      (interval.intervalEnd === undefined ? day.start : new Date(end.getTime() - 86_400_000));
    return fetchAndReconcile(rt, { start, end }, trigger, body.internal_checks ?? false);
  } else {
    throw new AppError('validation_failed', 'content: a bank run needs the statement content', {
      field: 'content',
    });
  }
}

function startRunRoute(app: App, rt: ReconRuntime): void {
  app.post(
    '/v1/reconciliation/runs',
    {
      config: ops,
      schema: {
        summary: 'Run the reconciliation',
        description: 'Runs the reconciliation of a day (or imports a settlement report) now.',
        tags: ['reconciliation'],
        body: RunBody,
        response: { 201: RunWire, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const trigger = `api:${request.apiKey?.id ?? 'unknown'}`;
      const report = await runRequested(rt, request.body, trigger);
      const run = await getRun(rt.pool, String(report.run_id));
      return reply.code(201).send(runToWire(run));
    },
  );
}
