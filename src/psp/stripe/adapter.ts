import http from 'node:http';
import https from 'node:https';
import Stripe from 'stripe';
import {
  PspError,
  WebhookVerificationError,
  type ChargeRequest,
  type HostedSession,
  type HostedSessionRequest,
  type PaymentServiceProvider,
  type PspCharge,
  type PspEvent,
  type PspRefund,
  type PspRefundFacts,
  type PspRefundRequest,
} from '../port.ts';
import type { StripePspConfig } from './config.ts';
import { mapStripeError } from './errors.ts';
import { closeDispute, listDisputes, retrieveDispute, submitDisputeEvidence } from './disputes.ts';
import { interpretStripeEvent } from './events.ts';
import { toHostedSession, toPspCharge, toStripeAmount } from './mapping.ts';
import { REFUND_EXPAND, refundCreateParams, toPspRefund, toPspRefundFacts } from './refunds.ts';

/** The Stripe API version the adapter is written against (the one stripe-node 23.1.0 pins). */
export const STRIPE_API_VERSION = '2026-10-28.endive' as const;

/** Stripe's signature tolerance: a webhook older than this is refused as a possible replay. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

/** The metadata key `findCharge` searches by; the pay-in executor puts the payment order id under it. */
export const PAYMENT_ORDER_METADATA_KEY = 'payment_order_id';

/** Connections kept open to the PSP per process (and the most requests in flight to it at once). */
export const DEFAULT_PSP_MAX_SOCKETS = 128;

/**
 * A keep-alive pool of at most `maxSockets` connections: calls reuse open connections instead of a TCP handshake
 * each (the SDK's default agent keeps them alive too, but without a bound), and a burst beyond the bound queues
 * for a free connection instead of opening hundreds.
 */
function pspAgent(config: StripePspConfig): http.Agent {
  const options = {
    keepAlive: true,
    maxSockets: config.maxSockets ?? DEFAULT_PSP_MAX_SOCKETS,
    maxFreeSockets: config.maxSockets ?? DEFAULT_PSP_MAX_SOCKETS,
    scheduling: 'lifo' as const,
  };
  return (config.protocol ?? 'https') === 'http' ? new http.Agent(options) : new https.Agent(options);
}

export function createStripeClient(config: StripePspConfig): Stripe {
  return new Stripe(config.secretKey, {
    apiVersion: STRIPE_API_VERSION,
    httpAgent: pspAgent(config),
    ...(config.host === undefined ? {} : { host: config.host }),
    ...(config.port === undefined ? {} : { port: config.port }),
    ...(config.protocol === undefined ? {} : { protocol: config.protocol }),
    timeout: config.timeoutMs ?? 20_000,
    maxNetworkRetries: config.maxNetworkRetries ?? 0,
    telemetry: false,
    appInfo: { name: 'bursar' },
  });
}

function searchValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw mapStripeError(error);
  }
}

// The charge's balance transaction carries the PSP's fee and the id the settlement report lists it under: pay-ins
// book the fee at success with it (docs/payins.md), so reconciliation finds it booked.
const EXPAND_CHARGE = ['latest_charge.balance_transaction'];

async function charge(stripe: Stripe, request: ChargeRequest): Promise<PspCharge> {
  const intent = await call(() =>
    stripe.paymentIntents.create(
      {
        amount: toStripeAmount(request.amountMinor),
        currency: request.currency.toLowerCase(),
        payment_method: request.paymentMethod,
        // Cards only, and never a redirect: a server-side charge has no buyer to send anywhere.
        automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
        confirm: true,
        off_session: true,
        metadata: request.metadata,
        ...(request.description === undefined ? {} : { description: request.description }),
        expand: EXPAND_CHARGE,
      },
      { idempotencyKey: request.idempotencyKey },
    ),
  );
  return toPspCharge(intent);
}

async function findCharge(
  stripe: Stripe,
  idempotencyKey: string,
  metadata: Record<string, string>,
): Promise<PspCharge | undefined> {
  // Stripe cannot look a request up by idempotency key; we find the PaymentIntent by the metadata we gave it.
  // Real Stripe's search index lags writes by up to about a minute: "not found" right after a lost answer may
  // still be "created"; the caller's retry with the same idempotency key is then replayed, not doubled.
  const entries = Object.entries(metadata);
  const chosen =
    metadata[PAYMENT_ORDER_METADATA_KEY] !== undefined
      ? [[PAYMENT_ORDER_METADATA_KEY, metadata[PAYMENT_ORDER_METADATA_KEY]] as const]
      : entries;
  if (chosen.length === 0)
    throw new PspError('unknown', `findCharge(${idempotencyKey}) needs metadata to search by`);
  const query = chosen
    .map(([key, value]) => `metadata['${searchValue(key)}']:'${searchValue(value ?? '')}'`)
    .join(' AND ');
  const found = await call(() => stripe.paymentIntents.search({ query, limit: 10 }));
  const match = found.data.find((intent) =>
    entries.every(([key, value]) => intent.metadata?.[key] === value),
  );
  if (match === undefined) return undefined;
  return retrieveCharge(stripe, match.id);
}

async function retrieveCharge(stripe: Stripe, paymentId: string): Promise<PspCharge> {
  const intent = await call(() => stripe.paymentIntents.retrieve(paymentId, { expand: EXPAND_CHARGE }));
  return toPspCharge(intent);
}

async function createHostedSession(stripe: Stripe, request: HostedSessionRequest): Promise<HostedSession> {
  const session = await call(() =>
    stripe.checkout.sessions.create(
      {
        mode: 'payment',
        line_items: [
          {
            price_data: {
              currency: request.currency.toLowerCase(),
              unit_amount: toStripeAmount(request.amountMinor),
              product_data: { name: request.description },
            },
            quantity: 1,
          },
        ],
        success_url: request.successUrl,
        cancel_url: request.cancelUrl,
        client_reference_id: request.clientReferenceId,
        metadata: request.metadata,
        // The PaymentIntent carries the same metadata, so its webhooks and findCharge can be matched too.
        payment_intent_data: { metadata: request.metadata, description: request.description },
      },
      { idempotencyKey: request.idempotencyKey },
    ),
  );
  return toHostedSession(session);
}

async function retrieveHostedSession(stripe: Stripe, sessionId: string): Promise<HostedSession> {
  const session = await call(() =>
    stripe.checkout.sessions.retrieve(sessionId, {
      expand: ['payment_intent.latest_charge.balance_transaction'],
    }),
  );
  return toHostedSession(session);
}

async function refund(stripe: Stripe, request: PspRefundRequest): Promise<PspRefund> {
  // Expanded, the answer carries what the refund took from the balance (and at which rate it was converted).
  const created = await call(() =>
    stripe.refunds.create(
      { ...refundCreateParams(request), expand: REFUND_EXPAND },
      { idempotencyKey: request.idempotencyKey },
    ),
  );
  return toPspRefund(created, request.paymentId);
}

async function retrieveRefund(stripe: Stripe, refundId: string): Promise<PspRefund> {
  return toPspRefund(await call(() => stripe.refunds.retrieve(refundId, { expand: REFUND_EXPAND })));
}

/** The most refunds one discovery reads (50 pages of 100); older ones are left to the next look and reconciliation. */
export const LIST_REFUNDS_MAX = 5_000;

async function listRefunds(stripe: Stripe, createdGteUnix: number): Promise<PspRefundFacts[]> {
  const listed = await call(() =>
    stripe.refunds
      .list({ created: { gte: Math.floor(createdGteUnix) }, limit: 100 })
      .autoPagingToArray({ limit: LIST_REFUNDS_MAX }),
  );
  return listed.map(toPspRefundFacts);
}

async function findRefund(
  stripe: Stripe,
  paymentId: string,
  metadata: Record<string, string>,
): Promise<PspRefund | undefined> {
  // Stripe has no refund search: list the payment's refunds (newest first) and match our metadata.
  const entries = Object.entries(metadata);
  const listed = await call(() =>
    stripe.refunds.list({
      payment_intent: paymentId,
      limit: 100,
      expand: REFUND_EXPAND.map((path) => `data.${path}`),
    }),
  );
  const match = listed.data.find((refund) =>
    entries.every(([key, value]) => refund.metadata?.[key] === value),
  );
  return match === undefined ? undefined : toPspRefund(match, paymentId);
}

function verifyWebhook(
  stripe: Stripe,
  config: StripePspConfig,
  rawBody: string,
  signatureHeader: string | undefined,
): PspEvent {
  if (signatureHeader === undefined || signatureHeader === '')
    throw new WebhookVerificationError('missing Stripe-Signature header');
  let event: Stripe.Event;
  try {
    event = stripe.webhooks.constructEvent(
      rawBody,
      signatureHeader,
      config.webhookSecret,
      WEBHOOK_TOLERANCE_SECONDS,
    );
  } catch (error) {
    throw new WebhookVerificationError(error instanceof Error ? error.message : 'invalid webhook signature', {
      cause: error,
    });
  }
  return {
    id: event.id,
    type: event.type,
    createdAt: new Date(event.created * 1000),
    object: event.data.object as unknown as Record<string, unknown>,
  };
}

/**
 * The PSP port over Stripe's API through the official SDK; the same code talks to real Stripe and to the sandbox.
 * Every call that creates something carries the caller's idempotency key, so a retry never charges twice.
 */
export function createStripePsp(
  config: StripePspConfig,
): PaymentServiceProvider & { readonly stripe: Stripe } {
  const stripe = createStripeClient(config);
  return {
    name: 'stripe',
    stripe,
    charge: (request) => charge(stripe, request),
    findCharge: (idempotencyKey, metadata) => findCharge(stripe, idempotencyKey, metadata),
    retrieveCharge: (paymentId) => retrieveCharge(stripe, paymentId),
    createHostedSession: (request) => createHostedSession(stripe, request),
    retrieveHostedSession: (sessionId) => retrieveHostedSession(stripe, sessionId),
    refund: (request) => refund(stripe, request),
    retrieveDispute: (disputeId) => retrieveDispute(stripe, disputeId),
    listDisputes: (createdGte, startingAfter) => listDisputes(stripe, createdGte, startingAfter),
    submitDisputeEvidence: (request) => submitDisputeEvidence(stripe, request),
    closeDispute: (disputeId, idempotencyKey) => closeDispute(stripe, disputeId, idempotencyKey),
    retrieveRefund: (refundId) => retrieveRefund(stripe, refundId),
    listRefunds: (createdGteUnix) => listRefunds(stripe, createdGteUnix),
    findRefund: (paymentId, metadata) => findRefund(stripe, paymentId, metadata),
    interpretEvent: interpretStripeEvent,
    verifyWebhook: (rawBody, signatureHeader) => verifyWebhook(stripe, config, rawBody, signatureHeader),
  };
}
