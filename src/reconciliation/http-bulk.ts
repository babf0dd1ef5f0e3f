import { z } from 'zod';
import type { Queryable } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { AppError } from '../errors.ts';
import type { App } from '../http/app.ts';
import { errorResponses } from '../http/schemas.ts';
import { EXCEPTION_CLASSES, EXCEPTION_KINDS } from './domain/types.ts';
import { BULK_RESOLVE_MAX, exceptionHistory, getException, resolveMatching } from './exceptions-store.ts';
import type { ExceptionWithHistory } from './http-schemas.ts';
import type { ReconRuntime } from './runtime.ts';

/**
 * `POST /v1/reconciliation/exceptions/resolve`: resolves the open exceptions a filter names with one note, and
 * the detail of one exception as `GET /v1/reconciliation/exceptions/{id}` (and `bursar exceptions show`) prints it.
 */

const BulkBody = z
  .object({
    filter: z
      .object({
        kind: z.enum(EXCEPTION_KINDS as [string, ...string[]]).optional(),
        class: z.enum(EXCEPTION_CLASSES).optional(),
        run_id: z
          .string()
          .regex(/^rrun_[A-Za-z0-9]+$/)
          .optional(),
        created_before: z.iso.datetime({ offset: true }).optional(),
      })
      .strict()
      .refine((f) => Object.values(f).some((v) => v !== undefined), {
        message: 'name at least one of kind, class, run_id, created_before',
      }),
    note: z.string().trim().min(1).max(2000),
  })
  .strict();

const BulkResult = z.object({
  object: z.literal('reconciliation_bulk_resolution'),
  resolved: z.number().int().describe(`how many were resolved (at most ${BULK_RESOLVE_MAX} per call)`),
  ids: z.array(z.string()),
  remaining: z.number().int().describe('open exceptions that still match (call again to resolve them)'),
});

export type BulkFilterWire = z.infer<typeof BulkBody>['filter'];

/** Resolves the open exceptions matching a filter with one note (shared by the route and the CLI). */
export async function resolveByFilter(
  rt: Pick<ReconRuntime, 'pool'>,
  filter: BulkFilterWire,
  note: string,
  actor: string,
): Promise<z.infer<typeof BulkResult>> {
  const { ids, remaining } = await withTransaction(rt.pool, (client) =>
    resolveMatching(
      client,
      {
        kind: filter.kind,
        class: filter.class,
        runId: filter.run_id,
        createdBefore: filter.created_before === undefined ? undefined : new Date(filter.created_before),
      },
      note,
      actor,
    ),
  );
  return { object: 'reconciliation_bulk_resolution', resolved: ids.length, ids, remaining };
}

/** One exception with its history, exactly as the API answers it. */
export async function exceptionDetail(
  db: Queryable,
  id: string,
  toWire: (e: NonNullable<Awaited<ReturnType<typeof getException>>>) => Omit<ExceptionWithHistory, 'history'>,
): Promise<ExceptionWithHistory> {
  const exception = await getException(db, id);
  if (exception === undefined) throw new AppError('reconciliation_exception_not_found', `no exception ${id}`);
  const history = await exceptionHistory(db, exception.id);
  return {
    ...toWire(exception),
    history: history.map((step) => ({
      at: step.at.toISOString(),
      action: step.action,
      actor: step.actor,
      note: step.note,
    })),
  };
}

export function bulkResolveRoute(app: App, rt: ReconRuntime, config: { auth: { scope: 'ops' } }): void {
  app.post(
    '/v1/reconciliation/exceptions/resolve',
    {
      config,
      schema: {
        summary: 'Resolve exceptions in bulk',
        description:
          'Resolves every open exception matching the filter (oldest first, at most 1000 per call) with one note; each gets its own history and audit row naming the key.',
        tags: ['reconciliation'],
        body: BulkBody,
        response: { 200: BulkResult, ...errorResponses() },
      },
    },
    async (request) =>
      resolveByFilter(
        rt,
        request.body.filter,
        request.body.note,
        request.apiKey === undefined ? 'unknown' : `api_key:${request.apiKey.id}`,
      ),
  );
}
