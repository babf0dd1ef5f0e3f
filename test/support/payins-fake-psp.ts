import { interpretStripeEvent } from '../../src/psp/stripe/events.ts';
import { randomBytes } from 'node:crypto';
import {
  PspError,
  type ChargeRequest,
  type DisputeEvidenceRequest,
  type PspDispute,
  type HostedSession,
  type HostedSessionRequest,
  type PaymentServiceProvider,
  type PspCharge,
  type PspEvent,
  type PspRefund,
  type PspRefundRequest,
} from '../../src/psp/port.ts';

/** What the next charge call does; consumed in order, then every call succeeds. */
export type FakeStep =
  | 'ok'
  | 'transient'
  | { transient: true; retryAfterSeconds: number }
  | { decline: string }
  /** The PSP charges, then the response is lost on the way back. */
  | 'lose_response';

/**
 * A deterministic in-memory PSP for unit and store tests of retry logic (the e2e tests use the real sandbox over
 * HTTP). It honours idempotency keys like Stripe: one payment per key, the same answer on every retry.
 */
export class FakePsp implements PaymentServiceProvider {
  readonly name = 'fake';
  /** The fake sends Stripe-shaped events, so Stripe's mapping reads them. */
  readonly interpretEvent = interpretStripeEvent;
  readonly steps: FakeStep[] = [];
  /** Payments created, by idempotency key. */
  readonly payments = new Map<string, PspCharge>();
  readonly sessions = new Map<
    string,
    HostedSession & { key: string; amountMinor: bigint; currency: string }
  >();
  chargeCalls = 0;
  /** When set, a hosted payment's charge carries this PSP fee and a balance transaction (Stripe's expanded answer). */
  feeMinor: bigint | undefined;
  /**
   * When set with `feeMinor`, a hosted payment's balance transaction is in this settlement currency, converted at
   * this rate (Stripe's `exchange_rate`): the charge then carries `settledMinor` and `exchangeRate`.
   */
  settlement: { currency: string; rate: string; settledMinor: (amountMinor: bigint) => bigint } | undefined;
  /** The next this-many look-ups (`retrieveCharge`, `retrieveHostedSession`) fail as a transient PSP error (503). */
  lookupFailures = 0;
  lookupCalls = 0;

  private lookUp(): void {
    this.lookupCalls++;
    if (this.lookupFailures > 0) {
      this.lookupFailures--;
      throw new PspError('transient', 'fake: 503 from the PSP on a look-up');
    }
  }

  script(...steps: FakeStep[]): this {
    this.steps.push(...steps);
    return this;
  }

  async charge(request: ChargeRequest): Promise<PspCharge> {
    this.chargeCalls++;
    const step = this.steps.shift() ?? 'ok';
    if (step === 'transient') throw new PspError('transient', 'fake: 503 from the PSP');
    if (typeof step === 'object' && 'transient' in step) {
      throw new PspError('transient', 'fake: 429 from the PSP', {
        retryAfterSeconds: step.retryAfterSeconds,
      });
    }
    if (typeof step === 'object' && 'decline' in step) {
      throw new PspError('hard_decline', 'fake: card declined', {
        pspCode: 'card_declined',
        declineCode: step.decline,
      });
    }
    let payment = this.payments.get(request.idempotencyKey);
    if (!payment) {
      payment = {
        paymentId: `pi_${randomBytes(8).toString('hex')}`,
        chargeId: `ch_${randomBytes(8).toString('hex')}`,
        state: 'succeeded',
        amountMinor: request.amountMinor,
        currency: request.currency,
        metadata: request.metadata,
      };
      this.payments.set(request.idempotencyKey, payment);
    }
    if (step === 'lose_response')
      throw new PspError('unknown', 'fake: connection reset after the request was sent');
    return payment;
  }

  async findCharge(idempotencyKey: string): Promise<PspCharge | undefined> {
    return this.payments.get(idempotencyKey);
  }

  async retrieveCharge(paymentId: string): Promise<PspCharge> {
    this.lookUp();
    for (const payment of this.payments.values()) if (payment.paymentId === paymentId) return payment;
    throw new PspError('hard_decline', `fake: no payment ${paymentId}`);
  }

  async createHostedSession(request: HostedSessionRequest): Promise<HostedSession> {
    for (const session of this.sessions.values()) if (session.key === request.idempotencyKey) return session;
    const sessionId = `cs_${randomBytes(8).toString('hex')}`;
    const session = {
      key: request.idempotencyKey,
      amountMinor: request.amountMinor,
      currency: request.currency,
      sessionId,
      url: `https://psp.example/pay/${sessionId}`,
      state: 'pending' as const,
    };
    this.sessions.set(sessionId, session);
    return session;
  }

  async retrieveHostedSession(sessionId: string): Promise<HostedSession> {
    this.lookUp();
    const session = this.sessions.get(sessionId);
    if (!session) throw new PspError('hard_decline', `fake: no session ${sessionId}`);
    return session;
  }

  /** Test hook: the buyer finished (or abandoned) the hosted page. */
  setSessionState(sessionId: string, state: HostedSession['state']): void {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    const paymentId = `pi_${sessionId.slice(3)}`;
    let charge: PspCharge | undefined;
    if (state === 'succeeded' && this.feeMinor !== undefined) {
      charge = {
        paymentId,
        chargeId: `ch_${sessionId.slice(3)}`,
        state: 'succeeded',
        amountMinor: session.amountMinor,
        currency: session.currency,
        feeMinor: this.feeMinor,
        balanceTransactionId: `txn_${sessionId.slice(3)}`,
        feeCurrency: session.currency.toUpperCase(),
        metadata: {},
        ...(this.settlement === undefined
          ? {}
          : {
              feeCurrency: this.settlement.currency,
              settledMinor: this.settlement.settledMinor(session.amountMinor),
              exchangeRate: this.settlement.rate,
            }),
      };
      this.payments.set(`session:${sessionId}`, charge);
    }
    this.sessions.set(sessionId, {
      ...session,
      state,
      paymentId,
      ...(charge === undefined ? {} : { charge }),
    });
  }

  async retrieveDispute(_disputeId: string): Promise<PspDispute> {
    throw new PspError('hard_decline', 'fake: disputes are not faked');
  }

  async submitDisputeEvidence(_request: DisputeEvidenceRequest): Promise<PspDispute> {
    throw new PspError('hard_decline', 'fake: disputes are not faked');
  }

  async closeDispute(_disputeId: string, _idempotencyKey: string): Promise<PspDispute> {
    throw new PspError('hard_decline', 'fake: disputes are not faked');
  }

  /** Refunds made, by idempotency key (one per key, as at Stripe). */
  readonly refunds = new Map<string, PspRefund>();
  /** What the next refund calls do; consumed in order, then every call succeeds. */
  readonly refundSteps: FakeStep[] = [];
  refundCalls = 0;
  /** The state a new refund starts in. */
  refundState: PspRefund['state'] = 'succeeded';

  async refund(request: PspRefundRequest): Promise<PspRefund> {
    this.refundCalls++;
    const step = this.refundSteps.shift() ?? 'ok';
    if (step === 'transient') throw new PspError('transient', 'fake: 503 from the PSP');
    if (typeof step === 'object' && 'decline' in step)
      throw new PspError('hard_decline', 'fake: refund refused', { pspCode: step.decline });
    let refund = this.refunds.get(request.idempotencyKey);
    if (!refund) {
      refund = {
        refundId: `re_${randomBytes(8).toString('hex')}`,
        paymentId: request.paymentId,
        amountMinor: request.amountMinor,
        currency: 'USD',
        state: this.refundState,
        metadata: request.metadata,
      };
      this.refunds.set(request.idempotencyKey, refund);
    }
    if (step === 'lose_response')
      throw new PspError('unknown', 'fake: connection reset after the request was sent');
    return refund;
  }

  async retrieveRefund(refundId: string): Promise<PspRefund> {
    this.lookUp();
    for (const refund of this.refunds.values()) if (refund.refundId === refundId) return refund;
    throw new PspError('hard_decline', `fake: no refund ${refundId}`);
  }

  async findRefund(paymentId: string, metadata: Record<string, string>): Promise<PspRefund | undefined> {
    for (const refund of this.refunds.values()) {
      const same = Object.entries(metadata).every(([key, value]) => refund.metadata?.[key] === value);
      if (refund.paymentId === paymentId && same) return refund;
    }
    return undefined;
  }

  /** Signature "valid" is accepted; anything else is refused. The body is a JSON PspEvent. */
  verifyWebhook(rawBody: string, signatureHeader: string | undefined): PspEvent {
    if (signatureHeader !== 'valid') throw new Error('bad signature');
    const parsed = JSON.parse(rawBody) as {
      id: string;
      type: string;
      data: { object: Record<string, unknown> };
    };
    return { id: parsed.id, type: parsed.type, createdAt: new Date(), object: parsed.data.object };
  }
}
