import type { App } from './app.ts';
import type { AppContext } from '../context.ts';
import { migrationStatus } from '../db/migrate.ts';
import { AppError } from '../errors.ts';
import { z } from 'zod';
import { errorResponses } from './schemas.ts';

// Public (config.auth): probes carry no key. They say only whether the process and its database answer.
const HEALTHZ = {
  config: { auth: 'public' },
  schema: {
    summary: 'Liveness',
    description: 'Answers 200 while the process serves HTTP; public.',
    tags: ['operations'],
    response: { 200: z.object({ status: z.literal('ok') }), ...errorResponses() },
  },
} as const;
const READYZ = {
  config: { auth: 'public' },
  schema: {
    summary: 'Readiness',
    description: 'Answers 200 when the database and the background services are well, 503 otherwise; public.',
    tags: ['operations'],
    response: {
      200: z.object({ status: z.literal('ready'), migrations: z.number().int() }),
      ...errorResponses(),
    },
  },
} as const;

/**
 * What the process knows about its own readiness besides the database: draining after SIGTERM, and the reasons
 * its background services are degraded (a transient failure being retried). One per app, reached as
 * `app.readiness`; the process lifecycle (src/cli/start.ts) sets it.
 */
export interface Readiness {
  /** From now on `/readyz` answers 503 `draining`. */
  drain(): void;
  draining(): boolean;
  /** Marks `source` degraded with `reason` (shown by `/readyz`), or recovered when `reason` is undefined. */
  report(source: string, reason: string | undefined): void;
  /** The current reasons, one per degraded source. */
  reasons(): string[];
}

/** The answer of a draining process: `/readyz` from the signal on, and every request once the server closes. */
export function drainingError(): AppError {
  return new AppError('service_unavailable', 'draining: the process is shutting down', {
    retryAfterSeconds: 5,
  });
}

export function createReadiness(): Readiness {
  let drainingNow = false;
  const degraded = new Map<string, string>();
  return {
    drain: () => {
      drainingNow = true;
    },
    draining: () => drainingNow,
    report: (source, reason) => {
      if (reason === undefined) degraded.delete(source);
      else degraded.set(source, reason);
    },
    reasons: () => [...degraded].map(([source, reason]) => `${source}: ${reason}`),
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    readiness: Readiness;
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `/healthz`: the process is alive. `/readyz`: the process is not draining, its background services are not
 * degraded, the database answers and its migrations are current.
 */
export function registerHealthRoutes(app: App, ctx: AppContext): void {
  const readiness = createReadiness();
  app.decorate('readiness', readiness);
  app.get('/healthz', HEALTHZ, async () => ({ status: 'ok' as const }));

  app.get('/readyz', READYZ, async () => {
    if (readiness.draining()) throw drainingError();
    const reasons = readiness.reasons();
    if (reasons.length > 0) {
      throw new AppError('service_unavailable', `degraded: ${reasons.join('; ')}`, { retryAfterSeconds: 5 });
    }
    let status;
    try {
      status = await withTimeout(migrationStatus(ctx.pool), 2_000);
    } catch (error) {
      throw new AppError('service_unavailable', `database unreachable: ${(error as Error).message}`, {
        retryAfterSeconds: 5,
      });
    }
    if (status.modified.length > 0) {
      throw new AppError(
        'service_unavailable',
        `applied migrations were modified: ${status.modified.join(', ')}`,
        {
          retryAfterSeconds: 30,
        },
      );
    }
    if (status.pending.length > 0) {
      throw new AppError('service_unavailable', `migrations pending: ${status.pending.join(', ')}`, {
        retryAfterSeconds: 5,
      });
    }
    return { status: 'ready' as const, migrations: status.applied.length };
  });
}
