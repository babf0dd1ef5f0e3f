import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  forEachIsolated,
  LOOP_FAILURES_METRIC,
  loopGuard,
  MAX_TICK_BACKOFF_MS,
  nextTickDelayMs,
  runSteps,
} from '../../src/jobs/loops.ts';
import { createLogger } from '../../src/log.ts';

async function failures(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric(LOOP_FAILURES_METRIC)?.get();
  return Object.fromEntries((metric?.values ?? []).map((value) => [String(value.labels.loop), value.value]));
}

describe('background loop isolation', () => {
  it('a step that throws is counted under its loop label and the following steps still run', async () => {
    const registry = new Registry();
    const guard = loopGuard({ log: createLogger('silent'), metrics: registry });
    const ran: string[] = [];
    const result = await runSteps(guard, [
      { name: 'sweep', run: async () => ran.push('sweep') },
      {
        name: 'poll',
        run: async () => {
          throw new Error('psp down');
        },
      },
      { name: 'outbox', run: async () => ran.push('outbox') },
      { name: 'idempotency_purge', run: async () => ran.push('idempotency_purge') },
    ]);
    expect(result.failed).toEqual(['poll']);
    expect(ran).toEqual(['sweep', 'outbox', 'idempotency_purge']);
    expect(await failures(registry)).toEqual({ poll: 1 });
  });

  it('an item that throws is skipped and counted; the items after it are handled', async () => {
    const registry = new Registry();
    const guard = loopGuard({ log: createLogger('silent'), metrics: registry });
    const handled: number[] = [];
    const failed = await forEachIsolated(
      guard,
      'sweep',
      [1, 2, 3, 4],
      (item) => ({ item }),
      async (item) => {
        if (item === 2) throw new Error('bad row');
        handled.push(item);
      },
    );
    expect(failed).toBe(1);
    expect(handled).toEqual([1, 3, 4]);
    expect(await failures(registry)).toEqual({ sweep: 1 });
    // The same registry gives the same counter to every loop (one metric per process).
    expect(loopGuard({ log: createLogger('silent'), metrics: registry }).failures).toBe(guard.failures);
  });
});

describe('background loop backoff', () => {
  it('waits its interval while all is well, and backs off (doubling, capped) while steps keep failing', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 100 }),
        (interval, failed) => {
          const delay = nextTickDelayMs(interval, failed);
          if (failed === 0) return delay === interval;
          const next = nextTickDelayMs(interval, failed + 1);
          return delay >= interval && delay <= Math.max(interval, MAX_TICK_BACKOFF_MS) && next >= delay;
        },
      ),
    );
    expect(nextTickDelayMs(300, 1)).toBe(600);
    expect(nextTickDelayMs(300, 3)).toBe(2_400);
    expect(nextTickDelayMs(300, 50)).toBe(MAX_TICK_BACKOFF_MS);
  });
});
