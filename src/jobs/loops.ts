import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../log.ts';

/**
 * Failure isolation for background loops: each step of a worker's tick runs and fails on its own, and each item
 * of a step too. A failure is logged and counted (`bursar_background_loop_failures_total{loop}`), then the next
 * step or item goes on; nothing one bad row does stalls the rest.
 */
export const LOOP_FAILURES_METRIC = 'bursar_background_loop_failures_total';

export type LoopFailureCounter = Pick<Counter<'loop'>, 'inc'>;

/** The failure counter of `registry`, created on first use (one per registry, shared by every worker). */
export function loopFailureCounter(registry: Registry): LoopFailureCounter {
  const existing = registry.getSingleMetric(LOOP_FAILURES_METRIC);
  if (existing instanceof Counter) return existing as Counter<'loop'>;
  return new Counter({
    name: LOOP_FAILURES_METRIC,
    help: 'Failures in background loops (a whole step, or one item of it), by loop; the loop goes on.',
    labelNames: ['loop'],
    registers: [registry],
  });
}

export interface LoopGuard {
  log: Logger;
  failures: LoopFailureCounter;
}

/** The guard of a process context: its logger and the failure counter of its metrics registry. */
export function loopGuard(ctx: { log: Logger; metrics: Registry }): LoopGuard {
  return { log: ctx.log, failures: loopFailureCounter(ctx.metrics) };
}

export interface LoopStep {
  /** Label of the metric and the log line: `sweep`, `poll`, `psp_events`, `psp_fees`, `outbox`, `idempotency_purge`… */
  name: string;
  run: () => Promise<unknown>;
}

/** Runs every step in turn; one that throws is logged and counted, and the next one runs anyway. */
export async function runSteps(guard: LoopGuard, steps: LoopStep[]): Promise<{ failed: string[] }> {
  const failed: string[] = [];
  for (const step of steps) {
    try {
      await step.run();
    } catch (error) {
      failed.push(step.name);
      guard.failures.inc({ loop: step.name });
      guard.log.error({ err: error, loop: step.name }, 'background loop step failed; the other steps go on');
    }
  }
  return { failed };
}

/**
 * Handles each item on its own: an item whose handler throws is logged (with `describe(item)`) and counted, and
 * the following items are handled anyway. Returns how many failed.
 */
export async function forEachIsolated<T>(
  guard: LoopGuard,
  loop: string,
  items: Iterable<T>,
  describe: (item: T) => Record<string, unknown>,
  handle: (item: T) => Promise<void>,
): Promise<number> {
  let failures = 0;
  for (const item of items) {
    try {
      await handle(item);
    } catch (error) {
      failures++;
      guard.failures.inc({ loop });
      guard.log.error(
        { err: error, loop, ...describe(item) },
        'background loop item failed; skipped until next time',
      );
    }
  }
  return failures;
}

/** The longest a background loop waits between ticks while its steps keep failing. */
export const MAX_TICK_BACKOFF_MS = 60_000;

/**
 * The wait before a loop's next tick: its interval while all is well; doubled for every tick in a row that had a
 * failing step (a database that is down is not hammered), up to `MAX_TICK_BACKOFF_MS` (never below the interval).
 */
export function nextTickDelayMs(intervalMs: number, failedTicksInARow: number): number {
  if (failedTicksInARow <= 0) return intervalMs;
  const backedOff = intervalMs * 2 ** Math.min(failedTicksInARow, 16);
  return Math.max(intervalMs, Math.min(backedOff, MAX_TICK_BACKOFF_MS));
}
