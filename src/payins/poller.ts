import { withTransaction } from '../db/tx.ts';
import { backoffCeilingMs } from '../jobs/backoff.ts';
import { PspError, type HostedSession } from '../psp/index.ts';
import { forEachIsolated, loopGuard } from '../jobs/loops.ts';
import { hostedSessionRequest } from './hosted-session.ts';
import { timedPspCall } from './metrics.ts';
import type { PayinsRuntime } from './runtime.ts';
import { transitionDeps } from './service.ts';
import { outcomeFromSession, settleCheckout } from './settle.ts';
import { getOrders } from './store.ts';
import {
  checkoutsDueForPoll,
  deferPoll,
  flagPollsExhausted,
  storeMissingSession,
  type DueCheckout,
} from './work-store.ts';

export interface PollReport {
  examined: number;
  settled: number;
  pending: number;
  flagged: number;
  errors: number;
}

type DueRow = DueCheckout;

/**
 * The poller: hosted checkouts with no final webhook past `pollAfterMs` are asked about at the PSP on a bounded,
 * doubling schedule until final or expired, so a deployment whose PSP sends no webhooks still settles. A checkout
 * whose session was never stored (the POST died mid-call and the client never retried) gets it registered here,
 * with the same idempotency key, so the PSP returns the session it may already have made.
 */
export async function pollOnce(runtime: PayinsRuntime, limit = 50): Promise<PollReport> {
  const { ctx } = runtime;
  const report: PollReport = { examined: 0, settled: 0, pending: 0, flagged: 0, errors: 0 };
  const due = await checkoutsDueForPoll(ctx.pool, runtime.config.pollAfterMs, limit);
  // One checkout whose poll throws is logged and counted, and the others are polled anyway.
  await forEachIsolated(
    loopGuard(ctx),
    'poll',
    due,
    (row) => ({ checkoutId: row.checkout_id }),
    async (row) => {
      report.examined++;
      report[await pollCheckout(runtime, row)]++;
    },
  );
  return report;
}

async function pollCheckout(
  runtime: PayinsRuntime,
  row: DueRow,
): Promise<'settled' | 'pending' | 'flagged' | 'errors'> {
  const { ctx } = runtime;
  let session: HostedSession;
  try {
    session = await timedPspCall(runtime.metrics, 'retrieve_session', () =>
      row.psp_session_id !== null
        ? runtime.psp.retrieveHostedSession(row.psp_session_id)
        : registerSession(runtime, row),
    );
  } catch (error) {
    if (!(error instanceof PspError)) throw error;
    return (await scheduleNext(runtime, row, `poll: ${error.failureClass}: ${error.message}`))
      ? 'flagged'
      : 'errors';
  }
  if (row.psp_session_id === null) {
    await storeMissingSession(ctx.pool, row.checkout_id, session);
  }
  const outcome = outcomeFromSession(session);
  await withTransaction(ctx.pool, (client) =>
    settleCheckout(client, transitionDeps(runtime), row.checkout_id, outcome, {
      details: { settled_by: 'poller' },
    }),
  );
  if (outcome.kind !== 'pending') return 'settled';
  const flagged = await scheduleNext(runtime, row, 'poll: still pending at the PSP');
  return flagged ? 'flagged' : 'pending';
}

/**
 * Asks the PSP for the checkout's session with the request the POST made (same key, same parameters), so a session
 * the PSP already made is returned, not refused as a reused key, and none is made twice.
 */
async function registerSession(runtime: PayinsRuntime, row: DueRow): Promise<HostedSession> {
  const orders = await getOrders(runtime.ctx.pool, row.checkout_id);
  return await runtime.psp.createHostedSession(
    hostedSessionRequest(
      {
        checkoutId: row.checkout_id,
        totalMinor: row.total_minor,
        currency: row.currency,
        returnUrl: row.credit_card_info.return_url ?? 'http://127.0.0.1/',
      },
      orders.map((order) => order.paymentOrderId),
    ),
  );
}

/** Next poll on a doubling, capped delay; returns true when the polls ran out and the orders were flagged. */
async function scheduleNext(runtime: PayinsRuntime, row: DueRow, reason: string): Promise<boolean> {
  const { ctx, config } = runtime;
  const count = row.poll_count + 1;
  if (count >= config.maxPolls) {
    await withTransaction(ctx.pool, (client) =>
      flagPollsExhausted(client, row.checkout_id, count, reason.slice(0, 500)),
    );
    return true;
  }
  const delayMs = backoffCeilingMs(count, {
    maxAttempts: config.maxPolls,
    baseDelayMs: config.pollBaseDelayMs,
    maxDelayMs: config.pollMaxDelayMs,
    jitterRatio: 0,
  });
  await deferPoll(ctx.pool, row.checkout_id, count, delayMs);
  return false;
}
