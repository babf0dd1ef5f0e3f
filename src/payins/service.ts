import type { PoolClient } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { AppError } from '../errors.ts';
import { answerFromRecord as sharedAnswer, requestInProgress } from '../idempotency/index.ts';
import { PspError } from '../psp/index.ts';
import type { RiskAssessment } from '../risk/index.ts';
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  findIdempotencyRecord,
  releaseIdempotencyKey,
  takeOverIdempotencyKey,
  type IdempotencyRecord,
} from './idempotency.ts';
import { hostedSessionRequest } from './hosted-session.ts';
import { timedPspCall } from './metrics.ts';
import type { PayinsRuntime } from './runtime.ts';
import { EXECUTE_CHANNEL } from './runtime.ts';
import { convertOrders, recordConversions } from './convert.ts';
import { getCheckout, getOrders, insertCheckout } from './store.ts';
import { latestRiskDecision, storeSession } from './work-store.ts';
import { applyOrderEvent, type TransitionDeps } from './transitions.ts';
import { buyerAccountOf, type CheckoutRequest } from './types.ts';
import { checkoutToWire } from './wire.ts';
import { notifyAfterCommit } from '../db/notify.ts';

export interface CreateCheckoutCommand {
  apiKeyId: string;
  idempotencyKey: string;
  fingerprint: Buffer;
  request: CheckoutRequest;
}

export interface StoredResponse {
  status: number;
  body: unknown;
  replayed: boolean;
}

export function transitionDeps(runtime: PayinsRuntime): TransitionDeps {
  return {
    ledger: runtime.ledger,
    sellerTerms: runtime.sellerTerms,
    effects: runtime.effects,
    metrics: runtime.metrics,
    log: runtime.ctx.log,
  };
}

/**
 * What an existing Idempotency-Key row means for a new request with that key: the stored answer again, a
 * refusal, or — when the first request died holding the key — the go-ahead to finish its work.
 */
function answerFromRecord(
  runtime: PayinsRuntime,
  record: IdempotencyRecord,
  fingerprint: Buffer,
): StoredResponse | 'take_over' {
  const answer = sharedAnswer(record, fingerprint);
  if (answer.outcome === 'replay') {
    runtime.metrics.idempotentReplays.inc();
    return { status: answer.status, body: answer.body, replayed: true };
  }
  if (answer.outcome === 'in_progress') {
    runtime.metrics.inFlightConflicts.inc();
    throw requestInProgress(answer.retryAfterSeconds);
  }
  return 'take_over';
}

/**
 * `POST /v1/payments`. The Idempotency-Key row, the checkout, its orders, the risk decision, the jobs and (for
 * saved methods) the stored response commit in one transaction; the unique keys settle races between processes.
 * The hosted flow then calls the PSP outside any transaction and records the session in a second one.
 */
export async function createCheckout(
  runtime: PayinsRuntime,
  command: CreateCheckoutCommand,
): Promise<StoredResponse> {
  const { ctx, config } = runtime;
  for (let round = 0; round < 4; round++) {
    // A new key is the common case: the first round goes straight to claiming it (the claim is what settles
    // races anyway). Only a key found taken is read, to answer from it.
    const existing =
      round === 0
        ? undefined
        : await findIdempotencyRecord(ctx.pool, command.apiKeyId, command.idempotencyKey);
    if (existing) {
      const answer = answerFromRecord(runtime, existing, command.fingerprint);
      if (answer !== 'take_over') return answer;
      if (
        !(await takeOverIdempotencyKey(
          ctx.pool,
          command.apiKeyId,
          command.idempotencyKey,
          config.inProgressLeaseMs,
        ))
      )
        continue;
      return await finishHostedCheckout(runtime, command, existing.checkoutId ?? command.request.checkoutId);
    }

    // The risk check may call a third party: it runs before the transaction, never inside it.
    const assessment = await assess(runtime, command.request);
    const outcome = await withTransaction(ctx.pool, async (client) => {
      const claimed = await claimIdempotencyKey(client, {
        apiKeyId: command.apiKeyId,
        key: command.idempotencyKey,
        fingerprint: command.fingerprint,
        checkoutId: command.request.checkoutId,
        ttlMs: config.idempotencyTtlMs,
        leaseMs: config.inProgressLeaseMs,
      });
      if (!claimed) return 'lost_race' as const;
      return await recordCheckout(runtime, client, command, assessment);
    });
    if (outcome === 'lost_race') continue;
    runtime.metrics.riskDecisions.inc({ decision: assessment.decision, provider: assessment.provider });
    if (outcome === 'hosted_pending')
      return await finishHostedCheckout(runtime, command, command.request.checkoutId);
    return outcome;
  }
  throw new AppError('request_in_progress', 'a request with this Idempotency-Key is still being processed', {
    retryAfterSeconds: 1,
  });
}

async function assess(runtime: PayinsRuntime, request: CheckoutRequest): Promise<RiskAssessment> {
  return await runtime.risk.assess({
    checkoutId: request.checkoutId,
    buyerInfo: request.buyerInfo,
    currency: request.currency,
    totalMinor: request.totalMinor,
    orders: request.orders.map((order) => ({
      paymentOrderId: order.paymentOrderId,
      sellerAccount: order.sellerAccount,
      amountMinor: order.amountMinor,
    })),
  });
}

type CheckoutSellers = Awaited<ReturnType<PayinsRuntime['sellerTerms']['checkoutSellers']>>;

/**
 * The checkout's sellers, share-locked: every one registered (else `seller_unknown`, the first such order named)
 * and none deactivated (else `seller_inactive`; docs/api.md "Seller maintenance").
 */
async function sellersOf(
  runtime: PayinsRuntime,
  client: PoolClient,
  request: CreateCheckoutCommand['request'],
): Promise<CheckoutSellers> {
  const sellers = await runtime.sellerTerms.checkoutSellers(
    client,
    request.orders.map((order) => order.sellerAccount),
  );
  const unknown = request.orders.findIndex((order) => !sellers.has(order.sellerAccount));
  const missing = request.orders[unknown];
  if (missing) {
    const field = `payment_orders.${unknown}.seller_account`;
    throw new AppError('seller_unknown', `${field}: seller ${missing.sellerAccount} is not registered`, {
      field,
    });
  }
  const index = request.orders.findIndex((order) => sellers.get(order.sellerAccount)?.status === 'inactive');
  const inactive = request.orders[index];
  if (inactive) {
    const field = `payment_orders.${index}.seller_account`;
    throw new AppError('seller_inactive', `${field}: seller ${inactive.sellerAccount} is deactivated`, {
      field,
    });
  }
  return sellers;
}

async function recordCheckout(
  runtime: PayinsRuntime,
  client: PoolClient,
  command: CreateCheckoutCommand,
  assessment: RiskAssessment,
): Promise<StoredResponse | 'hosted_pending'> {
  const { request } = command;
  const sellers = await sellersOf(runtime, client, request);
  const conversions = await convertOrders(runtime.conversion, client, request, sellers);
  // The checkout, its orders, their history and the risk decision: one statement.
  const stored = await insertCheckout(client, request, {
    apiKeyId: command.apiKeyId,
    buyerAccount: buyerAccountOf(request.buyerInfo),
    risk: { provider: assessment.provider, decision: assessment.decision, reasons: assessment.reasons },
    // A saved method's orders are queued for the executor in the same statement (the orders table is its queue).
    executeNow: request.flow === 'saved_method' && assessment.decision !== 'reject',
  });
  await recordConversions(client, request, conversions);
  const deps = transitionDeps(runtime);
  if (assessment.decision === 'reject') {
    // No PSP call at all: the orders fail here, with the reason, and the checkout is done.
    for (const order of request.orders) {
      await applyOrderEvent(
        client,
        deps,
        order.paymentOrderId,
        { type: 'risk_rejected' },
        { details: { reasons: assessment.reasons } },
      );
    }
  } else if (request.flow === 'saved_method') {
    // Wakes the workers' execute loops once this transaction has committed (they also poll: a lost wake-up only waits).
    await notifyAfterCommit(client, EXECUTE_CHANNEL);
  } else {
    // Hosted page: the orders start now; the PSP session is registered right after this transaction commits.
    for (const order of request.orders) {
      await applyOrderEvent(
        client,
        deps,
        order.paymentOrderId,
        { type: 'start' },
        { details: { flow: 'hosted_page' } },
      );
    }
    return 'hosted_pending';
  }
  // Saved method or rejected: the answer. Orders a rejection moved are read back; the saved method's are as stored.
  const response =
    assessment.decision === 'reject'
      ? await checkoutResponse(client, request.checkoutId, assessment)
      : { status: 201, body: checkoutToWire(stored.checkout, stored.orders, assessment) };
  await completeIdempotencyKey(client, command.apiKeyId, command.idempotencyKey, response);
  return { ...response, replayed: false };
}

async function checkoutResponse(
  client: PoolClient,
  checkoutId: string,
  assessment: { decision: string; reasons: string[] } | undefined,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const checkout = await getCheckout(client, checkoutId);
  if (!checkout) throw new Error(`checkout ${checkoutId} vanished inside its own transaction`);
  const orders = await getOrders(client, checkoutId);
  return { status: 201, body: checkoutToWire(checkout, orders, assessment) };
}

/**
 * Hosted page, second half: register one PSP session for the checkout total (idempotency key from the
 * checkout, so a retry or a take-over gets the same session), then store the token and the answer together.
 */
async function finishHostedCheckout(
  runtime: PayinsRuntime,
  command: CreateCheckoutCommand,
  checkoutId: string,
): Promise<StoredResponse> {
  const { ctx } = runtime;
  const checkout = await getCheckout(ctx.pool, checkoutId);
  if (!checkout || !('flow' in checkout.creditCardInfo))
    throw new Error(`checkout ${checkoutId} is not a hosted checkout`);
  const returnUrl = checkout.creditCardInfo.return_url;
  const orders = await getOrders(ctx.pool, checkoutId);
  let session;
  try {
    session = await timedPspCall(runtime.metrics, 'create_session', () =>
      runtime.psp.createHostedSession(
        hostedSessionRequest(
          { checkoutId, totalMinor: checkout.totalMinor, currency: checkout.currency, returnUrl },
          orders.map((order) => order.paymentOrderId),
        ),
      ),
    );
  } catch (error) {
    if (error instanceof PspError && error.failureClass === 'hard_decline') {
      return await withTransaction(ctx.pool, async (client) => {
        const deps = transitionDeps(runtime);
        for (const order of orders) {
          await applyOrderEvent(
            client,
            deps,
            order.paymentOrderId,
            { type: 'psp_failed', code: error.pspCode ?? 'psp_refused' },
            {
              lastError: error.message,
            },
          );
        }
        const response = await checkoutResponse(client, checkoutId, undefined);
        await completeIdempotencyKey(client, command.apiKeyId, command.idempotencyKey, response);
        return { ...response, replayed: false };
      });
    }
    // Transient or unknown: nothing is held. A retry with the same Idempotency-Key takes over at once, and the
    // PSP returns the same session for the same key; the poller also registers it if nobody retries.
    await releaseIdempotencyKey(ctx.pool, command.apiKeyId, command.idempotencyKey);
    const retryAfterSeconds =
      error instanceof PspError && error.retryAfterSeconds !== undefined
        ? Math.max(1, error.retryAfterSeconds)
        : 2;
    throw new AppError(
      'service_unavailable',
      'the payment provider did not answer; retry with the same Idempotency-Key',
      {
        retryAfterSeconds,
        cause: error,
      },
    );
  }
  return await withTransaction(ctx.pool, async (client) => {
    await storeSession(client, checkoutId, session, runtime.config.pollAfterMs);
    const response = await checkoutResponse(client, checkoutId, await latestRiskDecision(client, checkoutId));
    await completeIdempotencyKey(client, command.apiKeyId, command.idempotencyKey, response);
    return { ...response, replayed: false };
  });
}
