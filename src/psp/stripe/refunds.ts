import type Stripe from 'stripe';
import type {
  PspBalanceMovement,
  PspRefund,
  PspRefundFacts,
  PspRefundRequest,
  PspRefundState,
} from '../port.ts';
import { toStripeAmount } from './mapping.ts';

/** Stripe's refunds in the port's words (refund calls and refund events). */

/** The metadata key under which Bursar puts its own refund id on every refund it makes. */
export const REFUND_METADATA_KEY = 'bursar_refund_id';

const STRIPE_REASONS = new Set(['duplicate', 'fraudulent', 'requested_by_customer']);

export function refundState(status: string | null | undefined): PspRefundState {
  switch (status) {
    case 'succeeded':
      return 'succeeded';
    case 'failed':
      return 'failed';
    case 'canceled':
      return 'canceled';
    default:
      return 'pending';
  }
}

function idOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string')
    return (value as { id: string }).id;
  return undefined;
}

/** The refund's balance transactions a refund answer carries expanded (docs/currencies.md "Refunds"). */
export const REFUND_EXPAND = ['balance_transaction', 'failure_balance_transaction'];

/**
 * An expanded balance transaction as the port's movement; undefined when it is only an id (not expanded) or not
 * a balance transaction. Stripe sends `exchange_rate` as a JSON number: its shortest decimal text is the rate.
 */
export function balanceMovementOf(value: unknown): PspBalanceMovement | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const txn = value as Record<string, unknown>;
  if (typeof txn.id !== 'string' || typeof txn.currency !== 'string') return undefined;
  if (typeof txn.amount !== 'number' || !Number.isSafeInteger(txn.amount)) return undefined;
  return {
    balanceTransactionId: txn.id,
    currency: txn.currency.toUpperCase(),
    amountMinor: BigInt(txn.amount),
    ...(typeof txn.exchange_rate === 'number' ? { exchangeRate: String(txn.exchange_rate) } : {}),
  };
}

export function toPspRefund(refund: Stripe.Refund, fallbackPaymentId = ''): PspRefund {
  const result: PspRefund = {
    refundId: refund.id,
    paymentId: idOf(refund.payment_intent) ?? fallbackPaymentId,
    amountMinor: BigInt(refund.amount),
    currency: refund.currency.toUpperCase(),
    state: refundState(refund.status),
    metadata: Object.fromEntries(
      Object.entries(refund.metadata ?? {}).filter(
        (entry): entry is [string, string] => typeof entry[1] === 'string',
      ),
    ),
  };
  const chargeId = idOf(refund.charge);
  if (chargeId !== undefined) result.chargeId = chargeId;
  if (typeof refund.failure_reason === 'string') result.failureReason = refund.failure_reason;
  const settlement = balanceMovementOf(refund.balance_transaction);
  if (settlement !== undefined) result.settlement = settlement;
  const failureSettlement = balanceMovementOf(refund.failure_balance_transaction);
  if (failureSettlement !== undefined) result.failureSettlement = failureSettlement;
  return result;
}

/** A listed refund as the facts a refund event carries (our refund id read from its metadata). */
export function toPspRefundFacts(refund: Stripe.Refund): PspRefundFacts {
  const mapped = toPspRefund(refund);
  const ours = mapped.metadata?.[REFUND_METADATA_KEY];
  return {
    refundId: mapped.refundId,
    paymentId: mapped.paymentId === '' ? undefined : mapped.paymentId,
    chargeId: mapped.chargeId,
    amountMinor: mapped.amountMinor,
    currency: mapped.currency,
    state: mapped.state,
    bursarRefundId: ours === undefined || ours === '' ? undefined : ours,
    failureReason: mapped.failureReason,
  };
}

export function refundCreateParams(request: PspRefundRequest): Stripe.RefundCreateParams {
  return {
    payment_intent: request.paymentId,
    amount: toStripeAmount(request.amountMinor),
    metadata: request.metadata,
    ...(request.reason !== undefined && STRIPE_REASONS.has(request.reason)
      ? { reason: request.reason as Stripe.RefundCreateParams.Reason }
      : {}),
  };
}

/** A refund object of an event (a `refund.*` event's object, or one of a charge's `refunds.data`). */
export function refundFactsOf(object: Record<string, unknown>): PspRefundFacts | undefined {
  const refundId = typeof object.id === 'string' ? object.id : undefined;
  const amount = object.amount;
  const currency = object.currency;
  if (refundId === undefined || typeof amount !== 'number' || typeof currency !== 'string') return undefined;
  const metadata =
    typeof object.metadata === 'object' && object.metadata !== null
      ? (object.metadata as Record<string, unknown>)
      : {};
  const ours = metadata[REFUND_METADATA_KEY];
  return {
    refundId,
    paymentId: idOf(object.payment_intent),
    chargeId: idOf(object.charge),
    amountMinor: BigInt(amount),
    currency: currency.toUpperCase(),
    state: refundState(typeof object.status === 'string' ? object.status : undefined),
    bursarRefundId: typeof ours === 'string' && ours.length > 0 ? ours : undefined,
    failureReason: typeof object.failure_reason === 'string' ? object.failure_reason : undefined,
  };
}

/** The refunds a `charge.refunded` / `charge.refund.updated` charge object lists. */
export function chargeRefundsOf(object: Record<string, unknown>): PspRefundFacts[] {
  const list = object.refunds;
  const data = typeof list === 'object' && list !== null ? (list as { data?: unknown }).data : undefined;
  if (!Array.isArray(data)) return [];
  return data.flatMap((item) => {
    if (typeof item !== 'object' || item === null) return [];
    const facts = refundFactsOf(item as Record<string, unknown>);
    if (facts === undefined) return [];
    return [
      {
        ...facts,
        paymentId: facts.paymentId ?? idOf(object.payment_intent),
        chargeId: facts.chargeId ?? idOf(object.id),
      },
    ];
  });
}
