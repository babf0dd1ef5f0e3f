import type { App } from './app.ts';
import type { AppContext } from '../context.ts';
import { migrationStatus } from '../db/migrate.ts';
import { AppError } from '../errors.ts';
import { z } from 'zod';
import { errorResponses } from './schemas.ts';

// Public (config.auth): probes carry no key. They say only whether the process and its database answer.
const HEALTHZ = {
  config: { auth: 'public' },
  schema: { response: { 200: z.object({ status: z.literal('ok') }), ...errorResponses() } },
} as const;
const READYZ = {
  config: { auth: 'public' },
  schema: {
    response: {
      200: z.object({ status: z.literal('ready'), migrations: z.number().int() }),
      ...errorResponses(),
    },
  },
} as const;

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

/** `/healthz`: the process is alive. `/readyz`: the database answers and its migrations are current. */
export function registerHealthRoutes(app: App, ctx: AppContext): void {
  app.get('/healthz', HEALTHZ, async () => ({ status: 'ok' as const }));

  app.get('/readyz', READYZ, async () => {
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
