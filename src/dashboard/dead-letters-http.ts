import { z } from 'zod';
import type { AppContext } from '../context.ts';
import type { App } from '../http/app.ts';
import { errorResponses, listOf, Timestamp } from '../http/schemas.ts';
import { AppError } from '../errors.ts';
import {
  getDeadLetter,
  listDeadLetters,
  replayDeadLetter,
  type DeadLetter,
  type ReplayHook,
} from '../jobs/dead-letters.ts';
import type { JobSender } from '../jobs/queue.ts';

const DeadLetterWire = z.object({
  id: z.string(),
  object: z.literal('dead_letter'),
  queue: z.string(),
  subject: z.string(),
  payload: z.record(z.string(), z.unknown()),
  reason: z.string(),
  attempts: z.number().int(),
  created_at: Timestamp,
  replayed_at: Timestamp.nullable(),
});

function toWire(letter: DeadLetter): z.infer<typeof DeadLetterWire> {
  return {
    id: letter.id,
    object: 'dead_letter',
    queue: letter.queue,
    subject: letter.subject,
    payload: letter.payload,
    reason: letter.reason,
    attempts: letter.attempts,
    created_at: letter.createdAt.toISOString(),
    replayed_at: letter.replayedAt?.toISOString() ?? null,
  };
}

const Params = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/) });

export interface DeadLetterDeps {
  /** What each queue's owner does before its dead letter is sent again (src/compose.ts). */
  replayHooks: Record<string, ReplayHook>;
  /** The job queue replays are sent on: started on first use, released when the app closes. */
  queue: { jobs: JobSender; ready(): Promise<void>; release(): Promise<void> };
}

function senderOnFirstUse(app: App, queue: DeadLetterDeps['queue']): () => Promise<JobSender> {
  let started: Promise<void> | undefined;
  app.addHook('onClose', async () => {
    if (started === undefined) return;
    await started.catch(() => undefined);
    await queue.release();
  });
  return async () => {
    started ??= queue.ready().catch((error: unknown) => {
      started = undefined;
      throw error;
    });
    await started;
    return queue.jobs;
  };
}

/** `GET /v1/dead_letters`, `GET /v1/dead_letters/{id}`, `POST /v1/dead_letters/{id}/replay` (scope ops). */
export function deadLetterRoutes(app: App, ctx: AppContext, deps: DeadLetterDeps): void {
  deadLetterReads(app, ctx);
  replayRoute(app, ctx, deps);
}

function deadLetterReads(app: App, ctx: AppContext): void {
  app.get(
    '/v1/dead_letters',
    {
      config: { auth: { scope: 'ops' } },
      schema: {
        summary: 'List dead letters',
        description:
          'Work that failed all its attempts (pay-in executions, PSP events, webhook deliveries…), oldest first. Replayed letters only with `include_replayed=true`.',
        tags: ['operations'],
        querystring: z.object({
          include_replayed: z.enum(['true', 'false']).optional(),
          queue: z
            .string()
            .regex(/^[a-z0-9_.-]{1,64}$/)
            .optional(),
        }),
        response: { 200: listOf(DeadLetterWire), ...errorResponses() },
      },
    },
    async (request) => {
      const letters = await listDeadLetters(ctx.pool, {
        includeReplayed: request.query.include_replayed === 'true',
      });
      const wanted = request.query.queue;
      const data = letters.filter((l) => wanted === undefined || l.queue === wanted).slice(0, 1000);
      return { object: 'list' as const, data: data.map(toWire), has_more: letters.length > 1000 };
    },
  );

  app.get(
    '/v1/dead_letters/:id',
    {
      config: { auth: { scope: 'ops' } },
      schema: {
        summary: 'Retrieve a dead letter',
        description: 'One dead letter with the job payload and the last failure.',
        tags: ['operations'],
        params: Params,
        response: { 200: DeadLetterWire, ...errorResponses() },
      },
    },
    async (request) => {
      const letter = await getDeadLetter(ctx.pool, request.params.id);
      if (!letter) throw new AppError('not_found', `no dead letter ${request.params.id}`);
      return toWire(letter);
    },
  );
}

function replayRoute(app: App, ctx: AppContext, deps: DeadLetterDeps): void {
  const sender = senderOnFirstUse(app, deps.queue);
  app.post(
    '/v1/dead_letters/:id/replay',
    {
      config: { auth: { scope: 'ops' } },
      schema: {
        summary: 'Replay a dead letter',
        description:
          'Sends the work again, once: the claim, the owning module’s reset and the new job commit together, so replaying twice (even at once) sends one job. 409 when it was replayed already.',
        tags: ['operations'],
        params: Params,
        response: { 200: DeadLetterWire, ...errorResponses() },
      },
    },
    async (request) => {
      const result = await replayDeadLetter(ctx.pool, await sender(), request.params.id, deps.replayHooks);
      if (result.outcome !== 'replayed') {
        throw result.outcome === 'not_found'
          ? new AppError('not_found', `no dead letter ${request.params.id}`)
          : new AppError('dead_letter_replayed', `dead letter ${request.params.id} was replayed already`);
      }
      request.log.info(
        { deadLetterId: request.params.id, queue: result.letter.queue },
        'dead letter replayed',
      );
      const after = await getDeadLetter(ctx.pool, request.params.id);
      return toWire(after ?? result.letter);
    },
  );
}
