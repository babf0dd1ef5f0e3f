import { z } from 'zod';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/pool.ts';
import type { App } from '../http/app.ts';
import { errorResponses } from '../http/schemas.ts';
import { assertCurrency, formatAmount } from '../money/index.ts';

/** One day of one currency's activity, in minor units and counts (each module reports its own part). */
export interface ActivityDay {
  day: string;
  currency: string;
  volumeMinor?: bigint;
  succeeded?: number;
  failed?: number;
  refundedMinor?: bigint;
  refunds?: number;
  disputedMinor?: bigint;
  disputes?: number;
}

/** What the home page is built from, each read by the module that owns it (wired in src/compose.ts). */
export interface OverviewSources {
  activity: Array<(db: Queryable, from: Date) => Promise<ActivityDay[]>>;
  openExceptions(db: Queryable): Promise<Record<string, number>>;
  openDeadLetters(db: Queryable): Promise<Record<string, number>>;
}

const DayWire = z.object({
  day: z.string(),
  currency: z.string(),
  volume: z.string().describe('succeeded pay-ins, major units'),
  succeeded: z.number().int(),
  failed: z.number().int(),
  success_rate: z.string().nullable().describe('succeeded / (succeeded + failed), as a percentage string'),
  refunded: z.string(),
  refunds: z.number().int(),
  disputed: z.string(),
  disputes: z.number().int(),
});

const OverviewWire = z.object({
  object: z.literal('overview'),
  today: z.string(),
  days: z.array(DayWire),
  open_exceptions: z.record(z.string(), z.number().int()),
  open_dead_letters: z.record(z.string(), z.number().int()),
});

function key(day: string, currency: string): string {
  return `${day} ${currency}`;
}

/** Merges the modules' days into one row per day and currency (every figure zero where a module had none). */
export function mergeDays(parts: ActivityDay[][]): Required<ActivityDay>[] {
  const merged = new Map<string, Required<ActivityDay>>();
  for (const day of parts.flat()) {
    const row = merged.get(key(day.day, day.currency)) ?? {
      day: day.day,
      currency: day.currency,
      volumeMinor: 0n,
      succeeded: 0,
      failed: 0,
      refundedMinor: 0n,
      refunds: 0,
      disputedMinor: 0n,
      disputes: 0,
    };
    row.volumeMinor += day.volumeMinor ?? 0n;
    row.succeeded += day.succeeded ?? 0;
    row.failed += day.failed ?? 0;
    row.refundedMinor += day.refundedMinor ?? 0n;
    row.refunds += day.refunds ?? 0;
    row.disputedMinor += day.disputedMinor ?? 0n;
    row.disputes += day.disputes ?? 0;
    merged.set(key(day.day, day.currency), row);
  }
  return [...merged.values()].sort((a, b) => key(a.day, a.currency).localeCompare(key(b.day, b.currency)));
}

/** A success rate as a percentage with one decimal, computed in integers (no floats near money). */
export function successRate(succeeded: number, failed: number): string | null {
  const total = succeeded + failed;
  if (total === 0) return null;
  const tenths = Math.round((succeeded * 1000) / total);
  return `${Math.floor(tenths / 10)}.${tenths % 10}`;
}

function dayToWire(row: Required<ActivityDay>): z.infer<typeof DayWire> {
  return {
    day: row.day,
    currency: row.currency,
    volume: formatAmount(row.volumeMinor, assertCurrency(row.currency)),
    succeeded: row.succeeded,
    failed: row.failed,
    success_rate: successRate(row.succeeded, row.failed),
    refunded: formatAmount(row.refundedMinor, assertCurrency(row.currency)),
    refunds: row.refunds,
    disputed: formatAmount(row.disputedMinor, assertCurrency(row.currency)),
    disputes: row.disputes,
  };
}

/** How long the closed days (before today, UTC) of the overview are reused before they are read again. */
export const CLOSED_DAYS_TTL_MS = 5 * 60_000;

/**
 * The 30-day activity with the 29 closed days cached: reading them scans every order of the window (seconds at a
 * million orders), so they are read at most once per `CLOSED_DAYS_TTL_MS` — in the background once they are
 * stale, the stale figures answering meanwhile — while today is read live on every call (a small index range).
 */
export function cachedActivity(sources: OverviewSources, now: () => Date, ttlMs = CLOSED_DAYS_TTL_MS) {
  let closed: { today: string; at: number; days: ActivityDay[] } | undefined;
  let refreshing: Promise<void> | undefined;
  const readAll = (db: Queryable, from: Date) => Promise.all(sources.activity.map((read) => read(db, from)));
  const refresh = (db: Queryable, from: Date, today: string): Promise<void> =>
    (refreshing ??= readAll(db, from)
      .then((parts) => {
        closed = { today, at: Date.now(), days: parts.flat().filter((day) => day.day < today) };
      })
      .finally(() => {
        refreshing = undefined;
      }));
  return async (db: Queryable, from: Date): Promise<ActivityDay[][]> => {
    const at = now();
    const today = at.toISOString().slice(0, 10);
    const todayStart = new Date(`${today}T00:00:00Z`);
    if (closed === undefined || closed.today !== today) await refresh(db, from, today);
    else if (Date.now() - closed.at > ttlMs) void refresh(db, from, today).catch(() => undefined);
    const live = await readAll(db, todayStart);
    return [closed?.days ?? [], ...live];
  };
}

/** `GET /dashboard/api/overview`: the home page's figures for the last 30 days (UTC), and the queues waiting. */
export function overviewRoute(app: App, ctx: AppContext, sources: OverviewSources): void {
  const activity = cachedActivity(sources, () => ctx.clock.now());
  app.get(
    '/dashboard/api/overview',
    {
      config: { auth: { operator: 'viewer' } },
      schema: {
        summary: 'Dashboard overview',
        description:
          'Per day and currency over the last 30 days: pay-in volume, successes and failures, refunds and disputes; and the open reconciliation exceptions and dead letters by queue. Today is live; the closed days may be up to 5 minutes old.',
        tags: ['dashboard'],
        response: { 200: OverviewWire, ...errorResponses() },
      },
    },
    async () => {
      const now = ctx.clock.now();
      const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 29));
      const parts = await activity(ctx.pool, from);
      return {
        object: 'overview' as const,
        today: now.toISOString().slice(0, 10),
        days: mergeDays(parts).map(dayToWire),
        open_exceptions: await sources.openExceptions(ctx.pool),
        open_dead_letters: await sources.openDeadLetters(ctx.pool),
      };
    },
  );
}
