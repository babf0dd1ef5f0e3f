import type { App } from './app.ts';
import type { AppContext } from '../context.ts';
import { z } from 'zod';
import { errorResponses } from './schemas.ts';

/** `/metrics` in Prometheus text format, for a scraper holding a key with scope `ops`. */
export function registerMetricsRoute(app: App, ctx: AppContext): void {
  app.get(
    '/metrics',
    {
      config: { auth: { scope: 'ops' } },
      schema: {
        summary: 'Prometheus metrics',
        description: 'The process metrics in the Prometheus text format.',
        tags: ['operations'],
        response: {
          200: {
            description: 'Prometheus text exposition format',
            content: { 'text/plain': { schema: z.string() } },
          },
          ...errorResponses(),
        },
      },
    },
    async (_request, reply) => {
      reply.header('Content-Type', ctx.metrics.contentType);
      return await ctx.metrics.metrics();
    },
  );
}
