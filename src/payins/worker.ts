import type { AppContext } from '../context.ts';
import { withTransaction } from '../db/tx.ts';
import { loopGuard, nextTickDelayMs, runSteps } from '../jobs/loops.ts';
import type { BackgroundService } from '../services.ts';
import { purgeExpiredIdempotencyKeys } from './idempotency.ts';
import { ExecuteLoop } from './execute-loop.ts';
import { PspEventLoop } from './psp-event-loop.ts';
import { OUTBOX_DEAD_LETTER_QUEUE, outboxRetryPolicy, publishOutbox, type OutboxSink } from './outbox.ts';
import { createWebhookSink, loadMarketplaceWebhookConfig } from './webhook-sink.ts';
import { pollOnce } from './poller.ts';
import { processPendingEvents } from './psp-events.ts';
import { followUpPspFees } from './psp-fee-followup.ts';
import { EXECUTE_CHANNEL, type PayinsRuntime } from './runtime.ts';
import { sweepOnce } from './sweeper.ts';
import { markForImmediateExecution } from './work-store.ts';
import { notifyAfterCommit } from '../db/notify.ts';

/**
 * The pay-in worker of a process: loops for order execution and PSP events, and a loop that sweeps
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
  let loops: WorkerLoop[] = [];
  const inHand = new Set<string>(); // orders the executor holds: a stop hands back those that do not finish
  // Outgoing webhooks to the marketplace when BURSAR_WEBHOOK_URL is set; otherwise messages are logged. Read on
  // first use, so that composing the modules (a CLI command, a test) never touches the data dir.
  let outgoing: { webhooks: ReturnType<typeof loadMarketplaceWebhookConfig>; sink: OutboxSink } | undefined;
  const output = () => {
    if (outgoing === undefined) {
      const webhooks = loadMarketplaceWebhookConfig(process.env, ctx.config.dataDir);
      const baseSink = options.sink ?? (webhooks ? createWebhookSink(webhooks) : logSink(ctx));
      outgoing = { webhooks, sink: warnOnFailure(ctx, baseSink) };
    }
    return outgoing;
  };

  const guard = loopGuard(ctx);
  const retry = outboxRetryPolicy(process.env);

  // The steps that failed in the last tick, and how many ticks in a row had a failure: shown by `health()` (so by
  // `/readyz` and the process's watch log) and used to back the loop off while something keeps failing.
  let failing: string[] = [];
  let failedTicks = 0;

  // Each step runs and fails on its own, and so does each item inside a step (src/jobs/loops.ts).
  const tick = async () => {
    const { failed } = await runSteps(guard, [
      { name: 'sweep', run: () => sweepOnce(runtime) },
      { name: 'poll', run: () => pollOnce(runtime) },
      { name: 'psp_events', run: () => processPendingEvents(runtime, 60_000) },
      { name: 'psp_fees', run: () => followUpPspFees(runtime) },
      {
        name: 'outbox',
        run: () => publishOutbox(ctx.pool, output().sink, outboxOptions(runtime, guard, retry)),
      },
      { name: 'idempotency_purge', run: () => purgeExpiredIdempotencyKeys(ctx.pool) },
    ]);
    failing = failed;
    failedTicks = failed.length > 0 ? failedTicks + 1 : 0;
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(
      () => {
        running = tick().finally(schedule);
      },
      nextTickDelayMs(runtime.config.tickIntervalMs, failedTicks),
    );
    timer.unref();
  };

  return {
    name: 'payins-worker',
    async start() {
      output();
      loops = await startLoops(runtime, inHand);
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
      await stopLoops(runtime, loops, inHand);
    },
    describe: () => describeWorker(output().webhooks),
    health: () => (failing.length > 0 ? `pay-in loop steps failing: ${failing.join(', ')}` : undefined),
  };
}

/** A loop of the worker: order execution (job-loop.ts), PSP events (psp-event-loop.ts). */
interface WorkerLoop {
  start(): Promise<void>;
  /** Stops taking work. */
  stop(): Promise<void>;
  /** Waits for (or records) the work in hand. */
  flush(): Promise<void>;
}

/**
 * Order execution (the orders table taken in batches) and PSP events (the events table taken in batches): loops
 * woken by NOTIFY.
 */
async function startLoops(runtime: PayinsRuntime, inHand: Set<string>): Promise<WorkerLoop[]> {
  const loops: WorkerLoop[] = [new ExecuteLoop(runtime, inHand), new PspEventLoop(runtime)];
  for (const loop of loops) await loop.start();
  return loops;
}

/** Stops taking work, finishes (or hands back) the orders in hand, and waits for the events in hand. */
async function stopLoops(runtime: PayinsRuntime, loops: WorkerLoop[], inHand: Set<string>): Promise<void> {
  for (const loop of loops) await loop.stop();
  await finishInHand(runtime, inHand);
  for (const loop of loops) await loop.flush();
}

/** Finishes the orders in hand; those still in hand after half the grace period are handed back. */
async function finishInHand(runtime: PayinsRuntime, inHand: Set<string>): Promise<void> {
  const deadline = Date.now() + runtime.ctx.config.shutdownGraceMs / 2;
  while (inHand.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  await handBack(runtime, [...inHand]);
}

function describeWorker(webhooks: ReturnType<typeof loadMarketplaceWebhookConfig>): string[] {
  return [
    '  Pay-in worker: executor, PSP events, sweeper, poller, outbox',
    webhooks
      ? `  Webhooks:     ${webhooks.url} (signed: Bursar-Signature; docs/payins.md)`
      : '  Webhooks:     off (set BURSAR_WEBHOOK_URL to receive signed payment events)',
  ];
}

/** How the outbox step delivers: bounded retries, dead letters counted and logged, each failure on its own. */
function outboxOptions(
  runtime: PayinsRuntime,
  guard: ReturnType<typeof loopGuard>,
  retry: ReturnType<typeof outboxRetryPolicy>,
): Parameters<typeof publishOutbox>[2] {
  const { ctx } = runtime;
  return {
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
      ctx.log.error({ err: error, loop: 'outbox', outboxId: messageId.toString() }, 'outbox message failed');
    },
  };
}

/**
 * Makes orders this process claimed but did not finish claimable again at once, rather than after a sweep:
 * queued for the executor now (the next worker, here or in the next process, takes it immediately) and the sweep
 * deadline cleared. Charging again is safe: the PSP call's idempotency key is derived from the order.
 */
async function handBack(runtime: PayinsRuntime, paymentOrderIds: string[]): Promise<void> {
  for (const paymentOrderId of paymentOrderIds) {
    try {
      await withTransaction(runtime.ctx.pool, async (client) => {
        if (await markForImmediateExecution(client, paymentOrderId))
          await notifyAfterCommit(client, EXECUTE_CHANNEL);
      });
      runtime.ctx.log.warn({ paymentOrderId }, 'shutting down: order handed back for immediate execution');
    } catch (error) {
      runtime.ctx.log.error({ err: error, paymentOrderId }, 'could not hand an order back; the sweeper will');
    }
  }
}

function logSink(ctx: AppContext): OutboxSink {
  return async (message) => {
    ctx.log.info({ topic: message.topic, payload: message.payload }, 'outbox message');
  };
}

/** A failed delivery is a business failure the operator should see (at warn, with its ids); it is retried. */
function warnOnFailure(ctx: AppContext, sink: OutboxSink): OutboxSink {
  return async (message) => {
    try {
      await sink(message);
    } catch (error) {
      ctx.log.warn(
        { err: error, outboxId: message.id.toString(), topic: message.topic, attempt: message.attempt },
        'webhook delivery failed; it will be retried',
      );
      throw error;
    }
  };
}
