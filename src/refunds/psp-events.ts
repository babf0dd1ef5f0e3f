import type { PoolClient } from '../db/pool.ts';
import { recordEvent } from '../events/index.ts';
import type { PspEventMeaning, PspRefundFacts } from '../psp/index.ts';
import { newRefundId } from './ids.ts';
import type { RefundsRuntime } from './runtime.ts';
import { applyPspAnswer } from './settle.ts';
import { adjustRefundable, getRefund, getRefundByPspId, insertRefund, lockRefundable } from './store.ts';
import type { RefundableOrder } from './types.ts';
import { refundToWire } from './wire.ts';

/**
 * The handler of refund webhooks (`pspEventHandlers.refund`, src/compose.ts), inside the PSP event's processing
 * transaction (no network calls): each final refund the event carries settles our refund (found by the refund id
 * in its metadata, or by the PSP's refund id); a succeeded refund we never made (in the PSP's dashboard) is
 * recorded with `source: "psp"` and booked by the same recipe. Returns the outcome stored on the event.
 */
export async function handleRefundEvent(
  client: PoolClient,
  rt: RefundsRuntime,
  meaning: Extract<PspEventMeaning, { subject: 'refund' }>,
): Promise<string> {
  const outcomes: string[] = [];
  for (const facts of meaning.refunds)
    outcomes.push(`${facts.refundId}: ${await handleOne(client, rt, facts)}`);
  return outcomes.join('; ') || 'no refund';
}

async function handleOne(client: PoolClient, rt: RefundsRuntime, facts: PspRefundFacts): Promise<string> {
  const ours =
    (facts.bursarRefundId === undefined
      ? undefined
      : await getRefund(client, facts.bursarRefundId, { forUpdate: true })) ??
    (await getRefundByPspId(client, facts.refundId, { forUpdate: true }));
  const answer = { pspRefundId: facts.refundId, state: facts.state, failureReason: facts.failureReason };
  if (ours) return await applyPspAnswer(client, rt, ours, answer, 'webhook');
  if (facts.state !== 'succeeded') return `ignored: ${facts.state} refund made outside Bursar`;
  return await recordPspOriginRefund(client, rt, facts);
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
): Promise<string> {
  const order = await orderFor(client, rt, facts);
  if (!order || order.pspPaymentId === null) {
    rt.ctx.log.warn(
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
    'webhook',
  );
  return `made at the PSP: recorded as ${id}, ${outcome}`;
}
