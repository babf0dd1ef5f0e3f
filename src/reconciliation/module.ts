import type { RouteModule } from '../http/app.ts';
import type { BackgroundService } from '../services.ts';
import { reconciliationRoutes } from './http.ts';
import { buildReconRuntime, type ReconRuntime, type ReconRuntimeDeps } from './runtime.ts';
import { createReconciliationScheduler } from './scheduler.ts';

export type ReconciliationDeps = ReconRuntimeDeps;

export interface ReconciliationModule {
  routes: RouteModule;
  /** The daily run on pg-boss cron. */
  scheduler: BackgroundService;
  services: BackgroundService[];
  /** What the use cases (daily.ts, service.ts) and the CLI run with. */
  runtime: ReconRuntime;
}

/** Builds the reconciliation module: report and statement readers, matching, cures and exception queues. */
export function createReconciliation(deps: ReconciliationDeps): ReconciliationModule {
  const runtime = buildReconRuntime(deps);
  const scheduler = createReconciliationScheduler(runtime);
  return { routes: reconciliationRoutes(runtime), scheduler, services: [scheduler], runtime };
}
