import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { forEachIsolated, LOOP_FAILURES_METRIC, loopGuard, runSteps } from '../../src/jobs/loops.ts';
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
