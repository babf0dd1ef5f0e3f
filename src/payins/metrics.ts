import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Pool } from '../db/pool.ts';

/** The pay-in metrics, registered once per registry (one per process context). */
export interface PayinMetrics {
  pspLatency: Histogram<'operation' | 'outcome'>;
  retries: Counter<'queue'>;
  deadLetters: Counter<'queue'>;
  riskDecisions: Counter<'decision' | 'provider'>;
  idempotentReplays: Counter;
  inFlightConflicts: Counter;
  transitions: Counter<'to'>;
  illegalTransitions: Counter;
}

const byRegistry = new WeakMap<Registry, PayinMetrics>();

export function payinMetrics(registry: Registry, pool: Pool): PayinMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  new Gauge({
    name: 'bursar_payment_orders',
    help: 'Payment orders by status (read from the database at scrape time).',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const result = await pool.query<{ status: string; n: bigint }>(
          'SELECT payment_order_status AS status, count(*)::int8 AS n FROM payins.payment_order GROUP BY 1',
        );
        for (const row of result.rows) this.set({ status: row.status }, Number(row.n));
      } catch {
        // A scrape while the database is away reports nothing rather than failing the whole page.
      }
    },
  });
  const metrics: PayinMetrics = {
    pspLatency: new Histogram({
      name: 'bursar_psp_call_duration_seconds',
      help: 'Latency of calls to the PSP, by operation and outcome.',
      labelNames: ['operation', 'outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    retries: new Counter({
      name: 'bursar_job_retries_total',
      help: 'Job attempts scheduled again after a transient failure.',
      labelNames: ['queue'],
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'bursar_dead_letters_total',
      help: 'Jobs moved to the dead-letter queue after their attempts ran out.',
      labelNames: ['queue'],
      registers: [registry],
    }),
    riskDecisions: new Counter({
      name: 'bursar_risk_decisions_total',
      help: 'Risk decisions, by decision and provider.',
      labelNames: ['decision', 'provider'],
      registers: [registry],
    }),
    idempotentReplays: new Counter({
      name: 'bursar_idempotent_replays_total',
      help: 'Requests answered with the stored response of an earlier request with the same Idempotency-Key.',
      registers: [registry],
    }),
    inFlightConflicts: new Counter({
      name: 'bursar_idempotency_in_flight_conflicts_total',
      help: 'Requests refused with 429 request_in_progress because the same Idempotency-Key was being processed.',
      registers: [registry],
    }),
    transitions: new Counter({
      name: 'bursar_payment_order_transitions_total',
      help: 'Payment order status changes applied, by new status.',
      labelNames: ['to'],
      registers: [registry],
    }),
    illegalTransitions: new Counter({
      name: 'bursar_payment_order_illegal_transitions_total',
      help: 'Status changes refused by the state machine.',
      registers: [registry],
    }),
  };
  byRegistry.set(registry, metrics);
  return metrics;
}

/** Times a PSP call into the latency histogram. */
export async function timedPspCall<T>(
  metrics: PayinMetrics,
  operation: string,
  call: () => Promise<T>,
): Promise<T> {
  const end = metrics.pspLatency.startTimer({ operation });
  try {
    const result = await call();
    end({ outcome: 'ok' });
    return result;
  } catch (error) {
    const failureClass = (error as { failureClass?: unknown }).failureClass;
    end({ outcome: typeof failureClass === 'string' ? failureClass : 'error' });
    throw error;
  }
}
