import { canRetry, retryDelayMs } from '../jobs/backoff.ts';
import { insertDeadLetter } from '../jobs/dead-letters.ts';
import type { PoolClient } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { PspError, type PspCharge } from '../psp/index.ts';
import { chargeIdempotencyKey, chargeMetadata } from './keys.ts';
import { timedPspCall } from './metrics.ts';
import { EXECUTE_QUEUE, type PayinsRuntime } from './runtime.ts';
import { transitionDeps } from './service.ts';
import { outcomeFromCharge, settleOrder } from './settle.ts';
import { applyOrderEvent } from './transitions.ts';
import { getCheckout, getOrder } from './store.ts';
import { claimAttempt, flagExhausted, noteRetry } from './work-store.ts';

export type ExecuteResult =
  | { outcome: 'settled'; status: string }
  | { outcome: 'retry_scheduled'; attempt: number; delayMs: number }
  | { outcome: 'dead_lettered'; attempt: number }
  | { outcome: 'skipped'; why: string };

type TransitionDepsOf = ReturnType<typeof transitionDeps>;

/** An order claimed for one attempt, or why it is not to be executed now. */
export type Claim =
  | { skip: string }
  | {
      order: NonNullable<Awaited<ReturnType<typeof getOrder>>>;
      attempt: number;
      checkout: Awaited<ReturnType<typeof getCheckout>>;
    };

/**
 * Claims the order for one attempt in the caller's transaction: moves it to EXECUTING when NOT_STARTED and counts
 * the attempt; or says why it is skipped.
 */
async function claimIn(
  client: PoolClient,
  runtime: PayinsRuntime,
  deps: TransitionDepsOf,
  paymentOrderId: string,
): Promise<Claim> {
  const order = await getOrder(client, paymentOrderId, { forUpdate: true });
  if (!order) return { skip: 'not_found' };
  if (order.status !== 'NOT_STARTED' && order.status !== 'EXECUTING')
    return { skip: `status ${order.status}` };
  if (order.needsAttention) return { skip: 'in the dead-letter queue' };
  if (order.status === 'NOT_STARTED') {
    await applyOrderEvent(
      client,
      deps,
      paymentOrderId,
      { type: 'start' },
      { details: { flow: 'saved_method' } },
    );
  }
  // The claim also pushes the sweeper back: it leaves an order alone while an attempt may be in flight.
  const attempts = await claimAttempt(client, paymentOrderId, runtime.config.sweepAfterMs);
  const checkout = await getCheckout(client, order.checkoutId);
  return { order, attempt: attempts ?? order.attempts + 1, checkout };
}

/** Claims one order for one attempt, in its own transaction. */
async function claimOrder(runtime: PayinsRuntime, deps: TransitionDepsOf, paymentOrderId: string) {
  return withTransaction(runtime.ctx.pool, (client) => claimIn(client, runtime, deps, paymentOrderId));
}

/**
 * Claims many orders for one attempt each in one transaction (one commit for the batch). Each order is claimed
 * under its own savepoint, so an order whose claim throws is rolled back alone and reported as that error; the
 * others are claimed anyway. The orders are locked in id order, so two batches never deadlock.
 */
export async function claimOrders(
  runtime: PayinsRuntime,
  paymentOrderIds: readonly string[],
): Promise<Map<string, Claim | Error>> {
  const deps = transitionDeps(runtime);
  const ids = [...new Set(paymentOrderIds)].sort();
  return withTransaction(runtime.ctx.pool, async (client) => {
    const claims = new Map<string, Claim | Error>();
    for (const id of ids) {
      await client.query('SAVEPOINT claim');
      try {
        claims.set(id, await claimIn(client, runtime, deps, id));
        await client.query('RELEASE SAVEPOINT claim');
      } catch (error) {
        await client.query('ROLLBACK TO SAVEPOINT claim');
        claims.set(id, error instanceof Error ? error : new Error(String(error)));
      }
    }
    return claims;
  });
}

/**
 * Executes one payment order paid with a saved method: claim it (EXECUTING, one more attempt, commit), charge at
 * the PSP with a key derived from the order (identical on every retry), then record the answer in a second
 * transaction. No transaction is open during the PSP call. A crash anywhere leaves an EXECUTING order that the
 * next retry or the sweeper settles without charging twice.
 */
export async function executeOrder(
  runtime: PayinsRuntime,
  paymentOrderId: string,
  options: { random?: () => number } = {},
): Promise<ExecuteResult> {
  const claim = await claimOrder(runtime, transitionDeps(runtime), paymentOrderId);
  return await executeClaimed(runtime, claim, options);
}

/**
 * The rest of an execution once the order is claimed (committed): the PSP call outside any transaction, then the
 * answer recorded in a transaction of its own.
 */
export async function executeClaimed(
  runtime: PayinsRuntime,
  claim: Claim,
  options: { random?: () => number } = {},
): Promise<ExecuteResult> {
  const { ctx } = runtime;
  const deps = transitionDeps(runtime);
  if ('skip' in claim) return { outcome: 'skipped', why: claim.skip };
  const { order, attempt, checkout } = claim;
  const { paymentOrderId } = order;
  const paymentMethod =
    checkout && 'payment_method' in checkout.creditCardInfo
      ? checkout.creditCardInfo.payment_method
      : undefined;
  if (paymentMethod === undefined) return { outcome: 'skipped', why: 'not a saved-method checkout' };

  const idempotencyKey = chargeIdempotencyKey(order.paymentOrderId);
  const metadata = chargeMetadata(order);
  let charge: PspCharge | undefined;
  try {
    charge = await timedPspCall(runtime.metrics, 'charge', () =>
      runtime.psp.charge({
        idempotencyKey,
        amountMinor: order.amountMinor,
        currency: order.currency,
        paymentMethod,
        description: `payment order ${order.paymentOrderId} of checkout ${order.checkoutId}`,
        metadata,
      }),
    );
  } catch (error) {
    if (!(error instanceof PspError)) throw error;
    if (error.failureClass === 'hard_decline') {
      const code = error.declineCode ?? error.pspCode ?? 'declined';
      ctx.log.warn({ paymentOrderId, attempt, declineCode: code }, 'payment order declined by the PSP');
      await withTransaction(ctx.pool, (client) =>
        settleOrder(client, deps, paymentOrderId, { kind: 'failed', code, message: error.message }),
      );
      return { outcome: 'settled', status: 'FAILED' };
    }
    if (error.failureClass === 'unknown') {
      // The PSP may have acted: ask before anything else. A found payment settles the order; none found means
      // the charge never happened, and the retry below (same key) is still safe.
      charge = await findQuietly(runtime, idempotencyKey, metadata);
    }
    if (!charge) return await scheduleRetry(runtime, paymentOrderId, attempt, error, options.random);
  }
  const result = await withTransaction(ctx.pool, (client) =>
    settleOrder(client, deps, paymentOrderId, outcomeFromCharge(charge)),
  );
  return { outcome: 'settled', status: result.order?.status ?? 'unknown' };
}

async function findQuietly(
  runtime: PayinsRuntime,
  key: string,
  metadata: Record<string, string>,
): Promise<PspCharge | undefined> {
  try {
    return await timedPspCall(runtime.metrics, 'find_charge', () => runtime.psp.findCharge(key, metadata));
  } catch {
    return undefined;
  }
}

/** A transient failure: try again later with backoff and jitter (honouring Retry-After), or dead-letter. */
async function scheduleRetry(
  runtime: PayinsRuntime,
  paymentOrderId: string,
  attempt: number,
  error: PspError,
  random: (() => number) | undefined,
): Promise<ExecuteResult> {
  const { ctx, config } = runtime;
  const lastError = `${error.failureClass}: ${error.message}`.slice(0, 500);
  if (!canRetry(attempt, config.retry)) {
    await withTransaction(ctx.pool, async (client) => {
      await flagExhausted(client, paymentOrderId, lastError);
      await insertDeadLetter(client, {
        queue: EXECUTE_QUEUE,
        subject: paymentOrderId,
        payload: { paymentOrderId },
        reason: lastError,
        attempts: attempt,
      });
    });
    runtime.metrics.deadLetters.inc({ queue: EXECUTE_QUEUE });
    ctx.log.warn({ paymentOrderId, attempt }, 'payment order attempts exhausted: dead-lettered');
    return { outcome: 'dead_lettered', attempt };
  }
  const delayMs = retryDelayMs(attempt, config.retry, {
    ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
    ...(random === undefined ? {} : { random }),
  });
  await withTransaction(ctx.pool, async (client) => {
    await noteRetry(client, paymentOrderId, lastError, delayMs + config.sweepAfterMs);
    await runtime.jobs.send(client, EXECUTE_QUEUE, { paymentOrderId }, { startAfterMs: delayMs });
  });
  runtime.metrics.retries.inc({ queue: EXECUTE_QUEUE });
  ctx.log.warn(
    { paymentOrderId, attempt, delayMs, failureClass: error.failureClass },
    'PSP call failed; payment order retry scheduled',
  );
  return { outcome: 'retry_scheduled', attempt, delayMs };
}

export { resetForReplay } from './work-store.ts';
