import type { Clock } from '../clock.ts';
import type { AppContext } from '../context.ts';
import type { Pool } from '../db/pool.ts';
import type { Logger } from '../log.ts';
import type { Finding } from './domain/types.ts';
import { cureFinding } from './filing.ts';
import type { FixDeps, PayinSide } from './fixes.ts';
import { reconMetrics, type ReconMetrics } from './metrics.ts';
import type { PayoutSide } from './payouts-port.ts';
import type { RunCounters } from './report.ts';
import { loadReconConfig, type ReconConfig } from './config.ts';
import type { FileInput } from './input.ts';
import type { RefundSide } from './refunds-check.ts';

/** Downloads the PSP's report of [start, end) to somewhere `open()` can read it; `cleanup` removes it. */
export type ReportFetcher = (interval: {
  start: Date;
  end: Date;
}) => Promise<FileInput & { cleanup?: () => Promise<void> }>;

/** Everything a reconciliation run needs, built once by `createReconciliation`. */
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
  /** Our refunds (the refunds module), for refunds the PSP never reported; absent: not checked. */
  refunds: RefundSide | undefined;
  cure(runId: string, finding: Finding, effectiveAt: Date | undefined, counters: RunCounters): Promise<void>;
}

export interface ReconRuntimeDeps {
  ctx: AppContext;
  /** The pay-in module's settling functions (a cure settles a pay-in the way its webhook would). */
  payins: PayinSide;
  /** Our payouts as reconciliation needs them (payouts-port.ts). */
  payouts: PayoutSide;
  /** How the daily run downloads the PSP's report; none: only files given by hand are reconciled. */
  fetchReport?: ReportFetcher | undefined;
  refunds?: RefundSide | undefined;
  /** Settings over those of the environment (BURSAR_RECON_*). */
  config?: Partial<ReconConfig>;
}

export function buildReconRuntime(deps: ReconRuntimeDeps): ReconRuntime {
  const { ctx } = deps;
  const config = { ...loadReconConfig(process.env), ...(deps.config ?? {}) };
  const rt: ReconRuntime = {
    pool: ctx.pool,
    log: ctx.log.child({ module: 'reconciliation' }),
    clock: ctx.clock,
    metrics: reconMetrics(ctx.metrics, ctx.pool),
    fix: { payins: deps.payins, payouts: deps.payouts },
    config,
    settlementWindowHours: config.settlementWindowHours,
    chunkSize: config.chunkSize,
    fetchReport: deps.fetchReport,
    refunds: deps.refunds,
    cure: (runId, finding, effectiveAt, counters) => cureFinding(rt, runId, finding, effectiveAt, counters),
  };
  return rt;
}
