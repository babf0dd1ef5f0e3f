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
