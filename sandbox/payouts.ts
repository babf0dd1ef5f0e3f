import type { SandboxCtx } from './context.ts';
import { emitEvent } from './events.ts';
import { newId } from './ids.ts';
import { balanceTransactionObject, payoutObject, unixSeconds } from './objects.ts';
import { insertObject, readState, writeState, type StoredObject } from './store.ts';

/**
 * The sandbox balance and its automatic daily payouts to the platform's bank account. The balance is the sum of
 * balance transactions' `net`: available once `available_on` has passed, pending before.
 */

export interface BalanceAmounts {
  currency: string;
  availableMinor: bigint;
  pendingMinor: bigint;
}

export async function balances(ctx: SandboxCtx): Promise<BalanceAmounts[]> {
  const now = unixSeconds(ctx.now);
  const result = await ctx.db.query<{ currency: string; available: bigint; pending: bigint }>(
    `SELECT data ->> 'currency' AS currency,
            COALESCE(SUM((data ->> 'net')::bigint) FILTER (WHERE (data ->> 'available_on')::bigint <= $1), 0)::bigint AS available,
            COALESCE(SUM((data ->> 'net')::bigint) FILTER (WHERE (data ->> 'available_on')::bigint > $1), 0)::bigint AS pending
       FROM sandbox.objects WHERE object = 'balance_transaction' GROUP BY 1 ORDER BY 1`,
    [now],
  );
  return result.rows.map((row) => ({
    currency: row.currency,
    availableMinor: row.available,
    pendingMinor: row.pending,
  }));
}

/**
 * Pays out, per currency, the available balance: the balance transactions that became available and were not paid
 * out yet are stamped with the payout (the report's `automatic_payout_id`), and a `payout` transaction takes the
 * amount off the balance. Returns the payouts made (none when nothing is available).
 */
export async function runPayouts(ctx: SandboxCtx): Promise<StoredObject[]> {
  // One payout run at a time, even across processes.
  await ctx.db.query("SELECT pg_advisory_xact_lock(hashtext('sandbox.payouts'))");
  const now = unixSeconds(ctx.now);
  const due = await ctx.db.query<{ currency: string; amount: bigint }>(
    `SELECT data ->> 'currency' AS currency, SUM((data ->> 'net')::bigint)::bigint AS amount
       FROM sandbox.objects
      WHERE object = 'balance_transaction' AND (data ->> 'available_on')::bigint <= $1
        AND NOT (internal ? 'payout') AND data ->> 'type' <> 'payout'
      GROUP BY 1 ORDER BY 1`,
    [now],
  );
  const payouts: StoredObject[] = [];
  for (const row of due.rows) {
    if (row.amount <= 0n) continue;
    const id = newId('po');
    const txnId = newId('txn');
    const txn = balanceTransactionObject({
      id: txnId,
      created: now,
      availableOn: now,
      amountMinor: -row.amount,
      feeMinor: 0n,
      currency: row.currency,
      description: 'STRIPE PAYOUT',
      source: id,
      type: 'payout',
      reportingCategory: 'payout',
    });
    await insertObject(ctx.db, {
      id: txnId,
      object: 'balance_transaction',
      created: now,
      data: txn,
      internal: { payout: id },
    });
    await ctx.db.query(
      `UPDATE sandbox.objects SET internal = internal || jsonb_build_object('payout', $3::text)
        WHERE object = 'balance_transaction' AND data ->> 'currency' = $1 AND (data ->> 'available_on')::bigint <= $2
          AND NOT (internal ? 'payout') AND data ->> 'type' <> 'payout'`,
      [row.currency, now, id],
    );
    const data = payoutObject({
      id,
      created: now,
      arrivalDate: now,
      amountMinor: row.amount,
      currency: row.currency,
      automatic: true,
      balanceTransaction: txnId,
      description: 'STRIPE PAYOUT',
      metadata: {},
    });
    const payout: StoredObject = { id, object: 'payout', created: now, data, internal: {} };
    await insertObject(ctx.db, payout);
    await emitEvent(ctx, 'payout.created', data);
    await emitEvent(ctx, 'payout.paid', data);
    payouts.push(payout);
  }
  return payouts;
}

const LAST_PAYOUT_DAY = 'last_payout_day';

/** Runs the automatic payout once per UTC day of the sandbox clock; the first day only records itself. */
export async function runDailyPayoutIfDue(ctx: SandboxCtx): Promise<StoredObject[]> {
  const today = ctx.now.toISOString().slice(0, 10);
  const last = await readState<string>(ctx.db, LAST_PAYOUT_DAY);
  if (last === today) return [];
  await writeState(ctx.db, LAST_PAYOUT_DAY, today);
  if (last === undefined) return [];
  return runPayouts(ctx);
}
