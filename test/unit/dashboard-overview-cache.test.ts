import { describe, expect, it } from 'vitest';
import { cachedActivity, type ActivityDay, type OverviewSources } from '../../src/dashboard/overview.ts';
import type { Queryable } from '../../src/db/pool.ts';

const db = {} as Queryable;

/** A source with one row per day since `from`, counting its reads by whether they start today. */
function source(today: string) {
  const reads = { window: 0, today: 0 };
  const read = async (_db: Queryable, from: Date): Promise<ActivityDay[]> => {
    const day = from.toISOString().slice(0, 10);
    if (day === today) {
      reads.today++;
      return [{ day: today, currency: 'USD', succeeded: 100 + reads.today }];
    }
    reads.window++;
    return [
      { day, currency: 'USD', succeeded: reads.window },
      { day: today, currency: 'USD', succeeded: 100 + reads.today },
    ];
  };
  const sources: OverviewSources = {
    activity: [read],
    openExceptions: async () => ({}),
    openDeadLetters: async () => ({}),
  };
  return { reads, sources };
}

describe('the overview activity cache', () => {
  it('reads the closed days once per TTL and today live on every call, never counting today twice', async () => {
    const { reads, sources } = source('2026-12-01');
    let now = new Date('2026-12-01T10:00:00Z');
    const activity = cachedActivity(sources, () => now, 60_000);
    const from = new Date('2026-11-02T00:00:00Z');
    const first = (await activity(db, from)).flat();
    expect(first.filter((d) => d.day === '2026-12-01')).toEqual([
      { day: '2026-12-01', currency: 'USD', succeeded: 101 },
    ]);
    expect(first.filter((d) => d.day === '2026-11-02')).toHaveLength(1);
    await activity(db, from);
    await activity(db, from);
    expect(reads).toEqual({ window: 1, today: 3 });
    now = new Date('2026-12-02T00:01:00Z');
    await activity(db, new Date('2026-11-03T00:00:00Z'));
    // A new day: the window is read again at once (and the fake counts the new today's live read as a window read).
    expect(reads.window).toBe(3);
  });
});
