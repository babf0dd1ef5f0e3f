import { canRetry, retryDelayMs } from '../jobs/backoff.ts';
import { insertDeadLetter, type DeadLetter } from '../jobs/dead-letters.ts';
import { notifyAfterCommit } from '../db/notify.ts';
import type { PoolClient } from '../db/pool.ts';
import { isRetryableTxError, withSavepoint, withTransaction } from '../db/tx.ts';
import { PspError, type PspCharge } from '../psp/index.ts';
import { chargeIdempotencyKey, chargeMetadata } from './keys.ts';
import { timedPspCall } from './metrics.ts';
import { EXECUTE_CHANNEL, EXECUTE_QUEUE, type PayinsRuntime } from './runtime.ts';
import { transitionDeps } from './service.ts';
import { outcomeFromCharge } from './settle.ts';
import { chargingForSettlement, settleInBatch } from './settler.ts';
import { applyOrderEvent, applyOrderEvents } from './transitions.ts';

import type { Checkout, PaymentOrder } from './types.ts';
import {
  claimAttempt,
  claimAttempts,
  clearExecution,
  flagExhausted,
  lockDueOrdersWithCheckouts,
  lockOrdersWithCheckouts,
  noteRetry,
  resetForReplay,
} from './work-store.ts';

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
      order: PaymentOrder;
      attempt: number;
      checkout: Checkout | undefined;
    };

/**
 * Claims one order (locked by the caller, read with its checkout) for one attempt in the caller's transaction:
 * moves it to EXECUTING when NOT_STARTED and counts the attempt; or says why it is skipped.
 */
async function claimLocked(
  client: PoolClient,
  runtime: PayinsRuntime,
  deps: TransitionDepsOf,
  order: PaymentOrder,
  checkout: Checkout,
): Promise<Claim> {
  const { paymentOrderId } = order;
  const skip = skipReason(order);
  if (skip !== undefined) return { skip };
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
  return { order, attempt: attempts ?? order.attempts + 1, checkout };
}

/**
 * Claims many orders for one attempt each in one transaction (one commit for the batch). The batch's orders are
 * locked and read with their checkouts in one statement, in id order, so two batches never deadlock; then they are
 * claimed together (`claimTogether`), or, if that fails, each order under its own savepoint, so an order whose
 * claim throws is rolled back alone and reported as that error, and the others are claimed anyway.
 */
export async function claimOrders(
  runtime: PayinsRuntime,
  paymentOrderIds: readonly string[],
): Promise<Map<string, Claim | Error>> {
  const ids = [...new Set(paymentOrderIds)].sort();
  return withTransaction(runtime.ctx.pool, async (client) => {
    const locked = await lockOrdersWithCheckouts(client, ids);
    return await claimLockedBatch(client, runtime, ids, locked);
  });
}

/**
 * The executor's take: up to `limit` due orders of its queue (the orders table, `execute_at`), taken with
 * `FOR UPDATE SKIP LOCKED` and claimed as `claimOrders` claims, in one transaction. Every order taken leaves the
 * queue: claimed, or skipped or failed (then taken out in the same transaction; a lone order whose claim failed,
 * in one of its own). An empty map: nothing is due.
 */
export async function claimDueOrders(
  runtime: PayinsRuntime,
  limit: number,
): Promise<Map<string, Claim | Error>> {
  let taken: string[] = [];
  try {
    return await withTransaction(runtime.ctx.pool, async (client) => {
      const locked = await lockDueOrdersWithCheckouts(client, limit);
      taken = locked.map((row) => row.order.paymentOrderId);
      if (locked.length === 0) return new Map<string, Claim | Error>();
      return await claimLockedBatch(client, runtime, taken, locked);
    });
  } catch (error) {
    // One order alone is claimed without a savepoint: its failure is the transaction's, and it leaves the queue
    // here (for the sweeper), or it would be taken again at every wake-up. A batch's failure leaves them queued.
    const [lone] = taken;
    if (taken.length !== 1 || lone === undefined || isRetryableTxError(error)) throw error;
    await clearExecution(runtime.ctx.pool, [lone]).catch((clearing: unknown) =>
      runtime.ctx.log.warn(
        { err: clearing, paymentOrderId: lone },
        'could not take a failed claim out of the queue',
      ),
    );
    return new Map([[lone, error instanceof Error ? error : new Error(String(error))]]);
  }
}

/**
 * Claims the locked orders `ids` (sorted) in the caller's transaction: together, or one by one under savepoints
 * when that fails. Orders not claimed (skipped, or their claim failed) are taken out of the executor's queue.
 */
async function claimLockedBatch(
  client: PoolClient,
  runtime: PayinsRuntime,
  ids: readonly string[],
  lockedRows: ReadonlyArray<{ order: PaymentOrder; checkout: Checkout }>,
): Promise<Map<string, Claim | Error>> {
  const deps = transitionDeps(runtime);
  const locked: Locked = new Map(lockedRows.map((row) => [row.order.paymentOrderId, row]));
  const claims =
    (ids.length > 1 ? await claimTogether(client, runtime, deps, ids, locked) : undefined) ??
    (await claimOneByOne(client, runtime, deps, ids, locked));
  const unclaimed = [...claims].filter(([, claim]) => claim instanceof Error || 'skip' in claim);
  if (unclaimed.length > 0)
    await takeOutOfQueue(
      client,
      runtime,
      unclaimed.map(([id]) => id),
    );
  return claims;
}

/**
 * Takes the batch's unclaimed orders out of the executor's queue, under a savepoint: an order whose row refuses
 * the update (the same fault that failed its claim) stays queued, logged, without failing the batch's claims.
 */
async function takeOutOfQueue(
  client: PoolClient,
  runtime: PayinsRuntime,
  ids: readonly string[],
): Promise<void> {
  try {
    await withSavepoint(client, () => clearExecution(client, ids));
  } catch (error) {
    if (isRetryableTxError(error)) throw error;
    if (ids.length > 1) {
      for (const id of ids) await takeOutOfQueue(client, runtime, [id]);
      return;
    }
    runtime.ctx.log.warn({ err: error, paymentOrderId: ids[0] }, 'could not take an order out of the queue');
  }
}

/** Each order claimed under its own savepoint: one whose claim throws is rolled back alone and reported. */
async function claimOneByOne(
  client: PoolClient,
  runtime: PayinsRuntime,
  deps: TransitionDepsOf,
  ids: readonly string[],
  locked: Locked,
): Promise<Map<string, Claim | Error>> {
  const claims = new Map<string, Claim | Error>();
  for (const id of ids) {
    const row = locked.get(id);
    if (row === undefined) {
      claims.set(id, { skip: 'not_found' });
      continue;
    }
    try {
      // One order alone needs no savepoint: its failure is the transaction's.
      claims.set(
        id,
        ids.length === 1
          ? await claimLocked(client, runtime, deps, row.order, row.checkout)
          : await withSavepoint(client, () => claimLocked(client, runtime, deps, row.order, row.checkout)),
      );
    } catch (error) {
      if (ids.length === 1 || isRetryableTxError(error)) throw error;
      claims.set(id, error instanceof Error ? error : new Error(String(error)));
    }
  }
  return claims;
}

type Locked = Map<string, { order: PaymentOrder; checkout: Checkout }>;

/**
 * The batch's claims made together under one savepoint, in a fixed number of statements: every NOT_STARTED order
 * started (`applyOrderEvents`), every claimable order's attempt counted (`claimAttempts`). Undefined when that
 * failed (rolled back, logged): the orders are then claimed one by one, each under its own savepoint.
 */
async function claimTogether(
  client: PoolClient,
  runtime: PayinsRuntime,
  deps: TransitionDepsOf,
  ids: readonly string[],
  locked: Locked,
): Promise<Map<string, Claim | Error> | undefined> {
  try {
    return await withSavepoint(client, async () => {
      const claims = new Map<string, Claim | Error>();
      const claimable: Array<{ order: PaymentOrder; checkout: Checkout }> = [];
      for (const id of ids) {
        const row = locked.get(id);
        const skip = row === undefined ? 'not_found' : skipReason(row.order);
        if (skip !== undefined) claims.set(id, { skip });
        else if (row !== undefined) claimable.push(row);
      }
      const starting = claimable.filter((row) => row.order.status === 'NOT_STARTED');
      await applyOrderEvents(
        client,
        deps,
        starting.map((row) => ({
          paymentOrderId: row.order.paymentOrderId,
          event: { type: 'start' },
          facts: { details: { flow: 'saved_method' } },
        })),
      );
      const attempts = await claimAttempts(
        client,
        claimable.map((row) => row.order.paymentOrderId),
        runtime.config.sweepAfterMs,
      );
      for (const { order, checkout } of claimable) {
        const attempt = attempts.get(order.paymentOrderId) ?? order.attempts + 1;
        claims.set(order.paymentOrderId, { order, attempt, checkout });
      }
      return claims;
    });
  } catch (error) {
    if (isRetryableTxError(error)) throw error;
    runtime.ctx.log.warn(
      { err: error, orders: ids.length },
      'claiming a batch together failed; claiming its orders one by one',
    );
    return undefined;
  }
}

/** Why a locked order is not to be executed now; undefined when it is. */
function skipReason(order: PaymentOrder): string | undefined {
  if (order.status !== 'NOT_STARTED' && order.status !== 'EXECUTING') return `status ${order.status}`;
  if (order.needsAttention) return 'in the dead-letter queue';
  return undefined;
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
  const claim = (await claimOrders(runtime, [paymentOrderId])).get(paymentOrderId);
  if (claim === undefined) throw new Error(`payment order ${paymentOrderId} was not claimed`);
  if (claim instanceof Error) throw claim;
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
  if ('skip' in claim) return { outcome: 'skipped', why: claim.skip };
  const { order, attempt, checkout } = claim;
  const { paymentOrderId } = order;
  const paymentMethod =
    checkout && 'payment_method' in checkout.creditCardInfo
      ? checkout.creditCardInfo.payment_method
      : undefined;
  if (paymentMethod === undefined) return { outcome: 'skipped', why: 'not a saved-method checkout' };

  const answer = await chargingForSettlement(runtime, () => chargeOrFind(runtime, order, paymentMethod));
  if ('retry' in answer)
    return await scheduleRetry(runtime, paymentOrderId, attempt, answer.retry, options.random);
  if ('declined' in answer) {
    const { code, message } = answer.declined;
    ctx.log.warn({ paymentOrderId, attempt, declineCode: code }, 'payment order declined by the PSP');
    await settleInBatch(runtime, paymentOrderId, { kind: 'failed', code, message });
    return { outcome: 'settled', status: 'FAILED' };
  }
  const result = await settleInBatch(runtime, paymentOrderId, outcomeFromCharge(answer.charge));
  return { outcome: 'settled', status: result.order?.status ?? 'unknown' };
}

type ChargeAnswer =
  { charge: PspCharge } | { declined: { code: string; message: string } } | { retry: PspError };

/**
 * The order's charge at the PSP (a key derived from the order, identical on every retry), outside any
 * transaction. An unknown outcome is asked about before anything else: a payment found settles the order; none
 * found means the charge never happened, and a retry (same key) is still safe.
 */
async function chargeOrFind(
  runtime: PayinsRuntime,
  order: PaymentOrder,
  paymentMethod: string,
): Promise<ChargeAnswer> {
  const idempotencyKey = chargeIdempotencyKey(order.paymentOrderId);
  const metadata = chargeMetadata(order);
  try {
    const charge = await timedPspCall(runtime.metrics, 'charge', () =>
      runtime.psp.charge({
        idempotencyKey,
        amountMinor: order.amountMinor,
        currency: order.currency,
        paymentMethod,
        description: `payment order ${order.paymentOrderId} of checkout ${order.checkoutId}`,
        metadata,
      }),
    );
    return { charge };
  } catch (error) {
    if (!(error instanceof PspError)) throw error;
    if (error.failureClass === 'hard_decline')
      return { declined: { code: error.declineCode ?? error.pspCode ?? 'declined', message: error.message } };
    const charge =
      error.failureClass === 'unknown' ? await findQuietly(runtime, idempotencyKey, metadata) : undefined;
    return charge === undefined ? { retry: error } : { charge };
  }
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
  await noteRetry(ctx.pool, paymentOrderId, lastError, {
    retryInMs: delayMs,
    sweepInMs: delayMs + config.sweepAfterMs,
  });
  runtime.metrics.retries.inc({ queue: EXECUTE_QUEUE });
  ctx.log.warn(
    { paymentOrderId, attempt, delayMs, failureClass: error.failureClass },
    'PSP call failed; payment order retry scheduled',
  );
  return { outcome: 'retry_scheduled', attempt, delayMs };
}

/**
 * The dead-letter replay hook of the executor's letters: the order gets a fresh set of attempts and is queued at
 * once (`resetForReplay`). The orders table is the queue (no job to send): the workers' execute loops are woken
 * once the replay commits.
 */
export async function replayOrderExecution(client: PoolClient, letter: DeadLetter): Promise<'handled'> {
  const id = letter.payload.paymentOrderId;
  if (typeof id === 'string') {
    await resetForReplay(client, id);
    await notifyAfterCommit(client, EXECUTE_CHANNEL);
  }
  return 'handled';
}
