/**
 * The operations dashboard (docs/dashboard.md): the single-page app under /dashboard, its overview figures, and
 * the dead-letter routes it (and any ops key) works the queue with. Its other pages call the API routes with the
 * operator's session (src/operators/).
 */
import { fileURLToPath } from 'node:url';
import type { RouteModule } from '../http/app.ts';
import { apiKeyRoutes, type ApiKeySources, type AuditWriter } from './admin-http.ts';
import { deadLetterRoutes, type DeadLetterDeps } from './dead-letters-http.ts';
import { overviewRoute, type OverviewSources } from './overview.ts';
import { bankHistoryRoute, type BankHistorySource } from './seller-history.ts';
import { staticRoutes } from './static.ts';
import { timelineRoute, type TimelineSources } from './timeline.ts';

export type { ActivityDay, OverviewSources } from './overview.ts';
export type { TimelineSources } from './timeline.ts';
export type { ApiKeySources, ApiKeyView, AuditWriter } from './admin-http.ts';
export type { BankChange, BankHistorySource } from './seller-history.ts';
export { mergeDays, successRate } from './overview.ts';

export interface DashboardDeps extends DeadLetterDeps {
  overview: OverviewSources;
  timeline: TimelineSources;
  /** A seller's bank-detail changes (the sellers module). */
  bankHistory: BankHistorySource;
  /** API keys, managed by admins (the apikeys module), and the audit log their changes are written to. */
  apiKeys: ApiKeySources;
  audit: AuditWriter;
  /** Where the built app is (default: dist/dashboard of the project). */
  assetsDir?: string;
}

export interface DashboardModule {
  routes: RouteModule;
}

const DEFAULT_ASSETS = fileURLToPath(new URL('../../dist/dashboard', import.meta.url));

export function createDashboard(deps: DashboardDeps): DashboardModule {
  return {
    routes: (app, ctx) => {
      deadLetterRoutes(app, ctx, deps);
      overviewRoute(app, ctx, deps.overview);
      timelineRoute(app, ctx, deps.timeline);
      bankHistoryRoute(app, ctx, deps.bankHistory);
      apiKeyRoutes(app, ctx, deps.apiKeys, deps.audit);
      staticRoutes(app, deps.assetsDir ?? DEFAULT_ASSETS);
    },
  };
}
