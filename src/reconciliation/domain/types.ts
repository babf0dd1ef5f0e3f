/**
 * The words of reconciliation: exception classes and kinds, findings, and the cures Bursar knows. Pure.
 */

/** auto_fixed: cause and cure known, applied; finance: cause known, a person decides; investigation: cause unknown. */
export const EXCEPTION_CLASSES = ['auto_fixed', 'finance', 'investigation'] as const;
export type ExceptionClass = (typeof EXCEPTION_CLASSES)[number];

/** Each kind of difference belongs to exactly one class. */
export const KIND_CLASS = {
  // The cause and the cure are known: Bursar applies the cure through the normal flow's own code.
  missed_webhook: 'auto_fixed',
  psp_fee_unbooked: 'auto_fixed',
  payout_paid_in_transit: 'auto_fixed',
  payout_return_unapplied: 'auto_fixed',
  // The cause is known; the cure needs a person.
  amount_mismatch: 'finance',
  currency_mismatch: 'finance',
  fee_mismatch: 'finance',
  charged_but_failed: 'finance',
  status_mismatch: 'finance',
  payout_returned_unusual: 'finance',
  refund_unbooked: 'finance',
  dispute_unbooked: 'finance',
  // A converted charge: the PSP settled beyond the tolerance from what is booked, or settled a conversion we
  // never booked (docs/currencies.md "Reconciliation").
  fx_difference: 'finance',
  fx_settlement_unbooked: 'finance',
  // The cause is unknown.
  unmatched_psp_line: 'investigation',
  unmatched_bank_line: 'investigation',
  missing_psp_line: 'investigation',
  refund_missing_at_psp: 'investigation',
  duplicate_line: 'investigation',
  internal_check_failed: 'investigation',
  auto_fix_failed: 'investigation',
  // A pain.002 status report for a payout file, or a payout, Bursar never sent.
  status_report_unknown: 'investigation',
  // A line of an ACH return/NOC file that names no ACH payout of ours, or another amount, or no known code.
  ach_return_unmatched: 'investigation',
} as const satisfies Record<string, ExceptionClass>;

export type ExceptionKind = keyof typeof KIND_CLASS;
export const EXCEPTION_KINDS = Object.keys(KIND_CLASS) as ExceptionKind[];

export function classOf(kind: ExceptionKind): ExceptionClass {
  return KIND_CLASS[kind];
}

export function isExceptionKind(value: string): value is ExceptionKind {
  return Object.hasOwn(KIND_CLASS, value);
}

/** The cures Bursar applies by itself, each through the code path the normal flow uses. */
export type Fix =
  /** A missed webhook: settle the order(s) as the webhook worker would (src/payins/settle.ts). */
  | {
      type: 'settle_payin';
      target: { checkoutId: string } | { paymentOrderId: string };
      paymentIntentId: string | undefined;
      chargeId: string | undefined;
    }
  /** The PSP's fee, booked with the ledger's `pspFeeCharged` recipe (reference `psp_fee:<balance txn>`). */
  | { type: 'book_psp_fee'; balanceTransactionId: string; feeMinor: bigint; currency: string }
  /** A payout the bank paid or returned: the payouts module's `settlePayout`. */
  | { type: 'settle_payout'; payoutId: string; outcome: 'paid' | 'returned'; reason: string | undefined };

/** One difference found, before it is stored as an exception. */
export interface Finding {
  kind: ExceptionKind;
  /** One sentence: what differs and why we think so. */
  cause: string;
  /** Identifies the difference, so finding it again files nothing new. */
  dedupeKey: string;
  /** The lines and records involved (JSON; amounts as strings of minor units). */
  evidence: Record<string, unknown>;
  currency?: string | undefined;
  amountMinor?: bigint | undefined;
  fix?: Fix;
}

/** A payment order as reconciliation sees it. */
export interface OrderFacts {
  paymentOrderId: string;
  checkoutId: string;
  amountMinor: bigint;
  currency: string;
  status: 'NOT_STARTED' | 'EXECUTING' | 'PENDING' | 'SUCCESS' | 'FAILED';
  pspPaymentId: string | null;
}

/** One of our payouts to a seller, as reconciliation sees it. */
export interface PayoutFacts {
  id: string;
  amountMinor: bigint;
  currency: string;
  status: 'pending' | 'in_transit' | 'paid' | 'returned';
}

/** JSON-safe copy of a value: bigints become strings, undefined fields are left out. */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) if (inner !== undefined) out[key] = jsonSafe(inner);
    return out;
  }
  return value;
}
