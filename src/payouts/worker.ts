import PgBoss from 'pg-boss';
import type { BackgroundService } from '../services.ts';
import { connectionStringOf, PGBOSS_SCHEMA } from '../jobs/queue.ts';
import { releaseDueHolds } from './holds.ts';
import { runPayouts } from './run.ts';
import type { PayoutsRuntime } from './runtime.ts';
import { isoDateOf } from './settings.ts';

export const PAYOUT_RUN_QUEUE = 'payouts-run';
export const AVAILABILITY_QUEUE = 'payouts-availability';

/**
 * The pay-out schedules of a worker process, on pg-boss cron (UTC): the availability job (holds due →
 * available; hourly by default) and the payout run (daily at 06:00 by default; each run pays the sellers due
 * that day by their own schedule). pg-boss makes each cron tick one job however many workers run, and the run
 * is idempotent per seller and date besides. "Today" is the context's clock, so tests can move it.
 */
export function createPayoutsWorker(runtime: PayoutsRuntime): BackgroundService {
  const { ctx } = runtime;
  let boss: PgBoss | undefined;
  return {
    name: 'payouts-worker',
    async start() {
      boss = new PgBoss({
        connectionString: connectionStringOf(ctx.pool),
        schema: PGBOSS_SCHEMA,
        max: 2,
        application_name: 'bursar-payouts',
        schedule: true,
        supervise: false,
        migrate: true,
      });
      boss.on('error', (error) => ctx.log.warn({ err: error }, 'payouts scheduler error'));
      await boss.start();
      for (const name of [PAYOUT_RUN_QUEUE, AVAILABILITY_QUEUE]) {
        if (!(await boss.getQueue(name)))
          await boss.createQueue(name, { name, policy: 'singleton', retryLimit: 0 });
      }
      await boss.schedule(PAYOUT_RUN_QUEUE, runtime.config.runCron, {}, { tz: 'UTC' });
      await boss.schedule(AVAILABILITY_QUEUE, runtime.config.availabilityCron, {}, { tz: 'UTC' });
      await boss.work(PAYOUT_RUN_QUEUE, { pollingIntervalSeconds: 5 }, async () => {
        const now = ctx.clock.now();
        const report = await runPayouts(
          { pool: ctx.pool, log: ctx.log, provider: runtime.provider, now },
          isoDateOf(now),
        );
        ctx.log.info({ report: { ...report, totalsMinor: undefined } }, 'payout run finished');
      });
      await boss.work(AVAILABILITY_QUEUE, { pollingIntervalSeconds: 5 }, async () => {
        const released = await releaseDueHolds(ctx.pool, isoDateOf(ctx.clock.now()));
        if (released > 0) ctx.log.info({ released }, 'holds released');
      });
    },
    async stop() {
      await boss?.stop({ graceful: true, wait: true, timeout: 10_000 });
      boss = undefined;
    },
    describe: () => {
      const config = runtime.config;
      return [
        `  Payouts:      run "${config.runCron}" UTC, availability "${config.availabilityCron}", provider ${config.provider}`,
      ];
    },
  };
}
