import type { AppContext } from '../context.ts';
import type { BackgroundService } from '../services.ts';
import { purgeExpiredIdempotencyKeys } from './idempotency.ts';
import { executeOrder } from './executor.ts';
import { publishOutbox, type OutboxSink } from './outbox.ts';
import { createWebhookSink, loadMarketplaceWebhookConfig } from './webhook-sink.ts';
import { pollOnce } from './poller.ts';
import { processPendingEvents, processPspEvent } from './psp-events.ts';
import { EXECUTE_QUEUE, PSP_EVENT_QUEUE, type PayinsRuntime } from './runtime.ts';
import { sweepOnce } from './sweeper.ts';

/**
 * The pay-in worker of a process: pg-boss workers for order execution and PSP events, and a loop that sweeps
 * stuck orders, polls hosted checkouts, publishes the outbox, and purges expired Idempotency-Keys. Several
 * worker processes may run against one database; every step is safe to run concurrently.
 */
export function createPayinsWorker(
  runtime: PayinsRuntime,
  options: { sink?: OutboxSink } = {},
): BackgroundService {
  const { ctx } = runtime;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  let workerIds: string[] = [];
  // Outgoing webhooks to the marketplace when BURSAR_WEBHOOK_URL is set; otherwise messages are logged. Read on
  // first use, so that composing the modules (a CLI command, a test) never touches the data dir.
  let outgoing: { webhooks: ReturnType<typeof loadMarketplaceWebhookConfig>; sink: OutboxSink } | undefined;
  const output = () => {
    if (outgoing === undefined) {
      const webhooks = loadMarketplaceWebhookConfig(process.env, ctx.config.dataDir);
      outgoing = { webhooks, sink: options.sink ?? (webhooks ? createWebhookSink(webhooks) : logSink(ctx)) };
    }
    return outgoing;
  };

  const tick = async () => {
    try {
      await sweepOnce(runtime);
      await pollOnce(runtime);
      await processPendingEvents(runtime, 60_000);
      await publishOutbox(ctx.pool, output().sink);
      await purgeExpiredIdempotencyKeys(ctx.pool);
    } catch (error) {
      ctx.log.error({ err: error }, 'pay-in background loop failed; trying again next tick');
    }
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(schedule);
    }, runtime.config.tickIntervalMs);
    timer.unref();
  };

  return {
    name: 'payins-worker',
    async start() {
      output();
      await runtime.ready();
      const polling = runtime.config.jobPollingIntervalSeconds;
      const executors = await runtime.jobs.work<{ paymentOrderId: string }>(
        EXECUTE_QUEUE,
        { concurrency: runtime.config.workerConcurrency, pollingIntervalSeconds: polling },
        async (data) => {
          await executeOrder(runtime, data.paymentOrderId);
        },
      );
      const eventWorkers = await runtime.jobs.work<{ eventRowId: string }>(
        PSP_EVENT_QUEUE,
        { concurrency: 2, pollingIntervalSeconds: polling },
        async (data) => {
          await processPspEvent(runtime, BigInt(data.eventRowId));
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
      await runtime.jobs.offWork(workerIds);
      await runtime.release();
    },
    describe: () => {
      const { webhooks } = output();
      return [
        '  Pay-in worker: executor, PSP events, sweeper, poller, outbox',
        webhooks
          ? `  Webhooks:     ${webhooks.url} (signed: Bursar-Signature; docs/payins.md)`
          : '  Webhooks:     off (set BURSAR_WEBHOOK_URL to receive signed payment events)',
      ];
    },
  };
}

function logSink(ctx: AppContext): OutboxSink {
  return async (message) => {
    ctx.log.info({ topic: message.topic, payload: message.payload }, 'outbox message');
  };
}
