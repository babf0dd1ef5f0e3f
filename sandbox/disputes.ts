import type { SandboxCtx } from './context.ts';
import { StripeApiError, missingResource } from './errors.ts';
import { emitEvent } from './events.ts';
import { newId } from './ids.ts';
import { balanceTransactionObject, unixSeconds, type Json } from './objects.ts';
import { getObject, insertObject, saveObject, type StoredObject } from './store.ts';
import { amountFromWire } from './wire-amount.ts';

/**
 * The life of a dispute after it opened (payments.ts `createDispute` opens it, with the withdrawal): evidence
 * saved and submitted, acceptance (Stripe's close), and the outcome. As with Stripe's test mode, the evidence text
 * decides: `winning_evidence` in `uncategorized_text` wins, `losing_evidence` loses, shortly after submission (the
 * scheduler's next tick); other evidence waits under review for an admin call. A won dispute gives the amount and
 * the dispute fee back (a `dispute_reversal` balance transaction) and sends `charge.dispute.funds_reinstated`.
 */

export const WINNING_EVIDENCE = 'winning_evidence';
export const LOSING_EVIDENCE = 'losing_evidence';

function unexpected(message: string): StripeApiError {
  return new StripeApiError(400, { type: 'invalid_request_error', message });
}

export async function lockedDispute(ctx: SandboxCtx, id: string): Promise<StoredObject> {
  const dispute = await getObject(ctx.db, id, { kind: 'dispute', forUpdate: true });
  if (dispute === undefined) throw missingResource('dispute', id);
  return dispute;
}

function awaitsResponse(dispute: StoredObject): boolean {
  const status = dispute.data.status;
  return status === 'needs_response' || status === 'warning_needs_response';
}

/** Saves evidence (text fields only) and, with `submit`, submits it: the dispute goes under review. */
export async function updateDisputeEvidence(
  ctx: SandboxCtx,
  dispute: StoredObject,
  request: { evidence: Record<string, string>; submit: boolean; metadata: Record<string, string> },
): Promise<StoredObject> {
  if (!awaitsResponse(dispute))
    throw unexpected(
      `This dispute is ${String(dispute.data.status)} and its evidence can no longer be updated.`,
    );
  const evidence = { ...((dispute.data.evidence ?? {}) as Json) };
  for (const [field, value] of Object.entries(request.evidence)) {
    if (!(field in evidence) || field === 'uncategorized_file')
      throw unexpected(`Received unknown parameter: evidence[${field}]`);
    evidence[field] = value;
  }
  const details: Json = { ...((dispute.data.evidence_details ?? {}) as Json), has_evidence: true };
  const previous = { status: dispute.data.status };
  dispute.data.evidence = evidence;
  dispute.data.metadata = { ...((dispute.data.metadata ?? {}) as Json), ...request.metadata };
  if (request.submit) {
    dispute.data.status =
      dispute.data.status === 'warning_needs_response' ? 'warning_under_review' : 'under_review';
    details.submission_count = Number(details.submission_count ?? 0) + 1;
    const text = String(evidence.uncategorized_text ?? '');
    const outcome = text.includes(WINNING_EVIDENCE)
      ? 'won'
      : text.includes(LOSING_EVIDENCE)
        ? 'lost'
        : undefined;
    if (outcome !== undefined) {
      dispute.internal.outcome = outcome;
      dispute.internal.resolveAt = ctx.now.getTime();
    }
  }
  dispute.data.evidence_details = details;
  await saveObject(ctx.db, dispute);
  await emitEvent(ctx, 'charge.dispute.updated', dispute.data, request.submit ? previous : undefined);
  return dispute;
}

/** Accepts the dispute (Stripe's close): it is lost (an inquiry: warning_closed). */
export async function acceptDispute(ctx: SandboxCtx, dispute: StoredObject): Promise<StoredObject> {
  if (!awaitsResponse(dispute))
    throw unexpected(`This dispute is ${String(dispute.data.status)} and cannot be closed.`);
  const warning = dispute.data.status === 'warning_needs_response';
  return await resolveDispute(ctx, dispute, warning ? 'warning_closed' : 'lost');
}

/** Closes the dispute as `outcome`; a won dispute whose money was withdrawn gets it back, with the fee. */
export async function resolveDispute(
  ctx: SandboxCtx,
  dispute: StoredObject,
  outcome: 'won' | 'lost' | 'warning_closed',
): Promise<StoredObject> {
  const status = String(dispute.data.status);
  if (status === 'won' || status === 'lost' || status === 'warning_closed')
    throw unexpected(`This dispute is already closed (${status}).`);
  const previous = { status };
  delete dispute.internal.resolveAt;
  delete dispute.internal.outcome;
  dispute.data.status = outcome;
  let reinstated = false;
  if (outcome === 'won') reinstated = await reinstate(ctx, dispute);
  await saveObject(ctx.db, dispute);
  await emitEvent(ctx, 'charge.dispute.closed', dispute.data, previous);
  if (reinstated) await emitEvent(ctx, 'charge.dispute.funds_reinstated', dispute.data);
  return dispute;
}

async function reinstate(ctx: SandboxCtx, dispute: StoredObject): Promise<boolean> {
  const txns = Array.isArray(dispute.data.balance_transactions)
    ? (dispute.data.balance_transactions as Json[])
    : [];
  const withdrawal = txns.find((txn) => amountFromWire(txn.amount, 'amount') < 0n);
  if (withdrawal === undefined) return false;
  const created = unixSeconds(ctx.now);
  const txnId = newId('txn');
  const txn = balanceTransactionObject({
    id: txnId,
    created,
    availableOn: created,
    amountMinor: -amountFromWire(withdrawal.amount, 'amount'),
    feeMinor: -amountFromWire(withdrawal.fee, 'fee'),
    currency: String(withdrawal.currency),
    description: `Chargeback reversal for ${String(dispute.data.charge)}`,
    source: dispute.id,
    type: 'adjustment',
    reportingCategory: 'dispute_reversal',
    feeDescription: 'Dispute fee refund',
  });
  // Given back as it was taken: in the same currency, at the same rate.
  txn.exchange_rate = withdrawal.exchange_rate ?? null;
  await insertObject(ctx.db, { id: txnId, object: 'balance_transaction', created, data: txn, internal: {} });
  dispute.data.balance_transactions = [...txns, txn];
  dispute.data.is_charge_refundable = false;
  return true;
}

/** Disputes whose submitted evidence decided their outcome, closed on the scheduler's tick. */
export async function resolveDueDisputes(ctx: SandboxCtx): Promise<number> {
  const due = await ctx.db.query<{ id: string }>(
    `SELECT id FROM sandbox.objects
      WHERE object = 'dispute' AND internal ? 'resolveAt' AND (internal ->> 'resolveAt')::bigint <= $1
      ORDER BY seq LIMIT 100`,
    [ctx.now.getTime()],
  );
  let resolved = 0;
  for (const row of due.rows) {
    const dispute = await lockedDispute(ctx, row.id);
    const outcome = dispute.internal.outcome;
    if (outcome !== 'won' && outcome !== 'lost') continue;
    await resolveDispute(ctx, dispute, outcome);
    resolved++;
  }
  return resolved;
}
