import type { OrderStatus } from './state-machine.ts';

export type Flow = 'saved_method' | 'hosted_page';

export type CreditCardInfo = { payment_method: string } | { flow: 'hosted_page'; return_url: string };

export interface Checkout {
  checkoutId: string;
  apiKeyId: string;
  buyerInfo: Record<string, unknown>;
  sellerInfo: Record<string, unknown>;
  creditCardInfo: CreditCardInfo;
  flow: Flow;
  currency: string;
  totalMinor: bigint;
  pspSessionId: string | null;
  pspSessionUrl: string | null;
  pspSessionExpiresAt: Date | null;
  nextPollAt: Date | null;
  pollCount: number;
  isPaymentDone: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface PaymentOrder {
  paymentOrderId: string;
  checkoutId: string;
  position: number;
  buyerAccount: string;
  sellerAccount: string;
  amountMinor: bigint;
  currency: string;
  feeMinor: bigint | null;
  status: OrderStatus;
  statusReason: string | null;
  ledgerUpdated: boolean;
  walletUpdated: boolean;
  pspPaymentId: string | null;
  pspChargeId: string | null;
  pspSessionId: string | null;
  attempts: number;
  lastError: string | null;
  declineCode: string | null;
  needsAttention: boolean;
  nextSweepAt: Date | null;
  sweepCount: number;
  version: bigint;
  createdAt: Date;
  updatedAt: Date;
}

export interface StatusChange {
  at: Date;
  from: OrderStatus | null;
  to: OrderStatus;
  reason: string;
  details: Record<string, unknown>;
}

/** A validated `POST /v1/payments` body, amounts in minor units. */
export interface CheckoutRequest {
  checkoutId: string;
  buyerInfo: Record<string, unknown>;
  creditCardInfo: CreditCardInfo;
  flow: Flow;
  currency: string;
  totalMinor: bigint;
  orders: Array<{
    paymentOrderId: string;
    sellerAccount: string;
    amountMinor: bigint;
    currency: string;
    /** The FX quote to convert at when the seller is paid in another currency (docs/currencies.md). */
    fxQuoteId?: string | undefined;
  }>;
}

/** The buyer's account name used on orders: the buyer's id when given, else the email, else "anonymous". */
export function buyerAccountOf(buyerInfo: Record<string, unknown>): string {
  const id = buyerInfo.id;
  if (typeof id === 'string' && id.length > 0) return id;
  if (typeof id === 'number') return String(id);
  const email = buyerInfo.email;
  if (typeof email === 'string' && email.length > 0) return email;
  return 'anonymous';
}
