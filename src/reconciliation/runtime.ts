import type { Clock } from '../clock.ts';
import type { AppContext } from '../context.ts';
import type { Pool } from '../db/pool.ts';
import type { Logger } from '../log.ts';
import { payinsRuntime } from '../payins/runtime.ts';
import { transitionDeps } from '../payins/service.ts';
import type { Finding } from './domain/types.ts';
import { cureFinding } from './filing.ts';
import type { FixDeps } from './fixes.ts';
import { reconMetrics, type ReconMetrics } from './metrics.ts';
import { defaultPayoutSide, type PayoutSide } from './payouts-port.ts';
import type { RunCounters } from './report.ts';
import { loadReconConfig, type ReconConfig } from './config.ts';
import type { FileInput } from './input.ts';

/** Downloads the PSP's report of [start, end) to somewhere `open()` can read it; `cleanup` removes it. */
export type ReportFetcher = (interval: {
  start: Date;
  end: Date;
}) => Promise<FileInput & { cleanup?: () => Promise<void> }>;

/** Everything a reconciliation run needs, built once per process context. */
export interface ReconRuntime {
  pool: Pool;
  log: Logger;
  clock: Clock;
  metrics: ReconMetrics;
  fix: FixDeps;
  config: ReconConfig;
  settlementWindowHours: number;
  chunkSize: number;
  /** Downloads the PSP's settlement report for [start, end) (the daily run); see psp-fetch.ts. */
  fetchReport: ReportFetcher | undefined;
  cure(runId: string, finding: Finding, effectiveAt: Date | undefined, counters: RunCounters): Promise<void>;
}

export interface ReconOverrides {
  payouts?: PayoutSide;
  config?: Partial<ReconConfig>;
  fetchReport?: ReconRuntime['fetchReport'];
}

const runtimes = new WeakMap<AppContext, ReconRuntime>();
let defaultFetcher: ((ctx: AppContext) => ReconRuntime['fetchReport']) | undefined;

/** The composition root names how the daily run downloads the PSP's report (the Stripe adapter's sandbox/real API). */
export function setDefaultReportFetcher(factory: (ctx: AppContext) => ReconRuntime['fetchReport']): void {
  defaultFetcher = factory;
}

export function reconciliationRuntime(ctx: AppContext, overrides: ReconOverrides = {}): ReconRuntime {
  const existing = runtimes.get(ctx);
  if (existing !== undefined && Object.keys(overrides).length === 0) return existing;
  const config = { ...(existing?.config ?? loadReconConfig(process.env)), ...(overrides.config ?? {}) };
  const rt: ReconRuntime = {
    pool: ctx.pool,
    log: ctx.log.child({ module: 'reconciliation' }),
    clock: ctx.clock,
    metrics: reconMetrics(ctx.metrics, ctx.pool),
    fix: {
      payins: () => transitionDeps(payinsRuntime(ctx)),
      payouts: overrides.payouts ?? existing?.fix.payouts ?? defaultPayoutSide,
    },
    config,
    settlementWindowHours: config.settlementWindowHours,
    chunkSize: config.chunkSize,
    fetchReport: overrides.fetchReport ?? existing?.fetchReport ?? defaultFetcher?.(ctx),
    cure: (runId, finding, effectiveAt, counters) => cureFinding(rt, runId, finding, effectiveAt, counters),
  };
  runtimes.set(ctx, rt);
  return rt;
}
