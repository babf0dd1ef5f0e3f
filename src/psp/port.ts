/**
 * The PSP port: what Bursar needs from a payment service provider, in our words. The Stripe adapter
 * (src/psp/stripe) implements it with the official SDK, against real Stripe or the local sandbox.
 * Amounts are bigint minor units; currencies ISO 4217 upper case (adapters convert to the PSP's form).
 */

/** How a failed call should be treated by the caller. */
export type FailureClass =
  /** The PSP answered no for good (card declined, insufficient funds…): do not retry. */
  | 'hard_decline'
  /** Timeout, connection reset, 5xx, 429: safe to retry with the same idempotency key. */
  | 'transient'
  /** We cannot tell whether the PSP acted (e.g. the response was lost after sending): ask before retrying. */
  | 'unknown';

export class PspError extends Error {
  readonly failureClass: FailureClass;
  /** PSP's code, e.g. `card_declined`, and decline code, e.g. `insufficient_funds`. */
  readonly pspCode: string | undefined;
  readonly declineCode: string | undefined;
  /** Seconds the PSP asked us to wait (Retry-After), when it did. */
  readonly retryAfterSeconds: number | undefined;
  /** The PSP's payment (pi_…) the failure is about, when the PSP created one (a declined charge has one). */
  readonly paymentId: string | undefined;
  constructor(
    failureClass: FailureClass,
    message: string,
    details: {
      pspCode?: string;
      declineCode?: string;
      retryAfterSeconds?: number;
      paymentId?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'PspError';
    this.failureClass = failureClass;
    this.pspCode = details.pspCode;
    this.declineCode = details.declineCode;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.paymentId = details.paymentId;
  }
}

/** A webhook whose signature is missing, wrong or stale: answer 400 and do not store it. */
export class WebhookVerificationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WebhookVerificationError';
  }
}

/** The state of a payment at the PSP, normalised. */
export type PspPaymentState =
  | 'succeeded'
  /** Still moving (3-D Secure, review, async method): not final. */
  | 'pending'
  | 'failed'
  /** The hosted page expired or was abandoned. */
  | 'expired';

export interface PspCharge {
  /** PaymentIntent id (pi_…). */
  paymentId: string;
  state: PspPaymentState;
  amountMinor: bigint;
  currency: string;
  /** Charge id (ch_…) once there is one. */
  chargeId?: string;
  /** The PSP's fee, when known (in `feeCurrency`, the currency the PSP settles the charge in). */
  feeMinor?: bigint;
  /**
   * The charge's balance transaction (txn_…), when known: the id the settlement report lists the charge under, and
   * the one the fee is booked under (`psp_fee:<id>`), so pay-ins and reconciliation book it once.
   */
  balanceTransactionId?: string;
  /** The currency of the balance transaction (upper case): the fee's; may differ from `currency` at real Stripe. */
  feeCurrency?: string;
  /** The balance transaction's amount (in `feeCurrency`): what the PSP settled the charge as. */
  settledMinor?: bigint;
  /** The PSP's rate `currency` → `feeCurrency` when it converted the charge (Stripe's `exchange_rate`), as decimal text. */
  exchangeRate?: string;
  failureCode?: string;
  failureMessage?: string;
  metadata: Record<string, string>;
}

export interface ChargeRequest {
  /** Identical on every retry of the same payment order: the PSP charges at most once per key. */
  idempotencyKey: string;
  amountMinor: bigint;
  currency: string;
  /** The PSP token of a saved payment method (pm_…). */
  paymentMethod: string;
  description?: string;
  metadata: Record<string, string>;
}

export interface HostedSessionRequest {
  idempotencyKey: string;
  amountMinor: bigint;
  currency: string;
  successUrl: string;
  cancelUrl: string;
  /** Our checkout id, echoed by the PSP. */
  clientReferenceId: string;
  description: string;
  metadata: Record<string, string>;
}

export interface HostedSession {
  /** cs_… — the PSP token we store before redirecting the buyer. */
  sessionId: string;
  url: string;
  /** pi_… when the PSP has created it already. */
  paymentId?: string;
  state: PspPaymentState;
  expiresAt?: Date;
  /** The session's payment with its charge and fee, when the PSP answered with it expanded. */
  charge?: PspCharge;
}

export interface PspEvent {
  /** evt_… — unique; we store each once. */
  id: string;
  type: string;
  createdAt: Date;
  /** The object the event is about, as the PSP sent it. */
  object: Record<string, unknown>;
}

/**
 * What a payment event says, in Bursar's words: the payment succeeded, failed, waits for the buyer or the bank
 * (requires action, processing), or its session expired. Pay-ins turn it into an order event.
 */
export type PspPaymentOutcome =
  | { kind: 'succeeded'; paymentId?: string | undefined; chargeId?: string | undefined }
  | { kind: 'pending'; reason: string; paymentId?: string | undefined }
  | { kind: 'failed'; code: string; paymentId?: string | undefined }
  | { kind: 'expired' };

/**
 * A PSP event normalised by its adapter: what it is about (a hosted session, i.e. a whole checkout; one payment
 * order; a refund, a dispute or a payout) and what happened. `none` for events Bursar does not act on.
 */
export type PspEventMeaning =
  | { subject: 'session'; sessionId: string; outcome: PspPaymentOutcome }
  | { subject: 'order'; paymentOrderId: string; outcome: PspPaymentOutcome }
  | {
      subject: 'refund';
      refundId: string;
      paymentId: string | undefined;
      state: 'settled' | 'failed';
      /** What the PSP says of each refund the event carries (a charge event may carry several). */
      refunds: PspRefundFacts[];
    }
  | {
      subject: 'dispute';
      disputeId: string;
      paymentId: string | undefined;
      state: 'opened' | 'closed';
      status?: string | undefined;
      /** The dispute as the event carries it (amount, status, fee, withdrawals and reinstatements). */
      dispute?: PspDispute | undefined;
    }
  | { subject: 'payout'; payoutId: string; state: 'paid' | 'failed' }
  | { subject: 'none'; why: string };

export interface PspRefundRequest {
  idempotencyKey: string;
  paymentId: string;
  amountMinor: bigint;
  metadata: Record<string, string>;
  /** Stripe's reasons: duplicate, fraudulent, requested_by_customer; others are kept in our metadata only. */
  reason?: string | undefined;
}

/** A refund's state at the PSP, normalised (Stripe: pending, requires_action → pending). */
export type PspRefundState = 'succeeded' | 'pending' | 'failed' | 'canceled';

/**
 * A balance transaction of a refund or dispute as it moved the platform's PSP balance: in the balance's (settlement)
 * currency, signed (< 0: money out), with the PSP's rate when it converted (Stripe's `exchange_rate`: the
 * refund's or dispute's currency → `currency`).
 */
export interface PspBalanceMovement {
  balanceTransactionId: string;
  currency: string;
  amountMinor: bigint;
  exchangeRate?: string | undefined;
}

export interface PspRefund {
  refundId: string;
  paymentId: string;
  amountMinor: bigint;
  currency: string;
  state: PspRefundState;
  chargeId?: string | undefined;
  failureReason?: string | undefined;
  metadata?: Record<string, string> | undefined;
  /** The refund's balance transaction, when the PSP answered with it expanded (docs/currencies.md). */
  settlement?: PspBalanceMovement | undefined;
  /** The balance transaction that gave a failed refund's money back, when answered expanded. */
  failureSettlement?: PspBalanceMovement | undefined;
}

/** A refund as a PSP event describes it; `bursarRefundId` is our refund id from its metadata, when we made it. */
export interface PspRefundFacts {
  refundId: string;
  paymentId: string | undefined;
  chargeId: string | undefined;
  amountMinor: bigint;
  currency: string;
  state: PspRefundState;
  bursarRefundId: string | undefined;
  failureReason: string | undefined;
}

/** Money a dispute moved in our PSP balance: withdrawn when it opened, reinstated when it was won. */
export interface PspDisputeMovement {
  /** The balance transaction(s) (txn_…), joined by "," when several; the id the settlement report lists. */
  balanceTransactionId: string;
  amountMinor: bigint;
  /** The dispute fee charged (withdrawal) or returned (reinstatement); zero when none. */
  feeMinor: bigint;
  currency: string;
  /** The PSP's rate (the dispute's currency → `currency`) when it converted: `amountMinor` is then in `currency`. */
  exchangeRate?: string | undefined;
}

/** A dispute (chargeback) at the PSP, normalised. Statuses are Stripe's (warning_needs_response … won, lost). */
export interface PspDispute {
  disputeId: string;
  chargeId: string | undefined;
  paymentId: string | undefined;
  amountMinor: bigint;
  currency: string;
  status: string;
  reason: string | undefined;
  evidenceDueBy: Date | undefined;
  createdAt: Date | undefined;
  /** The amount and fee taken from our balance, once the PSP took them (an inquiry takes nothing). */
  withdrawn: PspDisputeMovement | undefined;
  /** The amount (and fee, where returned) given back after a won dispute. */
  reinstated: PspDisputeMovement | undefined;
}

export interface DisputeEvidenceRequest {
  idempotencyKey: string;
  disputeId: string;
  /** Evidence fields by the PSP's names (`uncategorized_text`, `product_description`…); text only. */
  evidence: Record<string, string>;
  /** Submit now (true), or only save the evidence for a later submission. */
  submit: boolean;
}

export interface PaymentServiceProvider {
  readonly name: string;
  /** Charges a saved payment method server-side (PaymentIntent created and confirmed). */
  charge(request: ChargeRequest): Promise<PspCharge>;
  /** Looks a payment up by the idempotency key / metadata we created it with; undefined when it was never created. */
  findCharge(idempotencyKey: string, metadata: Record<string, string>): Promise<PspCharge | undefined>;
  retrieveCharge(paymentId: string): Promise<PspCharge>;
  createHostedSession(request: HostedSessionRequest): Promise<HostedSession>;
  retrieveHostedSession(sessionId: string): Promise<HostedSession>;
  refund(request: PspRefundRequest): Promise<PspRefund>;
  /** The dispute as the PSP has it now (the dispute poller's look-up). */
  retrieveDispute(disputeId: string): Promise<PspDispute>;
  /**
   * One page of the disputes the PSP opened since `createdGte`, newest first (the dispute poller's discovery of a
   * dispute whose every webhook was lost). Optional: a PSP without it leaves discovery to reconciliation.
   */
  listDisputes?(
    createdGte: Date,
    startingAfter?: string,
  ): Promise<{ disputes: PspDispute[]; hasMore: boolean }>;
  /** Sends evidence for a dispute (and submits it when asked); answers the dispute after the update. */
  submitDisputeEvidence(request: DisputeEvidenceRequest): Promise<PspDispute>;
  /** Accepts a dispute as lost (Stripe's close). */
  closeDispute(disputeId: string, idempotencyKey: string): Promise<PspDispute>;
  /** One refund by the PSP's id. */
  retrieveRefund(refundId: string): Promise<PspRefund>;
  /**
   * Every refund the PSP made since `createdGteUnix` (Unix seconds), newest first, all pages followed up to a cap:
   * the refund worker's discovery of refunds whose every webhook was lost (made in the PSP's dashboard, or ours
   * whose final webhook never came). Optional: a PSP without it leaves those to the poller and reconciliation.
   */
  listRefunds?(createdGteUnix: number): Promise<PspRefundFacts[]>;
  /**
   * The refund of `paymentId` we created with this metadata (our refund id), when the PSP has one: how an
   * answer that was lost is found again before a retry.
   */
  findRefund(paymentId: string, metadata: Record<string, string>): Promise<PspRefund | undefined>;
  /**
   * Verifies a webhook's signature over the raw body (bounded timestamp tolerance) and returns the event;
   * throws when the signature is missing, wrong or stale.
   */
  verifyWebhook(rawBody: string, signatureHeader: string | undefined): PspEvent;
  /**
   * What a verified (or stored) event means, in Bursar's words. Pure: the same event always means the same, so a
   * stored event is interpreted when it is processed.
   */
  interpretEvent(event: Pick<PspEvent, 'type' | 'object'>): PspEventMeaning;
}
