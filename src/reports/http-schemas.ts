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

export const FxPositionsWire = z.object({
  object: z.literal('fx_positions_report'),
  from: Timestamp,
  to: Timestamp,
  pairs: z.array(
    z.object({
      from_currency: z.string().describe('the currency converted from (what buyers paid in)'),
      to_currency: z.string().describe('the currency converted to (sellers’ or the settlement currency)'),
      conversions: z.number().int().describe('converted sales recorded in the window'),
      converted_volume: Amount.describe('converted sales, in from_currency'),
      converted_value: Amount.describe('the same at the mid rate, in to_currency'),
      refunded_volume: Amount.describe('refunds of converted sales, in from_currency'),
      fx_revenue: Amount.describe('the markup (spread), in to_currency'),
      realised_gain_loss: Amount.describe('realised when the PSP settled, in to_currency (< 0: loss)'),
      settlement_differences: Amount.describe('differences reconciliation booked, in to_currency'),
      net_position_from: Amount.describe('change of the open position in from_currency (> 0: long)'),
      net_position_to: Amount.describe('change of the open position in to_currency (> 0: long)'),
    }),
  ),
  currencies: z.array(
    z.object({
      currency: z.string(),
      position_opening: Amount.describe('platform:fx_position:<CUR> at from'),
      position_movement: Amount.describe(
        'its movement in (from, to]: the pairs’ net positions in it add up to this',
      ),
      position_closing: Amount.describe('platform:fx_position:<CUR> at to: the open position'),
      fx_revenue: Amount.describe('platform:fx_revenue:<CUR> movement'),
      gain_loss: Amount.describe('platform:fx_gain_loss:<CUR> movement'),
    }),
  ),
});
