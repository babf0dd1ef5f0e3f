import type { PoolClient, Queryable } from '../db/pool.ts';
import { postEntry, pspFeeCharged } from '../ledger/index.ts';
import { jsonSafe, type Fix } from './domain/types.ts';
import type { PayoutSide } from './payouts-port.ts';

/** The normal flow got there first (the webhook arrived, the payout was settled): nothing to cure, nothing to file. */
export class FixNotNeeded extends Error {}

/** A pay-in settled by a cure, as the pay-in module answers: whether the order moved, and where it stands. */
export interface PayinSettleResult {
  applied: boolean;
  order?: { paymentOrderId: string; status: string } | undefined;
  why?: string;
}

/**
 * The pay-in side of a cure: the pay-in module's own settling functions (the webhook worker's), in the caller's
 * transaction. Wired in src/compose.ts; reconciliation never writes the `payins` schema itself.
 */
/** An order as reconciliation compares it with a report line. */
export interface PayinOrder {
  paymentOrderId: string;
  checkoutId: string;
  amountMinor: bigint;
  currency: string;
  status: 'NOT_STARTED' | 'EXECUTING' | 'PENDING' | 'SUCCESS' | 'FAILED';
  pspPaymentId: string | null;
  position: number;
}

export interface PayinSide {
  /** Orders by id, by checkout or by the PSP's payment id (the pay-in module's `findOrderFacts`). */
  findOrderFacts(
    db: Queryable,
    by: { paymentOrderIds: string[] } | { checkoutIds: string[] } | { pspPaymentIds: string[] },
  ): Promise<PayinOrder[]>;
  /** Orders in id order after `after`, with their statuses (the internal check against postings). */
  orderStatusesPage(
    db: Queryable,
    after: string,
    limit: number,
  ): Promise<Array<{ paymentOrderId: string; status: string }>>;
  /** Orders that succeeded in [from, before), in that order, after the keyset `after`. */
  succeededBetween(
    db: Queryable,
    from: Date,
    before: Date,
    after: { at: Date; checkoutId: string; position: number } | undefined,
    limit: number,
  ): Promise<Array<PayinOrder & { succeededAt: Date; flow: string }>>;
  settleCheckout(
    client: PoolClient,
    checkoutId: string,
    outcome: { kind: 'succeeded'; paymentId?: string | undefined; chargeId?: string | undefined },
    extra: { details: Record<string, unknown> },
  ): Promise<PayinSettleResult[]>;
  settleOrder(
    client: PoolClient,
    paymentOrderId: string,
    outcome: { kind: 'succeeded'; paymentId?: string | undefined; chargeId?: string | undefined },
    extra: { details: Record<string, unknown> },
  ): Promise<PayinSettleResult>;
}

export interface FixDeps {
  payins: PayinSide;
  payouts: PayoutSide;
}

/**
 * Applies a known cure, in the caller's transaction, through the code path the normal flow uses: the pay-in
 * webhook worker's `settleCheckout`/`settleOrder`, the ledger's `pspFeeCharged` recipe, the payouts module's
 * `settlePayout`. Writes the audit row naming the exception in the same transaction. Throws when the cure does not
 * take (the order or payout moved on): the caller rolls back and files the difference for investigation.
 */
export async function applyFix(
  client: PoolClient,
  deps: FixDeps,
  exceptionId: string,
  fix: Fix,
  effectiveAt: Date | undefined,
): Promise<string> {
  let result: string;
  switch (fix.type) {
    case 'settle_payin': {
      const outcome = { kind: 'succeeded' as const, paymentId: fix.paymentIntentId, chargeId: fix.chargeId };
      const extra = { details: { settled_by: 'reconciliation', exception_id: exceptionId } };
      const results =
        'checkoutId' in fix.target
          ? await deps.payins.settleCheckout(client, fix.target.checkoutId, outcome, extra)
          : [await deps.payins.settleOrder(client, fix.target.paymentOrderId, outcome, extra)];
      const moved = results.filter((r) => r.applied).map((r) => r.order?.paymentOrderId ?? '?');
      if (moved.length === 0 && results.every((r) => r.order?.status === 'SUCCESS')) {
        throw new FixNotNeeded('every order is settled already');
      }
      if (moved.length === 0) {
        throw new Error(`no order moved: ${results.map((r) => (r.applied ? 'moved' : r.why)).join(', ')}`);
      }
      result = `settled ${moved.join(', ')}`;
      break;
    }
    case 'book_psp_fee': {
      const posted = await postEntry(
        client,
        pspFeeCharged({
          currency: fix.currency,
          feeId: fix.balanceTransactionId,
          feeMinor: fix.feeMinor,
          reason: `booked by reconciliation (${exceptionId})`,
          ...(effectiveAt === undefined ? {} : { effectiveAt }),
          metadata: { exceptionId },
        }),
      );
      if (!posted.created) throw new FixNotNeeded(`the fee is booked already (${posted.entryId})`);
      result = `booked ${posted.entryId}`;
      break;
    }
    case 'settle_payout': {
      const settled = await deps.payouts.settle(client, fix.payoutId, {
        kind: fix.outcome,
        reason: fix.reason,
        reference: exceptionId,
        ...(effectiveAt === undefined ? {} : { effectiveAt }),
      });
      if (!settled.applied && settled.already) throw new FixNotNeeded(settled.detail);
      if (!settled.applied) throw new Error(`payout ${fix.payoutId} not settled: ${settled.detail}`);
      result = `payout ${fix.payoutId} ${settled.detail}`;
      break;
    }
  }
  await client.query(
    `INSERT INTO core.audit_log (actor, action, subject, details) VALUES ('reconciliation', 'reconciliation.auto_fix', $1, $2)`,
    [exceptionId, JSON.stringify({ fix: jsonSafe(fix), result })],
  );
  return result;
}
