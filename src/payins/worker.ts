import type { BackgroundService } from '../services.ts';
import type { AppContext } from '../context.ts';
import { purgeExpiredIdempotencyKeys } from '../idempotency/index.ts';
import { loopGuard, runSteps } from '../jobs/loops.ts';
import { executeOrder } from './executor.ts';
import { OUTBOX_DEAD_LETTER_QUEUE, outboxRetryPolicy, publishOutbox, type OutboxSink } from './outbox.ts';
import { createWebhookSink, loadMarketplaceWebhookConfig } from './webhook-sink.ts';
import { pollOnce } from './poller.ts';
import { processPendingEvents, processPspEventRecordingFailure } from './psp-events.ts';
import { withTransaction } from '../db/tx.ts';
import { EXECUTE_QUEUE, PSP_EVENT_QUEUE, payinsRuntime, type PayinsRuntime } from './runtime.ts';
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
  // The orders this process's executors hold now (by pg-boss job id), so that a stop can hand them back.
  const inHand = new Map<string, string>();
  // Outgoing webhooks to the marketplace when BURSAR_WEBHOOK_URL is set; otherwise messages are logged.
  const webhooks = loadMarketplaceWebhookConfig(process.env, ctx.config.dataDir);
  const baseSink = options.sink ?? (webhooks ? createWebhookSink(webhooks) : logSink(ctx));
  // A failed delivery is a business failure the operator should see (at warn, with its ids); it is retried.
  const sink: OutboxSink = async (message) => {
    try {
      await baseSink(message);
    } catch (error) {
      ctx.log.warn(
        { err: error, outboxId: message.id.toString(), topic: message.topic, attempt: message.attempt },
        'webhook delivery failed; it will be retried',
      );
      throw error;
    }
  };

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
        async (data, jobId) => {
          inHand.set(jobId, data.paymentOrderId);
          try {
            await executeOrder(payinsRuntime(ctx), data.paymentOrderId);
          } finally {
            inHand.delete(jobId);
          }
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
      // Finish the orders in hand; those still in hand after half the grace period are handed back.
      const deadline = Date.now() + ctx.config.shutdownGraceMs / 2;
      while (inHand.size > 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      await handBack(runtime, [...new Set(inHand.values())]);
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

/**
 * Makes orders this process claimed but did not finish claimable again at once, rather than after a sweep: a
 * fresh execution job (the next worker, here or in the next process, takes it immediately) and the sweep
 * deadline cleared. Charging again is safe: the PSP call's idempotency key is derived from the order.
 */
async function handBack(runtime: PayinsRuntime, paymentOrderIds: string[]): Promise<void> {
  for (const paymentOrderId of paymentOrderIds) {
    try {
      await withTransaction(runtime.ctx.pool, async (client) => {
        const updated = await client.query(
          `UPDATE payins.payment_order SET next_sweep_at = now()
            WHERE payment_order_id = $1 AND payment_order_status IN ('NOT_STARTED', 'EXECUTING')`,
          [paymentOrderId],
        );
        if ((updated.rowCount ?? 0) > 0) await runtime.jobs.send(client, EXECUTE_QUEUE, { paymentOrderId });
      });
      runtime.ctx.log.warn({ paymentOrderId }, 'shutting down: order handed back for immediate execution');
    } catch (error) {
      runtime.ctx.log.error({ err: error, paymentOrderId }, 'could not hand an order back; the sweeper will');
    }
  }
}
