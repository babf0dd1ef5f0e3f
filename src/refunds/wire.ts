import { z } from 'zod';
import { Amount, Timestamp } from '../http/schemas.ts';
import { assertCurrency, formatAmount } from '../money/index.ts';
import type { Refund, RefundStatusChange } from './types.ts';

export const RefundStatusChangeWire = z.object({
  at: Timestamp,
  from: z.string().nullable(),
  to: z.string(),
  why: z.string(),
});

export const RefundWire = z
  .object({
    object: z.literal('refund'),
    id: z.string().describe('rf_… — Bursar’s refund id'),
    payment_order_id: z.string(),
    checkout_id: z.string(),
    seller_account: z.string(),
    amount: Amount,
    currency: z.string(),
    status: z.enum(['pending', 'succeeded', 'failed', 'canceled']),
    source: z.enum(['api', 'psp']).describe('api: made through Bursar; psp: made in the PSP’s own dashboard'),
    reason: z.string().nullable(),
    metadata: z.record(z.string(), z.string()),
    failure_reason: z.string().nullable(),
    psp_refund_id: z.string().nullable(),
    needs_attention: z.boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
    status_history: z.array(RefundStatusChangeWire).optional(),
  })
  .describe('A refund of (part of) a payment order');

export type RefundWire = z.infer<typeof RefundWire>;

export function refundToWire(refund: Refund, history?: RefundStatusChange[]): RefundWire {
  const wire: RefundWire = {
    object: 'refund',
    id: refund.id,
    payment_order_id: refund.paymentOrderId,
    checkout_id: refund.checkoutId,
    seller_account: refund.sellerAccount,
    amount: formatAmount(refund.amountMinor, assertCurrency(refund.currency)),
    currency: refund.currency,
    status: refund.status,
    source: refund.source,
    reason: refund.reason,
    metadata: refund.metadata,
    failure_reason: refund.failureReason,
    psp_refund_id: refund.pspRefundId,
    needs_attention: refund.needsAttention,
    created_at: refund.createdAt.toISOString(),
    updated_at: refund.updatedAt.toISOString(),
  };
  if (history !== undefined)
    wire.status_history = history.map((change) => ({
      at: change.at.toISOString(),
      from: change.from,
      to: change.to,
      why: change.reason,
    }));
  return wire;
}
