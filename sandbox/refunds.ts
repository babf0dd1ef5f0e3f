import type { SandboxCtx } from './context.ts';
import { emitEvent } from './events.ts';
import { newId } from './ids.ts';
import { balanceTransactionObject, unixSeconds, type Json } from './objects.ts';
import { getObject, insertObject, saveObject, type StoredObject } from './store.ts';
import { amountFromWire, amountToWire } from './wire-amount.ts';

/**
 * Asynchronous refunds, as Stripe's test cards make them (docs/sandbox.md): a refund starts `pending` and succeeds
 * `refundDelayMs` later (the scheduler settles it), with `refund.updated` and `charge.refund.updated` events. The
 * refund test cards change that: 4000000000005126 (Stripe's) starts `succeeded` and fails later
 * (`expired_or_canceled_card`); 4000000000005118 (the sandbox's choice) stays pending and then fails.
 */
export type RefundBehaviour = 'succeed' | 'fail' | 'fail_after_success';

export const REFUND_TEST_CARDS: Record<string, RefundBehaviour> = {
  '4000000000005126': 'fail_after_success',
  '4000000000005118': 'fail',
};

/** The failure reason the failing test cards give, as Stripe's does. */
export const REFUND_FAILURE_REASON = 'expired_or_canceled_card';

/** How a refund of `charge` behaves, by the card it was paid with. */
export async function refundBehaviourOf(ctx: SandboxCtx, charge: StoredObject): Promise<RefundBehaviour> {
  const methodId = charge.data.payment_method;
  if (typeof methodId !== 'string') return 'succeed';
  const method = await getObject(ctx.db, methodId, { kind: 'payment_method' });
  const number = String(method?.internal.number ?? '');
  return REFUND_TEST_CARDS[number] ?? 'succeed';
}

/** The refund's first status and when the scheduler settles it next (epoch ms). */
export function refundStart(
  behaviour: RefundBehaviour,
  nowMs: number,
  delayMs: number,
): { status: 'pending' | 'succeeded'; settleAt: number } {
  return { status: behaviour === 'fail_after_success' ? 'succeeded' : 'pending', settleAt: nowMs + delayMs };
}

/** Keeps the charge's embedded copy of the refund in step with the refund. */
function syncCharge(charge: StoredObject, refund: StoredObject, refundedDeltaMinor: bigint): void {
  const refunds = (charge.data.refunds ?? { object: 'list', data: [] }) as Json;
  const list = Array.isArray(refunds.data) ? (refunds.data as Json[]) : [];
  charge.data.refunds = {
    ...refunds,
    data: list.map((item) => (item.id === refund.id ? refund.data : item)),
  };
  if (refundedDeltaMinor !== 0n) {
    const refunded = amountFromWire(charge.data.amount_refunded, 'amount_refunded') + refundedDeltaMinor;
    charge.data.amount_refunded = amountToWire(refunded);
    charge.data.refunded = refunded === amountFromWire(charge.data.amount, 'amount');
  }
}

/**
 * A failed refund gives its money back to the balance: a `refund_failure` balance transaction, the refund's own
 * turned around (a refund settled in another currency comes back as it left, at its rate).
 */
async function refundFailureTxn(ctx: SandboxCtx, refund: StoredObject): Promise<string> {
  const created = unixSeconds(ctx.now);
  const txnId = newId('txn');
  const left =
    typeof refund.data.balance_transaction === 'string'
      ? await getObject(ctx.db, refund.data.balance_transaction, { kind: 'balance_transaction' })
      : undefined;
  const txn = balanceTransactionObject({
    id: txnId,
    created,
    availableOn: created,
    amountMinor:
      left === undefined
        ? amountFromWire(refund.data.amount, 'amount')
        : -amountFromWire(left.data.amount, 'amount'),
    feeMinor: 0n,
    currency: String(left?.data.currency ?? refund.data.currency),
    description: 'REFUND FAILURE',
    source: refund.id,
    type: 'refund_failure',
    reportingCategory: 'refund_failure',
  });
  txn.exchange_rate = left?.data.exchange_rate ?? null;
  await insertObject(ctx.db, { id: txnId, object: 'balance_transaction', created, data: txn, internal: {} });
  return txnId;
}

/** Settles one refund whose time has come (the scheduler's work; the admin endpoint may force it). */
export async function settleSandboxRefund(
  ctx: SandboxCtx,
  refundId: string,
): Promise<StoredObject | undefined> {
  const refund = await getObject(ctx.db, refundId, { kind: 'refund', forUpdate: true });
  if (refund === undefined) return undefined;
  const behaviour = (refund.internal.behaviour ?? 'succeed') as RefundBehaviour;
  const charge = await getObject(ctx.db, String(refund.data.charge), { kind: 'charge', forUpdate: true });
  delete refund.internal.settleAt;
  const fails = behaviour !== 'succeed';
  if (!fails && refund.data.status !== 'pending') return refund;
  if (fails && refund.data.status === 'failed') return refund;
  const previous = { status: refund.data.status };
  if (fails) {
    refund.data.status = 'failed';
    refund.data.failure_reason = REFUND_FAILURE_REASON;
    refund.data.failure_balance_transaction = await refundFailureTxn(ctx, refund);
  } else {
    refund.data.status = 'succeeded';
  }
  await saveObject(ctx.db, refund);
  if (charge !== undefined) {
    syncCharge(charge, refund, fails ? -amountFromWire(refund.data.amount, 'amount') : 0n);
    await saveObject(ctx.db, charge);
    await emitEvent(ctx, 'charge.refund.updated', refund.data, previous);
  }
  if (fails) await emitEvent(ctx, 'refund.failed', refund.data, previous);
  await emitEvent(ctx, 'refund.updated', refund.data, previous);
  return refund;
}

/** Refunds due to settle at `nowMs`. */
export async function settleDueRefunds(ctx: SandboxCtx, nowMs: number): Promise<number> {
  const due = await ctx.db.query<{ id: string }>(
    `SELECT id FROM sandbox.objects
      WHERE object = 'refund' AND internal ? 'settleAt' AND (internal ->> 'settleAt')::bigint <= $1
      ORDER BY seq LIMIT 100`,
    [nowMs],
  );
  for (const row of due.rows) await settleSandboxRefund(ctx, row.id);
  return due.rows.length;
}
