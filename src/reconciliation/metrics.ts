import { Counter, Gauge, type Registry } from 'prom-client';
import type { Pool } from '../db/pool.ts';

/** Reconciliation's metrics, registered once per registry (one per process context). */
export interface ReconMetrics {
  exceptions: Counter<'class' | 'kind'>;
  lines: Counter<'source' | 'outcome'>;
  runs: Counter<'kind' | 'status'>;
}

const byRegistry = new WeakMap<Registry, ReconMetrics>();

export function reconMetrics(registry: Registry, pool: Pool): ReconMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  new Gauge({
    name: 'bursar_reconciliation_open_exceptions',
    help: 'Open reconciliation exceptions by class and kind (read from the database at scrape time).',
    labelNames: ['class', 'kind'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const result = await pool.query<{ class: string; kind: string; n: bigint }>(
          `SELECT class, kind, count(*)::int8 AS n FROM recon.exceptions WHERE status = 'open' GROUP BY 1, 2`,
        );
        for (const row of result.rows) this.set({ class: row.class, kind: row.kind }, Number(row.n));
      } catch {
        // A scrape while the database is away reports nothing rather than failing the whole page.
      }
    },
  });
  const metrics: ReconMetrics = {
    exceptions: new Counter({
      name: 'bursar_reconciliation_exceptions_total',
      help: 'Reconciliation exceptions filed, by class (auto_fixed, finance, investigation) and kind.',
      labelNames: ['class', 'kind'],
      registers: [registry],
    }),
    lines: new Counter({
      name: 'bursar_reconciliation_lines_total',
      help: 'Settlement-report and bank-statement lines applied, by source and outcome.',
      labelNames: ['source', 'outcome'],
      registers: [registry],
    }),
    runs: new Counter({
      name: 'bursar_reconciliation_runs_total',
      help: 'Reconciliation runs, by kind and final status.',
      labelNames: ['kind', 'status'],
      registers: [registry],
    }),
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
