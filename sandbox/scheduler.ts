import type { SandboxCtx } from './context.ts';
import { expireSession } from './api-checkout.ts';
import { resolveDueDisputes } from './disputes.ts';
import { settleReview } from './payments.ts';
import { runDailyPayoutIfDue } from './payouts.ts';
import { settleDueRefunds } from './refunds.ts';
import { getObject, pruneIdempotencyKeys } from './store.ts';

/**
 * Time-driven work of the sandbox, run on every tick: payments in review whose delay has passed succeed, open
 * Checkout Sessions past `expires_at` expire, and the automatic payout runs once a day. Returns what it did.
 */
export async function runScheduledWork(
  ctx: SandboxCtx,
): Promise<{ settled: number; expired: number; payouts: number; disputes: number }> {
  const nowMs = ctx.now.getTime();
  const reviews = await ctx.db.query<{ id: string }>(
    `SELECT id FROM sandbox.objects
      WHERE object = 'payment_intent' AND data ->> 'status' = 'processing'
        AND internal ? 'reviewDueAt' AND (internal ->> 'reviewDueAt')::bigint <= $1
      ORDER BY seq LIMIT 100`,
    [nowMs],
  );
  for (const row of reviews.rows) await settleReview(ctx, row.id, 'succeed');
  const sessions = await ctx.db.query<{ id: string }>(
    `SELECT id FROM sandbox.objects
      WHERE object = 'checkout.session' AND data ->> 'status' = 'open' AND (data ->> 'expires_at')::bigint <= $1
      ORDER BY seq LIMIT 100`,
    [Math.floor(nowMs / 1000)],
  );
  let expired = 0;
  for (const row of sessions.rows) {
    const session = await getObject(ctx.db, row.id, { kind: 'checkout.session', forUpdate: true });
    if (session !== undefined && session.data.status === 'open') {
      await expireSession(ctx, session);
      expired++;
    }
  }
  const disputes = await resolveDueDisputes(ctx);
  await settleDueRefunds(ctx, nowMs);
  const payouts = ctx.config.automaticPayouts ? await runDailyPayoutIfDue(ctx) : [];
  await pruneIdempotencyKeys(ctx.db, new Date(Date.now() - 24 * 3600 * 1000));
  return { settled: reviews.rows.length, expired, payouts: payouts.length, disputes };
}

/** How often the scheduler's whole pass runs even when nothing is due (it also forgets day-old idempotency keys). */
export const FULL_PASS_EVERY_MS = 60_000;

/**
 * Whether `runScheduledWork` has anything to do now, in one read-only statement outside any transaction: a review
 * or a session, dispute or refund due, or the daily payout not yet run today. The loop runs the whole pass (in
 * its transaction) only then, or every `FULL_PASS_EVERY_MS`, so an idle sandbox costs one statement a tick.
 */
export async function scheduledWorkDue(
  db: SandboxCtx['db'],
  now: Date,
  automaticPayouts: boolean,
): Promise<boolean> {
  const nowMs = now.getTime();
  const result = await db.query<{ due: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM sandbox.objects
                     WHERE object = 'payment_intent' AND data ->> 'status' = 'processing'
                       AND internal ? 'reviewDueAt' AND (internal ->> 'reviewDueAt')::bigint <= $1)
         OR EXISTS (SELECT 1 FROM sandbox.objects
                     WHERE object = 'checkout.session' AND data ->> 'status' = 'open'
                       AND (data ->> 'expires_at')::bigint <= $2)
         OR EXISTS (SELECT 1 FROM sandbox.objects
                     WHERE object = 'dispute' AND internal ? 'resolveAt' AND (internal ->> 'resolveAt')::bigint <= $1)
         OR EXISTS (SELECT 1 FROM sandbox.objects
                     WHERE object = 'refund' AND internal ? 'settleAt' AND (internal ->> 'settleAt')::bigint <= $1)
         OR ($3 AND (SELECT value #>> '{}' FROM sandbox.state WHERE key = 'last_payout_day') IS DISTINCT FROM $4)
         AS due`,
    [nowMs, Math.floor(nowMs / 1000), automaticPayouts, now.toISOString().slice(0, 10)],
  );
  return result.rows[0]?.due === true;
}
