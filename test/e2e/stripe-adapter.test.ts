import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PspError, WebhookVerificationError } from '../../src/psp/port.ts';
import { createStripePsp } from '../../src/psp/stripe/index.ts';
import { signPayload } from '../../sandbox/index.ts';
import { startTestSandbox, type TestSandbox } from '../support/sandbox.ts';

let sandbox: TestSandbox;

beforeAll(async () => {
  sandbox = await startTestSandbox();
});

afterEach(() => {
  sandbox.resetFaults();
});

afterAll(async () => {
  await sandbox.stop();
});

async function failureOf(promise: Promise<unknown>): Promise<PspError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PspError);
  return error as PspError;
}

async function intentsWithOrder(orderId: string): Promise<number> {
  const found = await sandbox.stripe.paymentIntents.search({
    query: `metadata['payment_order_id']:'${orderId}'`,
  });
  return found.data.length;
}

describe('the Stripe adapter (PSP port) against the sandbox', () => {
  it('charges a saved method and reports state, amount in bigint minor units, upper-case currency and fee', async () => {
    const charge = await sandbox.psp.charge({
      idempotencyKey: 'po-a1',
      amountMinor: 1999n,
      currency: 'USD',
      paymentMethod: 'pm_card_visa',
      metadata: { payment_order_id: 'po-a1' },
    });
    expect(charge).toMatchObject({
      state: 'succeeded',
      amountMinor: 1999n,
      currency: 'USD',
      feeMinor: 88n,
      metadata: { payment_order_id: 'po-a1' },
    });
    expect(charge.chargeId).toMatch(/^ch_/);
    // The balance transaction the fee is booked under (psp_fee:<id>), as the settlement report lists it.
    expect(charge.balanceTransactionId).toMatch(/^txn_/);
    expect(charge.feeCurrency).toBe('USD');
    expect(await sandbox.psp.retrieveCharge(charge.paymentId)).toMatchObject({
      state: 'succeeded',
      feeMinor: 88n,
      balanceTransactionId: charge.balanceTransactionId,
    });
    expect(await sandbox.psp.findCharge('po-a1', { payment_order_id: 'po-a1' })).toMatchObject({
      feeMinor: 88n,
      balanceTransactionId: charge.balanceTransactionId,
    });
  });

  it('maps a decline to hard_decline with Stripe’s codes and the failed payment id', async () => {
    const error = await failureOf(
      sandbox.psp.charge({
        idempotencyKey: 'po-a2',
        amountMinor: 1000n,
        currency: 'EUR',
        paymentMethod: 'pm_card_chargeDeclinedInsufficientFunds',
        metadata: { payment_order_id: 'po-a2' },
      }),
    );
    expect(error.failureClass).toBe('hard_decline');
    expect(error.pspCode).toBe('card_declined');
    expect(error.declineCode).toBe('insufficient_funds');
    expect(error.paymentId).toMatch(/^pi_/);
    expect(await sandbox.psp.findCharge('po-a2', { payment_order_id: 'po-a2' })).toMatchObject({
      state: 'failed',
      failureCode: 'insufficient_funds',
    });
  });

  it('finds a charge by its metadata, and nothing for a payment never created', async () => {
    await sandbox.psp.charge({
      idempotencyKey: 'po-a3',
      amountMinor: 500n,
      currency: 'USD',
      paymentMethod: 'pm_card_visa',
      metadata: { payment_order_id: 'po-a3' },
    });
    expect((await sandbox.psp.findCharge('po-a3', { payment_order_id: 'po-a3' }))?.state).toBe('succeeded');
    expect(await sandbox.psp.findCharge('po-never', { payment_order_id: 'po-never' })).toBeUndefined();
  });

  it('a lost response causes no second charge: the retry with the same idempotency key is replayed', async () => {
    sandbox.setFaults({ rules: [{ match: 'POST /v1/payment_intents', lostResponseRate: 1 }] });
    const request = {
      idempotencyKey: 'po-lost',
      amountMinor: 4200n,
      currency: 'USD',
      paymentMethod: 'pm_card_visa',
      metadata: { payment_order_id: 'po-lost' },
    };
    const error = await failureOf(sandbox.psp.charge(request));
    // The connection dropped after the request was sent: we cannot know, so `unknown`.
    expect(error.failureClass).toBe('unknown');
    // The charge was applied all the same.
    expect((await sandbox.psp.findCharge('po-lost', { payment_order_id: 'po-lost' }))?.state).toBe(
      'succeeded',
    );
    sandbox.resetFaults();
    const retried = await sandbox.psp.charge(request);
    expect(retried.state).toBe('succeeded');
    expect(await intentsWithOrder('po-lost')).toBe(1);
    const charges = await sandbox.stripe.charges.list({ payment_intent: retried.paymentId });
    expect(charges.data).toHaveLength(1);
  });

  it('maps injected 503 and 429 to transient (with Retry-After) and a timeout to unknown', async () => {
    sandbox.setFaults({ rules: [{ match: 'POST /v1/payment_intents', errorRate: 1, errorStatuses: [503] }] });
    const unavailable = await failureOf(
      sandbox.psp.charge({
        idempotencyKey: 'po-503',
        amountMinor: 100n,
        currency: 'USD',
        paymentMethod: 'pm_card_visa',
        metadata: { payment_order_id: 'po-503' },
      }),
    );
    expect(unavailable.failureClass).toBe('transient');
    expect(unavailable.retryAfterSeconds).toBe(1);
    expect(await intentsWithOrder('po-503')).toBe(0);
    sandbox.setFaults({ rules: [{ match: '/v1/payment_intents*', errorRate: 1, errorStatuses: [429] }] });
    const limited = await failureOf(
      sandbox.psp.charge({
        idempotencyKey: 'po-429',
        amountMinor: 100n,
        currency: 'USD',
        paymentMethod: 'pm_card_visa',
        metadata: { payment_order_id: 'po-429' },
      }),
    );
    expect(limited.failureClass).toBe('transient');
    sandbox.setFaults({ rules: [{ match: 'POST /v1/payment_intents', timeoutRate: 1 }] });
    const impatient = createStripePsp({
      secretKey: sandbox.secretKey,
      webhookSecret: sandbox.webhookSecret,
      host: '127.0.0.1',
      port: sandbox.port,
      protocol: 'http',
      timeoutMs: 300,
    });
    const timedOut = await failureOf(
      impatient.charge({
        idempotencyKey: 'po-timeout',
        amountMinor: 100n,
        currency: 'USD',
        paymentMethod: 'pm_card_visa',
        metadata: { payment_order_id: 'po-timeout' },
      }),
    );
    expect(timedOut.failureClass).toBe('unknown');
  });

  it('maps a refused connection (nothing sent) to transient', async () => {
    const nowhere = createStripePsp({
      secretKey: sandbox.secretKey,
      webhookSecret: sandbox.webhookSecret,
      host: '127.0.0.1',
      port: 1,
      protocol: 'http',
    });
    const error = await failureOf(nowhere.retrieveCharge('pi_x'));
    expect(error.failureClass).toBe('transient');
  });

  it('creates and reads hosted sessions, and refunds', async () => {
    const session = await sandbox.psp.createHostedSession({
      idempotencyKey: 'checkout-a5',
      amountMinor: 12_345n,
      currency: 'USD',
      successUrl: 'https://shop.example/ok',
      cancelUrl: 'https://shop.example/no',
      clientReferenceId: 'checkout-a5',
      description: 'Order checkout-a5',
      metadata: { checkout_id: 'checkout-a5' },
    });
    expect(session.sessionId).toMatch(/^cs_test_/);
    expect(session.url).toContain(`/c/pay/${session.sessionId}`);
    expect(session.state).toBe('pending');
    expect(session.expiresAt).toBeInstanceOf(Date);
    const paid = await fetch(session.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'card_number=4242+4242+4242+4242&expiry=12%2F34&cvc=123&name=A',
      redirect: 'manual',
    });
    expect(paid.headers.get('location')).toBe(`https://shop.example/ok?session_id=${session.sessionId}`);
    const after = await sandbox.psp.retrieveHostedSession(session.sessionId);
    expect(after.state).toBe('succeeded');
    // The session's payment comes with its charge and the PSP's fee (what the poller books at success).
    expect(after.charge).toMatchObject({
      state: 'succeeded',
      paymentId: after.paymentId,
      feeCurrency: 'USD',
    });
    expect(after.charge?.feeMinor).toBeGreaterThan(0n);
    expect(after.charge?.balanceTransactionId).toMatch(/^txn_/);
    const paymentId = after.paymentId ?? '';
    expect((await sandbox.psp.retrieveCharge(paymentId)).metadata).toEqual({ checkout_id: 'checkout-a5' });
    const refund = await sandbox.psp.refund({
      idempotencyKey: 'refund-a5',
      paymentId,
      amountMinor: 345n,
      metadata: {},
    });
    expect(refund).toMatchObject({ paymentId, amountMinor: 345n, currency: 'USD', state: 'pending' });
    const again = await sandbox.psp.refund({
      idempotencyKey: 'refund-a5',
      paymentId,
      amountMinor: 345n,
      metadata: {},
    });
    expect(again.refundId).toBe(refund.refundId);
  });

  it('verifies webhook signatures and refuses wrong or stale ones', () => {
    const body = JSON.stringify({
      id: 'evt_1',
      object: 'event',
      type: 'payment_intent.succeeded',
      created: 1_700_000_000,
      data: { object: { id: 'pi_1' } },
    });
    const now = Math.floor(Date.now() / 1000);
    const event = sandbox.psp.verifyWebhook(body, signPayload(body, sandbox.webhookSecret, now));
    expect(event).toMatchObject({ id: 'evt_1', type: 'payment_intent.succeeded', object: { id: 'pi_1' } });
    expect(() => sandbox.psp.verifyWebhook(body, signPayload(body, 'whsec_other', now))).toThrow(
      WebhookVerificationError,
    );
    expect(() =>
      sandbox.psp.verifyWebhook(body, signPayload(body, sandbox.webhookSecret, now - 301)),
    ).toThrow(WebhookVerificationError);
    expect(() =>
      sandbox.psp.verifyWebhook(`${body} `, signPayload(body, sandbox.webhookSecret, now)),
    ).toThrow(WebhookVerificationError);
    expect(() => sandbox.psp.verifyWebhook(body, undefined)).toThrow(WebhookVerificationError);
  });
});
