import type { App } from './app.ts';
import type { AppContext } from '../context.ts';
import { requireScope } from './auth.ts';

/** `/metrics` in Prometheus text format, for a scraper holding a key with scope `ops`. */
export function registerMetricsRoute(app: App, ctx: AppContext): void {
  app.get('/metrics', { preHandler: requireScope(ctx.pool, 'ops') }, async (_request, reply) => {
    reply.header('Content-Type', ctx.metrics.contentType);
    return await ctx.metrics.metrics();
  });
}
