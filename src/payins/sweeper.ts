import { withTransaction } from '../db/tx.ts';
import { insertDeadLetter } from '../jobs/dead-letters.ts';
import { backoffCeilingMs } from '../jobs/backoff.ts';
import { PspError, type PspCharge } from '../psp/index.ts';
import { forEachIsolated, loopGuard } from '../jobs/loops.ts';
import { chargeIdempotencyKey, chargeMetadata } from './keys.ts';
import { timedPspCall } from './metrics.ts';
import { EXECUTE_QUEUE, type PayinsRuntime } from './runtime.ts';
import { transitionDeps } from './service.ts';
import { outcomeFromCharge, settleOrder } from './settle.ts';
import { deferSweep, flagSweepsExhausted, ordersDueForSweep, requeueSwept } from './work-store.ts';
import type { PaymentOrder } from './types.ts';

export interface SweepReport {
  examined: number;
  settled: number;
  requeued: number;
  deferred: number;
  flagged: number;
}

/**
 * The sweeper (Kill Bill's Janitor): saved-method orders left EXECUTING or PENDING past their deadline — a crash,
 * an unknown outcome, a slow PSP — are asked about at the PSP and settled from its answer, never by charging
 * again. An order the PSP has never heard of had no charge, so it goes back to the executor, whose retry uses the
 * same idempotency key. Each order is asked on a bounded, growing schedule; after `maxSweeps` it is flagged.
 */
export async function sweepOnce(runtime: PayinsRuntime, limit = 50): Promise<SweepReport> {
  const { ctx, config } = runtime;
  const report: SweepReport = { examined: 0, settled: 0, requeued: 0, deferred: 0, flagged: 0 };
  const due = await ordersDueForSweep(ctx.pool, config.sweepAfterMs, limit);
  // One order whose sweep throws is logged and counted, and the others are swept anyway.
  await forEachIsolated(
    loopGuard(ctx),
    'sweep',
    due,
    (order) => ({ paymentOrderId: order.paymentOrderId }),
    async (order) => {
      report.examined++;
      const result = await sweepOrder(runtime, order);
      report[result]++;
    },
  );
  return report;
}

async function sweepOrder(
  runtime: PayinsRuntime,
  order: PaymentOrder,
): Promise<'settled' | 'requeued' | 'deferred' | 'flagged'> {
  const { ctx, config } = runtime;
  const deps = transitionDeps(runtime);
  let charge: PspCharge | undefined;
  try {
    charge = await timedPspCall(runtime.metrics, 'find_charge', () =>
      order.pspPaymentId !== null
        ? runtime.psp.retrieveCharge(order.pspPaymentId)
        : runtime.psp.findCharge(chargeIdempotencyKey(order.paymentOrderId), chargeMetadata(order)),
    );
  } catch (error) {
    if (!(error instanceof PspError)) throw error;
    return await deferOrFlag(runtime, order, `sweep: ${error.failureClass}: ${error.message}`);
  }
  if (charge && charge.state !== 'pending') {
    const result = await withTransaction(ctx.pool, (client) =>
      settleOrder(client, deps, order.paymentOrderId, outcomeFromCharge(charge), {
        expectVersion: order.version,
        details: { settled_by: 'sweeper' },
      }),
    );
    return result.applied ? 'settled' : 'deferred';
  }
  if (charge) {
    const moved = await withTransaction(ctx.pool, (client) =>
      settleOrder(client, deps, order.paymentOrderId, outcomeFromCharge(charge), {
        expectVersion: order.version,
      }),
    );
    const version = moved.applied ? moved.order.version : order.version;
    return await deferOrFlag(runtime, { ...order, version }, 'sweep: still pending at the PSP');
  }
  if (order.status === 'EXECUTING' || order.status === 'NOT_STARTED') {
    // No payment exists at the PSP: the attempt died before reaching it (or, NOT_STARTED, the worker that took the
    // job died before claiming the order, leaving the job active and nobody to run it). Hand it back to the executor.
    const requeued = await requeueSwept(ctx.pool, order.paymentOrderId, order.version, config.sweepAfterMs);
    return requeued ? 'requeued' : 'deferred';
  }
  return await deferOrFlag(runtime, order, 'sweep: no payment found at the PSP');
}

/** Schedules the next question on a doubling, capped delay; past `maxSweeps`, flags the order for a person. */
async function deferOrFlag(
  runtime: PayinsRuntime,
  order: PaymentOrder,
  reason: string,
): Promise<'deferred' | 'flagged'> {
  const { ctx, config } = runtime;
  const count = order.sweepCount + 1;
  if (count >= config.maxSweeps) {
    const flagged = await withTransaction(ctx.pool, async (client) => {
      if (
        !(await flagSweepsExhausted(client, order.paymentOrderId, order.version, count, reason.slice(0, 500)))
      )
        return false;
      await insertDeadLetter(client, {
        queue: EXECUTE_QUEUE,
        subject: order.paymentOrderId,
        payload: { paymentOrderId: order.paymentOrderId },
        reason: `sweeps exhausted: ${reason}`.slice(0, 500),
        attempts: order.attempts,
      });
      return true;
    });
    if (flagged) runtime.metrics.deadLetters.inc({ queue: EXECUTE_QUEUE });
    return flagged ? 'flagged' : 'deferred';
  }
  const delayMs = backoffCeilingMs(count, {
    maxAttempts: config.maxSweeps,
    baseDelayMs: config.sweepBaseDelayMs,
    maxDelayMs: config.sweepMaxDelayMs,
    jitterRatio: 0,
  });
  await deferSweep(ctx.pool, order.paymentOrderId, order.version, count, reason.slice(0, 500), delayMs);
  return 'deferred';
}
