import { z } from 'zod';
import { assertCurrency, formatAmount } from '../money/index.ts';
import { DISPUTE_STATUSES, type StoredAllocation } from './domain.ts';
import type { Dispute, HistoryRow } from './store.ts';

/** The dispute as the API and the outgoing events show it; amounts are decimal strings in major units. */

const Amount = z.string().describe('decimal string in major units');

export const DisputeAllocationWire = z.object({
  payment_order_id: z.string(),
  seller_account: z.string(),
  amount: Amount.describe("the order's share of the disputed amount"),
  seller_fee: Amount.describe('what of the dispute fee the seller bears'),
  taken_from: z.object({ pending: Amount, available: Amount, reserved: Amount, receivable: Amount }),
  currency: z
    .string()
    .describe(
      "the currency seller_fee and taken_from are in: the dispute's, or the seller's when the order was converted",
    ),
  seller_amount: Amount.describe(
    "the order's share as taken from the seller, in `currency` (at the order's own rate when converted)",
  ),
});

export const DisputeHistoryWire = z.object({
  from: z.string().nullable(),
  to: z.string(),
  source: z.enum(['webhook', 'poll', 'api']),
  psp_event_id: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  at: z.string(),
});

export const DisputeWire = z.object({
  object: z.literal('dispute'),
  id: z.string(),
  psp: z.string(),
  psp_dispute_id: z.string(),
  psp_charge_id: z.string().nullable(),
  psp_payment_id: z.string().nullable(),
  amount: Amount,
  currency: z.string(),
  status: z.enum(DISPUTE_STATUSES),
  reason: z.string().nullable(),
  evidence_due_by: z.string().nullable(),
  fee_bearer: z.enum(['seller', 'platform', 'mixed']).nullable(),
  amount_withdrawn: Amount.nullable(),
  fee: Amount.nullable(),
  fee_currency: z
    .string()
    .describe("the currency of fee and fee_returned: the PSP's settlement currency on a converted charge"),
  amount_reinstated: Amount.nullable(),
  fee_returned: Amount.nullable(),
  unattributed: z.boolean(),
  payment_orders: z.array(DisputeAllocationWire),
  created_at: z.string(),
  updated_at: z.string(),
  closed_at: z.string().nullable(),
  history: z.array(DisputeHistoryWire).optional(),
});
export type DisputeWire = z.infer<typeof DisputeWire>;

export function disputeToWire(
  dispute: Dispute,
  allocations: StoredAllocation[],
  history?: HistoryRow[],
): DisputeWire {
  const currency = assertCurrency(dispute.currency);
  const feeCurrency = assertCurrency(dispute.feeCurrency ?? dispute.currency);
  const fmt = (minor: bigint) => formatAmount(minor, currency);
  const maybe = (minor: bigint | null) => (minor === null ? null : fmt(minor));
  const fee = (minor: bigint | null) => (minor === null ? null : formatAmount(minor, feeCurrency));
  return {
    object: 'dispute',
    id: dispute.id,
    psp: dispute.psp,
    psp_dispute_id: dispute.pspDisputeId,
    psp_charge_id: dispute.pspChargeId,
    psp_payment_id: dispute.pspPaymentId,
    amount: fmt(dispute.amountMinor),
    currency,
    status: dispute.status,
    reason: dispute.reason,
    evidence_due_by: dispute.evidenceDueBy?.toISOString() ?? null,
    fee_bearer: dispute.feeBearer,
    amount_withdrawn: maybe(dispute.withdrawnMinor),
    fee: fee(dispute.feeMinor),
    fee_currency: feeCurrency,
    amount_reinstated: maybe(dispute.reinstatedMinor),
    fee_returned: fee(dispute.feeReturnedMinor),
    unattributed: dispute.unattributed,
    payment_orders: allocations.map((a) => {
      const own = assertCurrency(a.converted?.currency ?? currency);
      const inOwn = (minor: bigint) => formatAmount(minor, own);
      return {
        payment_order_id: a.paymentOrderId,
        seller_account: a.sellerAccount,
        amount: fmt(a.amountMinor),
        seller_fee: inOwn(a.sellerFeeMinor),
        taken_from: {
          pending: inOwn(a.fromPending),
          available: inOwn(a.fromAvailable),
          reserved: inOwn(a.fromReserved),
          receivable: inOwn(a.fromReceivable),
        },
        currency: own,
        seller_amount: inOwn(a.converted?.bookedMinor ?? a.amountMinor),
      };
    }),
    created_at: dispute.createdAt.toISOString(),
    updated_at: dispute.updatedAt.toISOString(),
    closed_at: dispute.closedAt?.toISOString() ?? null,
    ...(history === undefined
      ? {}
      : {
          history: history.map((change) => ({
            from: change.from,
            to: change.to,
            source: change.source,
            psp_event_id: change.pspEventId,
            details: change.details,
            at: change.at.toISOString(),
          })),
        }),
  };
}
