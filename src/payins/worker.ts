import type { BackgroundService } from '../compose.ts';
import type { AppContext } from '../context.ts';
import { purgeExpiredIdempotencyKeys } from '../idempotency/index.ts';
import { loopGuard, runSteps } from '../jobs/loops.ts';
import { executeOrder } from './executor.ts';
import { OUTBOX_DEAD_LETTER_QUEUE, outboxRetryPolicy, publishOutbox, type OutboxSink } from './outbox.ts';
import { createWebhookSink, loadMarketplaceWebhookConfig } from './webhook-sink.ts';
import { pollOnce } from './poller.ts';
import { processPendingEvents, processPspEventRecordingFailure } from './psp-events.ts';
import { EXECUTE_QUEUE, PSP_EVENT_QUEUE, payinsRuntime } from './runtime.ts';
import { sweepOnce } from './sweeper.ts';

/**
 * The pay-in worker of a process: pg-boss workers for order execution and PSP events, and a loop that sweeps
 * stuck orders, polls hosted checkouts, publishes the outbox, and purges expired Idempotency-Keys. Several
 * worker processes may run against one database; every step is safe to run concurrently.
 */
export function createPayinsWorker(ctx: AppContext, options: { sink?: OutboxSink } = {}): BackgroundService {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  let workerIds: string[] = [];
  // Outgoing webhooks to the marketplace when BURSAR_WEBHOOK_URL is set; otherwise messages are logged.
  const webhooks = loadMarketplaceWebhookConfig(process.env, ctx.config.dataDir);
  const sink = options.sink ?? (webhooks ? createWebhookSink(webhooks) : logSink(ctx));

  const guard = loopGuard(ctx);
  const retry = outboxRetryPolicy(process.env);

  // Each step runs and fails on its own, and so does each item inside a step (src/jobs/loops.ts).
  const tick = async () => {
    const runtime = payinsRuntime(ctx);
    await runSteps(guard, [
      { name: 'sweep', run: () => sweepOnce(runtime) },
      { name: 'poll', run: () => pollOnce(runtime) },
      { name: 'psp_events', run: () => processPendingEvents(runtime, 60_000) },
      {
        name: 'outbox',
        run: () =>
          publishOutbox(ctx.pool, sink, {
            retry,
            onDeadLetter: (letter) => {
              runtime.metrics.deadLetters.inc({ queue: OUTBOX_DEAD_LETTER_QUEUE });
              ctx.log.warn(
                { outboxId: letter.subject, attempts: letter.attempts, deadLetter: letter.id },
                'outbox message attempts exhausted: dead-lettered',
              );
            },
            onError: (messageId, error) => {
              guard.failures.inc({ loop: 'outbox' });
              ctx.log.error(
                { err: error, loop: 'outbox', outboxId: messageId.toString() },
                'outbox message failed',
              );
            },
          }),
      },
      { name: 'idempotency_purge', run: () => purgeExpiredIdempotencyKeys(ctx.pool) },
    ]);
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(schedule);
    }, payinsRuntime(ctx).config.tickIntervalMs);
    timer.unref();
  };

  return {
    name: 'payins-worker',
    async start() {
      const runtime = payinsRuntime(ctx);
      await runtime.ready();
      const polling = runtime.config.jobPollingIntervalSeconds;
      const executors = await runtime.jobs.work<{ paymentOrderId: string }>(
        EXECUTE_QUEUE,
        { concurrency: runtime.config.workerConcurrency, pollingIntervalSeconds: polling },
        async (data) => {
          await executeOrder(payinsRuntime(ctx), data.paymentOrderId);
        },
      );
      const eventWorkers = await runtime.jobs.work<{ eventRowId: string }>(
        PSP_EVENT_QUEUE,
        { concurrency: 2, pollingIntervalSeconds: polling },
        async (data) => {
          await processPspEventRecordingFailure(payinsRuntime(ctx), BigInt(data.eventRowId));
        },
      );
      workerIds = [...executors, ...eventWorkers];
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      const runtime = payinsRuntime(ctx);
      await runtime.jobs.offWork(workerIds);
      await runtime.release();
    },
    describe: () => [
      '  Pay-in worker: executor, PSP events, sweeper, poller, outbox',
      webhooks
        ? `  Webhooks:     ${webhooks.url} (signed: Bursar-Signature; docs/payins.md)`
        : '  Webhooks:     off (set BURSAR_WEBHOOK_URL to receive signed payment events)',
    ],
  };
}

function logSink(ctx: AppContext): OutboxSink {
  return async (message) => {
    ctx.log.info({ topic: message.topic, payload: message.payload }, 'outbox message');
  };
}
