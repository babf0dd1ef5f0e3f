import type { PoolClient } from '../db/pool.ts';
import { recordEvent } from '../events/index.ts';
import type { PspEventMeaning, PspRefundFacts } from '../psp/index.ts';
import { newRefundId } from './ids.ts';
import type { RefundsRuntime } from './runtime.ts';
import { applyPspAnswer } from './settle.ts';
import { adjustRefundable, getRefund, getRefundByPspId, insertRefund, lockRefundable } from './store.ts';
import type { RefundableOrder } from './types.ts';
import { refundToWire } from './wire.ts';

/** Who told Bursar about a PSP refund: its webhook, or the refund worker's discovery (GET /v1/refunds). */
export type PspRefundVia = 'webhook' | 'discovery';

/**
 * The handler of refund webhooks (`pspEventHandlers.refund`, src/compose.ts), inside the PSP event's processing
 * transaction (no network calls): each refund the event carries goes through `applyPspRefundFacts`, in the order of
 * their PSP ids (so two events carrying the same refunds take their locks in one order). Returns the outcome stored
 * on the event.
 */
export async function handleRefundEvent(
  client: PoolClient,
  rt: RefundsRuntime,
  meaning: Extract<PspEventMeaning, { subject: 'refund' }>,
): Promise<string> {
  const outcomes: string[] = [];
  const inOrder = [...meaning.refunds].sort((a, b) =>
    a.refundId < b.refundId ? -1 : a.refundId > b.refundId ? 1 : 0,
  );
  for (const facts of inOrder)
    outcomes.push(`${facts.refundId}: ${await applyPspRefundFacts(client, rt, facts, 'webhook')}`);
  return outcomes.join('; ') || 'no refund';
}

/** The transaction-level advisory lock of one PSP refund id (held until the caller's transaction ends). */
export async function lockPspRefund(client: PoolClient, pspRefundId: string): Promise<void> {
  await client.query("SELECT pg_advisory_xact_lock(hashtextextended('refunds.psp_refund:' || $1, 0))", [
    pspRefundId,
  ]);
}

/**
 * What the PSP says of one refund, applied in the caller's transaction, by the webhook path and the discovery
 * alike. Under the PSP refund id's advisory lock, so a webhook and a discovery racing on one refund run one after
 * the other and the second finds the first's work. Our refund (by the refund id in its metadata, or by the PSP's
 * refund id) takes the PSP's answer (`applyPspAnswer`: settled, or reversed when it failed after succeeding); a
 * succeeded refund we never made (in the PSP's dashboard) is recorded with `source: "psp"` and booked by the same
 * recipe; anything else of the PSP's own is left alone.
 */
export async function applyPspRefundFacts(
  client: PoolClient,
  rt: RefundsRuntime,
  facts: PspRefundFacts,
  via: PspRefundVia,
): Promise<string> {
  await lockPspRefund(client, facts.refundId);
  const ours =
    (facts.bursarRefundId === undefined
      ? undefined
      : await getRefund(client, facts.bursarRefundId, { forUpdate: true })) ??
    (await getRefundByPspId(client, facts.refundId, { forUpdate: true }));
  const answer = { pspRefundId: facts.refundId, state: facts.state, failureReason: facts.failureReason };
  if (ours) return await applyPspAnswer(client, rt, ours, answer, via);
  if (facts.state !== 'succeeded') return `ignored: ${facts.state} refund made outside Bursar`;
  return await recordPspOriginRefund(client, rt, facts, via);
}

/** The order a refund made at the PSP is for: of the charge's orders, the first with enough left to refund. */
async function orderFor(
  client: PoolClient,
  rt: RefundsRuntime,
  facts: PspRefundFacts,
): Promise<RefundableOrder | undefined> {
  if (facts.paymentId === undefined) return undefined;
  const orders = (await rt.orders.byPspPayment(client, facts.paymentId))
    .filter((order) => order.status === 'SUCCESS' && order.currency === facts.currency)
    .sort((a, b) => a.position - b.position);
  for (const order of orders) {
    const refundable = await lockRefundable(client, order);
    if (refundable.capturedMinor - refundable.refundedMinor >= facts.amountMinor) return order;
  }
  return undefined;
}

async function recordPspOriginRefund(
  client: PoolClient,
  rt: RefundsRuntime,
  facts: PspRefundFacts,
  via: PspRefundVia,
): Promise<string> {
  const order = await orderFor(client, rt, facts);
  if (!order || order.pspPaymentId === null) {
    // Discovery sees the same refund at every look for 72 hours: said once loudly (by its webhook), then quietly.
    rt.ctx.log[via === 'webhook' ? 'warn' : 'debug'](
      { pspRefundId: facts.refundId, pspPaymentId: facts.paymentId },
      'refund made at the PSP matches no order with enough left to refund; left to reconciliation',
    );
    return 'unmatched: no order of ours with enough left to refund';
  }
  const policy = await rt.terms.refundPolicyFor(client, order.sellerAccount);
  const id = newRefundId();
  await adjustRefundable(client, order.paymentOrderId, { refunded: facts.amountMinor });
  await insertRefund(client, {
    id,
    paymentOrderId: order.paymentOrderId,
    checkoutId: order.checkoutId,
    sellerAccount: order.sellerAccount,
    amountMinor: facts.amountMinor,
    currency: facts.currency,
    status: 'pending',
    source: 'psp',
    reason: 'made at the PSP',
    metadata: {},
    pspPaymentId: order.pspPaymentId,
    pspRefundId: facts.refundId,
    platformFeePolicy: policy.platformFee,
    pspFeePolicy: policy.pspFee,
    apiKeyId: null,
    executeNow: false,
  });
  const created = await getRefund(client, id, { forUpdate: true });
  if (!created) throw new Error(`refund ${id} vanished in its own transaction`);
  await recordEvent(client, 'refund.created', refundToWire(created));
  const outcome = await applyPspAnswer(
    client,
    rt,
    created,
    { pspRefundId: facts.refundId, state: 'succeeded' },
    via,
  );
  return `made at the PSP: recorded as ${id}, ${outcome}`;
}
