import { randomToken } from './ids.ts';
import type { CardDetails, Decline } from './cards.ts';
import { amountFromWire, amountToWire } from './wire-amount.ts';

/**
 * Builders of Stripe's object shapes (the fields of API version 2022-04 and later that a client may read), so that
 * every response carries the fields Stripe's own would, with Stripe's nulls. Pure functions of their inputs.
 * Amounts come in as bigint minor units and leave as JSON integers through `amountToWire`, nowhere else.
 */

export type Json = Record<string, unknown>;

export function unixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

export function listEnvelope(url: string, data: unknown[], hasMore: boolean): Json {
  return { object: 'list', data, has_more: hasMore, url };
}

const NULL_ADDRESS = { city: null, country: null, line1: null, line2: null, postal_code: null, state: null };

export function billingDetails(name: string | null): Json {
  return { address: { ...NULL_ADDRESS }, email: null, name, phone: null };
}

export interface PaymentMethodInternal {
  number: string;
}

export function paymentMethodObject(input: {
  id: string;
  created: number;
  card: CardDetails;
  expMonth: number;
  expYear: number;
  name: string | null;
  metadata: Record<string, string>;
}): Json {
  return {
    id: input.id,
    object: 'payment_method',
    billing_details: billingDetails(input.name),
    card: {
      brand: input.card.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
      country: 'US',
      exp_month: input.expMonth,
      exp_year: input.expYear,
      fingerprint: fingerprintOf(input.card.number),
      funding: input.card.funding,
      generated_from: null,
      last4: input.card.last4,
      networks: { available: [input.card.brand], preferred: null },
      three_d_secure_usage: { supported: true },
      wallet: null,
    },
    created: input.created,
    customer: null,
    livemode: false,
    metadata: input.metadata,
    type: 'card',
  };
}

/** A stable, non-reversible stand-in for Stripe's card fingerprint. */
function fingerprintOf(number: string): string {
  let h = 0;
  for (const ch of number) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  return `fp${h.toString(36).padStart(8, '0')}`.slice(0, 16);
}

export function paymentIntentObject(input: {
  id: string;
  created: number;
  amountMinor: bigint;
  currency: string;
  description: string | null;
  metadata: Record<string, string>;
  paymentMethod: string | null;
  receiptEmail: string | null;
  statementDescriptor: string | null;
}): Json {
  return {
    id: input.id,
    object: 'payment_intent',
    amount: amountToWire(input.amountMinor),
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: 'automatic',
    client_secret: `${input.id}_secret_${randomToken(25)}`,
    confirmation_method: 'automatic',
    created: input.created,
    currency: input.currency,
    customer: null,
    description: input.description,
    invoice: null,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    metadata: input.metadata,
    next_action: null,
    on_behalf_of: null,
    payment_method: input.paymentMethod,
    payment_method_options: {
      card: { installments: null, mandate_options: null, network: null, request_three_d_secure: 'automatic' },
    },
    payment_method_types: ['card'],
    processing: null,
    receipt_email: input.receiptEmail,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: input.statementDescriptor,
    statement_descriptor_suffix: null,
    status: 'requires_payment_method',
    transfer_data: null,
    transfer_group: null,
  };
}

export function chargeObject(input: {
  id: string;
  created: number;
  paymentIntent: Json;
  paymentMethod: Json;
  status: 'succeeded' | 'failed' | 'pending';
  balanceTransaction: string | null;
  decline?: Decline;
  outcome: Json;
}): Json {
  const pi = input.paymentIntent;
  const card = (input.paymentMethod.card ?? {}) as Json;
  const succeeded = input.status === 'succeeded';
  const amountMinor = amountFromWire(pi.amount, 'amount');
  return {
    id: input.id,
    object: 'charge',
    amount: amountToWire(amountMinor),
    amount_captured: succeeded ? amountToWire(amountMinor) : 0,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: input.balanceTransaction,
    billing_details: input.paymentMethod.billing_details,
    calculated_statement_descriptor: 'BURSAR SANDBOX',
    captured: succeeded,
    created: input.created,
    currency: pi.currency,
    customer: null,
    description: pi.description,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: input.decline?.code ?? null,
    failure_message: input.decline?.message ?? null,
    fraud_details: {},
    invoice: null,
    livemode: false,
    metadata: pi.metadata,
    on_behalf_of: null,
    outcome: input.outcome,
    paid: succeeded,
    payment_intent: pi.id,
    payment_method: input.paymentMethod.id,
    payment_method_details: {
      card: {
        brand: card.brand,
        checks: card.checks,
        country: card.country,
        exp_month: card.exp_month,
        exp_year: card.exp_year,
        fingerprint: card.fingerprint,
        funding: card.funding,
        installments: null,
        last4: card.last4,
        mandate: null,
        network: card.brand,
        three_d_secure: null,
        wallet: null,
      },
      type: 'card',
    },
    receipt_email: pi.receipt_email ?? null,
    receipt_number: null,
    receipt_url: null,
    refunded: false,
    refunds: listEnvelope(`/v1/charges/${input.id}/refunds`, [], false),
    review: null,
    shipping: null,
    source_transfer: null,
    statement_descriptor: pi.statement_descriptor ?? null,
    statement_descriptor_suffix: null,
    status: input.status,
    transfer_data: null,
    transfer_group: null,
  };
}

export function outcomeFor(
  result: 'authorized' | 'issuer_declined' | 'manual_review',
  decline?: Decline,
): Json {
  if (result === 'authorized') {
    return {
      network_status: 'approved_by_network',
      reason: null,
      risk_level: 'normal',
      risk_score: 20,
      seller_message: 'Payment complete.',
      type: 'authorized',
    };
  }
  if (result === 'manual_review') {
    return {
      network_status: 'approved_by_network',
      reason: 'elevated_risk_level',
      risk_level: 'elevated',
      risk_score: 70,
      seller_message:
        'Stripe evaluated this payment as having elevated risk, and placed it in your manual review queue.',
      type: 'manual_review',
    };
  }
  return {
    network_status: 'declined_by_network',
    reason: decline?.declineCode ?? 'generic_decline',
    risk_level: 'normal',
    risk_score: 20,
    seller_message: 'The bank did not return any further details with this decline.',
    type: 'issuer_declined',
  };
}

export function balanceTransactionObject(input: {
  id: string;
  created: number;
  availableOn: number;
  amountMinor: bigint;
  feeMinor: bigint;
  currency: string;
  description: string | null;
  source: string;
  type: 'charge' | 'refund' | 'refund_failure' | 'adjustment' | 'payout';
  reportingCategory: 'charge' | 'refund' | 'refund_failure' | 'dispute' | 'dispute_reversal' | 'payout';
  feeDescription?: string;
}): Json {
  return {
    id: input.id,
    object: 'balance_transaction',
    amount: amountToWire(input.amountMinor),
    available_on: input.availableOn,
    created: input.created,
    currency: input.currency,
    description: input.description,
    exchange_rate: null,
    fee: amountToWire(input.feeMinor),
    fee_details:
      input.feeMinor === 0n
        ? []
        : [
            {
              amount: amountToWire(input.feeMinor),
              application: null,
              currency: input.currency,
              description: input.feeDescription ?? 'Stripe processing fees',
              type: 'stripe_fee',
            },
          ],
    net: amountToWire(input.amountMinor - input.feeMinor),
    reporting_category: input.reportingCategory,
    source: input.source,
    status: 'pending',
    type: input.type,
  };
}

export function refundObject(input: {
  id: string;
  created: number;
  amountMinor: bigint;
  currency: string;
  charge: string;
  paymentIntent: string;
  balanceTransaction: string;
  metadata: Record<string, string>;
  reason: string | null;
  status?: 'pending' | 'succeeded';
}): Json {
  return {
    id: input.id,
    object: 'refund',
    amount: amountToWire(input.amountMinor),
    balance_transaction: input.balanceTransaction,
    charge: input.charge,
    created: input.created,
    currency: input.currency,
    metadata: input.metadata,
    payment_intent: input.paymentIntent,
    reason: input.reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: input.status ?? 'succeeded',
    transfer_reversal: null,
  };
}

export function disputeObject(input: {
  id: string;
  created: number;
  charge: Json;
  amountMinor: bigint;
  balanceTransaction: Json;
  dueBy: number;
}): Json {
  const evidenceFields = [
    'access_activity_log',
    'billing_address',
    'cancellation_policy',
    'cancellation_policy_disclosure',
    'cancellation_rebuttal',
    'customer_communication',
    'customer_email_address',
    'customer_name',
    'customer_purchase_ip',
    'customer_signature',
    'duplicate_charge_documentation',
    'duplicate_charge_explanation',
    'duplicate_charge_id',
    'product_description',
    'receipt',
    'refund_policy',
    'refund_policy_disclosure',
    'refund_refusal_explanation',
    'service_date',
    'service_documentation',
    'shipping_address',
    'shipping_carrier',
    'shipping_date',
    'shipping_documentation',
    'shipping_tracking_number',
    'uncategorized_file',
    'uncategorized_text',
  ];
  return {
    id: input.id,
    object: 'dispute',
    amount: amountToWire(input.amountMinor),
    balance_transactions: [input.balanceTransaction],
    charge: input.charge.id,
    created: input.created,
    currency: input.charge.currency,
    evidence: Object.fromEntries(evidenceFields.map((field) => [field, null])),
    evidence_details: { due_by: input.dueBy, has_evidence: false, past_due: false, submission_count: 0 },
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: input.charge.payment_intent,
    reason: 'fraudulent',
    status: 'needs_response',
  };
}

export function payoutObject(input: {
  id: string;
  created: number;
  arrivalDate: number;
  amountMinor: bigint;
  currency: string;
  automatic: boolean;
  balanceTransaction: string;
  description: string | null;
  metadata: Record<string, string>;
}): Json {
  return {
    id: input.id,
    object: 'payout',
    amount: amountToWire(input.amountMinor),
    arrival_date: input.arrivalDate,
    automatic: input.automatic,
    balance_transaction: input.balanceTransaction,
    created: input.created,
    currency: input.currency,
    description: input.description,
    destination: 'ba_sandbox_platform',
    failure_balance_transaction: null,
    failure_code: null,
    failure_message: null,
    livemode: false,
    metadata: input.metadata,
    method: 'standard',
    original_payout: null,
    reversed_by: null,
    source_type: 'card',
    statement_descriptor: null,
    status: 'paid',
    type: 'bank_account',
  };
}
