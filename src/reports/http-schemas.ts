import { z } from 'zod';
import { Amount, Timestamp } from '../http/schemas.ts';
import { MOVEMENT_CATEGORIES } from './classify.ts';

/** Response schemas of the report routes (docs/reports.md). CSV answers are text/csv with the columns documented. */

const BucketsWire = z.object({
  pending: Amount,
  available: Amount,
  reserved: Amount,
  in_transit: Amount,
  due: Amount.describe('what the seller owes the platform (the receivable)'),
  net: Amount.describe('pending + available + reserved + in_transit − due'),
});

export const StatementWire = z.object({
  object: z.literal('seller_statement'),
  seller_account: z.string(),
  currency: z.string(),
  from: Timestamp,
  to: Timestamp,
  opening_balance: BucketsWire,
  movements: z.array(
    BucketsWire.extend({
      posted_at: Timestamp,
      effective_at: Timestamp,
      entry_id: z.string(),
      reference: z.string(),
      kind: z.string().describe('the ledger entry kind'),
      category: z.enum(MOVEMENT_CATEGORIES),
      description: z.string(),
      references: z.record(z.string(), z.string()).describe('payment_order_id, refund_id, payout_id…'),
    }),
  ),
  closing_balance: BucketsWire,
});

const Metric = Amount;
export const PlatformReportWire = z.object({
  object: z.literal('platform_report'),
  from: Timestamp,
  to: Timestamp,
  days: z.array(
    z.object({
      day: z.string(),
      currency: z.string(),
      gross_volume: Metric,
      refunds: Metric,
      disputes: Metric,
      platform_fee_revenue: Metric,
      psp_fees: Metric,
      fx_revenue: Metric,
      losses_written_off: Metric,
      payouts: Metric,
      psp_clearing_balance: Amount,
      bank_balance: Amount,
      accounts: z.array(z.object({ code: z.string(), movement: Amount, closing: Amount })),
    }),
  ),
  accounts: z.array(z.object({ code: z.string(), opening: Amount, closing: Amount })),
});

export const PayoutReconciliationWire = z.object({
  object: z.literal('payout_reconciliation'),
  payout_id: z.string(),
  seller_account: z.string(),
  currency: z.string(),
  amount: Amount,
  status: z.string(),
  carried_in: Amount,
  carried_forward: Amount,
  data: z.array(
    z.object({
      entry_id: z.string(),
      posted_at: Timestamp,
      kind: z.string(),
      category: z.enum(MOVEMENT_CATEGORIES),
      reference: z.string(),
      references: z.record(z.string(), z.string()),
      description: z.string(),
      gross: Amount.nullable(),
      fee: Amount.nullable(),
      net: Amount,
    }),
  ),
});
