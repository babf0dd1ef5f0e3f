import PgBoss from 'pg-boss';
import type { BackgroundService } from '../services.ts';
import { connectionStringOf, PGBOSS_SCHEMA } from '../jobs/queue.ts';
import { dailyRun } from './daily.ts';
import type { ReconRuntime } from './runtime.ts';

export const DAILY_QUEUE = 'reconciliation-daily';
const LOCK_KEY = "hashtext('bursar.reconciliation.daily')";

/**
 * The daily reconciliation, on pg-boss cron (UTC, `BURSAR_RECON_DAILY_CRON`, 03:00 by default): pg-boss makes each
 * tick one job however many workers run; the job runs the day under a session advisory lock and skips a day that
 * already has a successful run, so a retried or duplicated tick reconciles nothing twice. "Today" is the context's
 * clock; the run covers the previous UTC day of PSP activity.
 */
export function createReconciliationScheduler(rt: ReconRuntime): BackgroundService {
  let boss: PgBoss | undefined;
  const ctx = rt;

  const runToday = async (): Promise<void> => {
    // The report's own day: yesterday, the last complete UTC day of PSP activity.
    const day = new Date(ctx.clock.now().getTime() - 86_400_000).toISOString().slice(0, 10);
    const client = await ctx.pool.connect();
    try {
      const locked = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_KEY}) AS ok`);
      if (locked.rows[0]?.ok !== true) return;
      try {
        const ran = await client.query(
          `SELECT 1 FROM recon.runs WHERE kind = 'daily' AND trigger = $1 AND status = 'succeeded' LIMIT 1`,
          [`schedule:${day}`],
        );
        if ((ran.rowCount ?? 0) > 0) return;
        await dailyRun(rt, day);
      } finally {
        await client.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`);
      }
    } catch (error) {
      rt.log.error(
        { err: error, day },
        'daily reconciliation failed; run `bursar reconcile daily` or wait for the next tick',
      );
    } finally {
      client.release();
    }
  };

  return {
    name: 'reconciliation-daily',
    async start(): Promise<void> {
      if (!rt.config.dailyEnabled) return;
      boss = new PgBoss({
        connectionString: connectionStringOf(ctx.pool),
        schema: PGBOSS_SCHEMA,
        max: 2,
        application_name: 'bursar-reconciliation',
        schedule: true,
        supervise: false,
        migrate: true,
      });
      boss.on('error', (error) => ctx.log.warn({ err: error }, 'reconciliation scheduler error'));
      await boss.start();
      if (!(await boss.getQueue(DAILY_QUEUE))) {
        await boss.createQueue(DAILY_QUEUE, { name: DAILY_QUEUE, policy: 'singleton', retryLimit: 0 });
      }
      await boss.schedule(DAILY_QUEUE, rt.config.dailyCron, {}, { tz: 'UTC' });
      await boss.work(DAILY_QUEUE, { pollingIntervalSeconds: 5 }, runToday);
    },
    async stop(): Promise<void> {
      await boss?.stop({ graceful: true, wait: true, timeout: 10_000 });
      boss = undefined;
    },
    describe: (): string[] =>
      rt.config.dailyEnabled
        ? [`  Reconciliation: daily "${rt.config.dailyCron}" UTC (docs/reconciliation.md)`]
        : [],
  };
}
