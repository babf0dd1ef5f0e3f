import { z } from 'zod';
import { Amount, Timestamp } from '../http/schemas.ts';
import { ORDER_STATUSES } from './state-machine.ts';

/**
 * The response schemas of the pay-in routes. They document `/openapi.json` and drive the serializer, which drops
 * any field not listed here: a field added to a wire function must be added here too (the wire functions' return
 * types are inferred from these schemas, so the compiler says so).
 */

const OrderStatus = z.enum(ORDER_STATUSES);

export const StatusChangeWire = z.object({
  at: Timestamp,
  from: OrderStatus.nullable(),
  to: OrderStatus,
  why: z.string(),
});
export type StatusChangeWire = z.infer<typeof StatusChangeWire>;

export const PaymentOrderWire = z.object({
  payment_order_id: z.string(),
  checkout_id: z.string(),
  seller_account: z.string(),
  amount: Amount,
  currency: z.string(),
  status: OrderStatus,
  status_reason: z.string().nullable(),
  decline_code: z.string().nullable(),
  ledger_updated: z.boolean(),
  wallet_updated: z.boolean(),
  needs_attention: z.boolean(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type PaymentOrderWire = z.infer<typeof PaymentOrderWire>;

export const PaymentOrderWithHistory = PaymentOrderWire.extend({
  status_history: z.array(StatusChangeWire),
  amount_refunded: Amount.optional().describe('the sum of its succeeded refunds (docs/refunds.md)'),
  refund_status: z
    .enum(['none', 'partially_refunded', 'refunded'])
    .optional()
    .describe('whether the order was refunded; its own status never goes backwards'),
  settlement: z
    .object({
      amount: Amount.describe("the order's gross in the seller's currency, at the quote's rate"),
      currency: z.string().describe("the seller's payout currency"),
      rate: z.string().describe('the rate the order was converted at (the mid rate less the markup), exact'),
      mid_rate: z.string(),
      fx_quote_id: z.string().describe('the quote used: named, or the implicit one recorded'),
      source: z.string(),
      rate_date: z.string(),
    })
    .optional()
    .describe("present when the seller is paid in another currency than the order's (docs/currencies.md)"),
});

export const CheckoutStatus = z.enum([
  'processing',
  'requires_action',
  'succeeded',
  'failed',
  'partially_succeeded',
]);

export const CheckoutWire = z.object({
  checkout_id: z.string(),
  status: CheckoutStatus,
  is_payment_done: z.boolean(),
  flow: z.enum(['saved_method', 'hosted_page']),
  amount: Amount,
  currency: z.string(),
  payment_orders: z.array(
    z.object({
      payment_order_id: z.string(),
      seller_account: z.string(),
      amount: Amount,
      currency: z.string(),
      status: OrderStatus,
      status_reason: z.string().nullable(),
    }),
  ),
  created_at: Timestamp,
  risk: z.object({ decision: z.string(), reasons: z.array(z.string()) }).optional(),
  next_action: z
    .object({ type: z.literal('redirect_to_url'), redirect_url: z.string() })
    .optional()
    .describe('present while the buyer still has to pay on the hosted page'),
});
export type CheckoutWire = z.infer<typeof CheckoutWire>;

/** What `POST /v1/webhooks/psp/stripe` answers to a verified event. */
export const WebhookReceived = z.object({ received: z.literal(true), duplicate: z.boolean() });
