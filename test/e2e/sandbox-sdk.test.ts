import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSandbox, type TestSandbox } from '../support/sandbox.ts';

let sandbox: TestSandbox;
let stripe: Stripe;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  stripe = sandbox.stripe;
});

afterAll(async () => {
  await sandbox.stop();
});

describe('the official stripe SDK against the sandbox', () => {
  it('creates a PaymentMethod from a test card number and never shows the number back', async () => {
    const pm = await stripe.paymentMethods.create({
      type: 'card',
      card: { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '123' },
    });
    expect(pm.id).toMatch(/^pm_[A-Za-z0-9]{24}$/);
    expect(pm.card?.last4).toBe('4242');
    expect(pm.card?.brand).toBe('visa');
    expect(JSON.stringify(pm)).not.toContain('4242424242424242');
    const again = await stripe.paymentMethods.retrieve(pm.id);
    expect(again.id).toBe(pm.id);
  });

  it('charges a saved method: a confirmed PaymentIntent succeeds with a charge, fee and balance transaction', async () => {
    const intent = await stripe.paymentIntents.create(
      {
        amount: 2000,
        currency: 'usd',
        payment_method: 'pm_card_visa',
        confirm: true,
        metadata: { payment_order_id: 'po-1' },
      },
      { idempotencyKey: 'sdk-success-1' },
    );
    expect(intent.id).toMatch(/^pi_/);
    expect(intent.status).toBe('succeeded');
    expect(intent.amount_received).toBe(2000);
    expect(intent.metadata).toEqual({ payment_order_id: 'po-1' });
    const expanded = await stripe.paymentIntents.retrieve(intent.id, {
      expand: ['latest_charge.balance_transaction'],
    });
    const charge = expanded.latest_charge as Stripe.Charge;
    expect(charge.id).toMatch(/^ch_/);
    expect(charge.status).toBe('succeeded');
    const txn = charge.balance_transaction as Stripe.BalanceTransaction;
    expect(txn.id).toMatch(/^txn_/);
    // 2.9 % of 2000 = 58, plus 30.
    expect(txn.fee).toBe(88);
    expect(txn.net).toBe(1912);
    expect(txn.status).toBe('pending');
  });

  it.each([
    ['pm_card_chargeDeclined', 'card_declined', 'generic_decline'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'card_declined', 'insufficient_funds'],
    ['pm_card_visa_chargeDeclinedLostCard', 'card_declined', 'lost_card'],
    ['pm_card_chargeDeclinedExpiredCard', 'expired_card', 'expired_card'],
    ['pm_card_chargeDeclinedIncorrectCvc', 'incorrect_cvc', 'incorrect_cvc'],
    ['pm_card_chargeDeclinedProcessingError', 'processing_error', 'processing_error'],
  ])(
    'a decline with %s is a StripeCardError (402) and leaves the intent needing a new method',
    async (pm, code, declineCode) => {
      const error = await stripe.paymentIntents
        .create({ amount: 1500, currency: 'eur', payment_method: pm, confirm: true })
        .then(
          () => undefined,
          (caught: unknown) => caught,
        );
      expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
      const cardError = error as InstanceType<typeof Stripe.errors.StripeCardError>;
      expect(cardError.statusCode).toBe(402);
      expect(cardError.code).toBe(code);
      expect(cardError.decline_code).toBe(declineCode);
      const intentId = cardError.payment_intent?.id ?? '';
      const intent = await stripe.paymentIntents.retrieve(intentId);
      expect(intent.status).toBe('requires_payment_method');
      expect(intent.last_payment_error?.decline_code).toBe(declineCode);
    },
  );

  it('a 3-D Secure card needs action; a review card stays processing until settled', async () => {
    const threeDs = await stripe.paymentIntents.create({
      amount: 900,
      currency: 'usd',
      payment_method: 'pm_card_authenticationRequired',
      confirm: true,
    });
    expect(threeDs.status).toBe('requires_action');
    expect(threeDs.next_action?.type).toBe('redirect_to_url');
    const review = await stripe.paymentIntents.create({
      amount: 900,
      currency: 'usd',
      payment_method: 'pm_card_sandbox_review',
      confirm: true,
    });
    expect(review.status).toBe('processing');
    await sandbox.admin('POST', `/v1/sandbox/payment_intents/${review.id}/settle`, { outcome: 'succeed' });
    expect((await stripe.paymentIntents.retrieve(review.id)).status).toBe('succeeded');
  });

  it('replays the saved response for the same key and parameters, and refuses the key with other parameters', async () => {
    const params = {
      amount: 1234,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      metadata: { k: 'v' },
    };
    const first = await stripe.paymentIntents.create(params, { idempotencyKey: 'idem-1' });
    const second = await stripe.paymentIntents.create(params, { idempotencyKey: 'idem-1' });
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
    const list = await stripe.paymentIntents.list({ limit: 100 });
    expect(list.data.filter((intent) => intent.id === first.id)).toHaveLength(1);
    const misuse = await stripe.paymentIntents
      .create({ ...params, amount: 999 }, { idempotencyKey: 'idem-1' })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(misuse).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
  });

  it('charges once for requests with the same key sent at the same time, and all answer with that charge', async () => {
    const params = {
      amount: 4321,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      metadata: { concurrent: 'yes' },
    };
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => stripe.paymentIntents.create(params, { idempotencyKey: 'idem-race' })),
    );
    expect(new Set(answers.map((intent) => intent.id)).size).toBe(1);
    const found = await stripe.paymentIntents.search({ query: "metadata['concurrent']:'yes'" });
    expect(found.data).toHaveLength(1);
  });

  it('replays a confirmation the state no longer allows: the saved answer, not the error a new one would get', async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 800,
      currency: 'usd',
      payment_method: 'pm_card_visa',
    });
    const first = await stripe.paymentIntents.confirm(intent.id, {}, { idempotencyKey: 'idem-confirm' });
    const again = await stripe.paymentIntents.confirm(intent.id, {}, { idempotencyKey: 'idem-confirm' });
    expect(first.status).toBe('succeeded');
    expect(again.id).toBe(first.id);
    expect(again.lastResponse.headers['idempotent-replayed']).toBe('true');
    const fresh = await stripe.paymentIntents.confirm(intent.id, {}).catch((e: unknown) => e);
    expect(fresh).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });

  it('replays a decline too: the same key does not charge again', async () => {
    const params = { amount: 500, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true };
    const first = await stripe.paymentIntents
      .create(params, { idempotencyKey: 'idem-decline' })
      .catch((e: unknown) => e);
    const second = await stripe.paymentIntents
      .create(params, { idempotencyKey: 'idem-decline' })
      .catch((e: unknown) => e);
    expect((first as Stripe.errors.StripeCardError).payment_intent?.id).toBe(
      (second as Stripe.errors.StripeCardError).payment_intent?.id,
    );
  });

  it('answers Stripe-shaped errors: unknown parameters, missing resources, bad keys', async () => {
    const unknown = await stripe.paymentIntents
      .create({ amount: 100, currency: 'usd', bogus: 'x' } as unknown as Stripe.PaymentIntentCreateParams)
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((unknown as Stripe.errors.StripeInvalidRequestError).message).toContain(
      'Received unknown parameter: bogus',
    );
    const missing = await stripe.paymentIntents.retrieve('pi_doesnotexist').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((missing as Stripe.errors.StripeInvalidRequestError).code).toBe('resource_missing');
    expect((missing as Stripe.errors.StripeInvalidRequestError).statusCode).toBe(404);
    const stranger = new Stripe('sk_test_wrong', {
      host: '127.0.0.1',
      port: sandbox.port,
      protocol: 'http',
      telemetry: false,
      maxNetworkRetries: 0,
    });
    const auth = await stranger.paymentIntents.list().catch((e: unknown) => e);
    expect(auth).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
  });

  it('lists and searches PaymentIntents with pagination and metadata queries', async () => {
    const tag = `order-${Date.now().toString(36)}`;
    const created = await stripe.paymentIntents.create({
      amount: 700,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      metadata: { payment_order_id: tag },
    });
    const found = await stripe.paymentIntents.search({ query: `metadata['payment_order_id']:'${tag}'` });
    expect(found.data.map((intent) => intent.id)).toEqual([created.id]);
    const page1 = await stripe.paymentIntents.list({ limit: 2 });
    expect(page1.data).toHaveLength(2);
    expect(page1.has_more).toBe(true);
    const page2 = await stripe.paymentIntents.list({ limit: 2, starting_after: page1.data[1]?.id ?? '' });
    expect(page2.data[0]?.id).not.toBe(page1.data[1]?.id);
    const all: string[] = [];
    for await (const intent of stripe.paymentIntents.list({ limit: 3 })) all.push(intent.id);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toContain(created.id);
  });

  it('creates, retrieves and expires Checkout Sessions', async () => {
    const session = await stripe.checkout.sessions.create({
      mode: 'payment',
      line_items: [
        { price_data: { currency: 'usd', unit_amount: 1500, product_data: { name: 'Mug' } }, quantity: 2 },
      ],
      success_url: 'https://shop.example/ok?session={CHECKOUT_SESSION_ID}',
      cancel_url: 'https://shop.example/cancel',
      client_reference_id: 'checkout-42',
      metadata: { checkout_id: 'checkout-42' },
    });
    expect(session.id).toMatch(/^cs_test_/);
    expect(session.amount_total).toBe(3000);
    expect(session.url).toBe(`${sandbox.url}/c/pay/${session.id}`);
    expect(session.status).toBe('open');
    const again = await stripe.checkout.sessions.retrieve(session.id);
    expect(again.client_reference_id).toBe('checkout-42');
    const items = await stripe.checkout.sessions.listLineItems(session.id);
    expect(items.data[0]?.amount_total).toBe(3000);
    const expired = await stripe.checkout.sessions.expire(session.id);
    expect(expired.status).toBe('expired');
    const page = await fetch(session.url ?? '');
    expect(page.status).toBe(410);
  });

  it('refunds a payment in parts and refuses to refund more than was paid', async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 5000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const refund = await stripe.refunds.create(
      { payment_intent: intent.id, amount: 2000, metadata: { reason: 'test' } },
      { idempotencyKey: 'refund-1' },
    );
    expect(refund.id).toMatch(/^re_/);
    // Refunds are asynchronous in the sandbox, as at Stripe: pending, then succeeded (sandbox/refunds.ts).
    expect(refund.status).toBe('pending');
    expect((await stripe.refunds.retrieve(refund.id)).amount).toBe(2000);
    const tooMuch = await stripe.refunds
      .create({ payment_intent: intent.id, amount: 3001 })
      .catch((e: unknown) => e);
    expect(tooMuch).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    const rest = await stripe.refunds.create({ payment_intent: intent.id });
    expect(rest.amount).toBe(3000);
    const charge = await stripe.charges.retrieve(String(intent.latest_charge));
    expect(charge.refunded).toBe(true);
    expect(charge.amount_refunded).toBe(5000);
  });

  it('lists events by type and balance transactions by created range', async () => {
    const before = Math.floor(Date.now() / 1000) - 1;
    const intent = await stripe.paymentIntents.create({
      amount: 4242,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const events = await stripe.events.list({ type: 'payment_intent.succeeded', limit: 100 });
    const event = events.data.find((item) => (item.data.object as { id?: string }).id === intent.id);
    expect(event?.id).toMatch(/^evt_/);
    expect((await stripe.events.retrieve(event?.id ?? '')).type).toBe('payment_intent.succeeded');
    const txns = await stripe.balanceTransactions.list({ created: { gte: before }, limit: 100 });
    expect(txns.data.some((txn) => txn.amount === 4242 && txn.type === 'charge')).toBe(true);
    const none = await stripe.balanceTransactions.list({ created: { lt: before - 3600 } });
    expect(none.data).toHaveLength(0);
  });

  it('webhook endpoints: create returns the secret once; list and delete', async () => {
    const endpoint = await stripe.webhookEndpoints.create({
      url: 'https://example.test/hook',
      enabled_events: ['charge.refunded'],
    });
    expect(endpoint.secret).toMatch(/^whsec_/);
    const list = await stripe.webhookEndpoints.list();
    const listed = list.data.find((item) => item.id === endpoint.id);
    expect(listed?.secret).toBeUndefined();
    const deleted = await stripe.webhookEndpoints.del(endpoint.id);
    expect(deleted.deleted).toBe(true);
    expect(
      (await stripe.webhookEndpoints.list()).data.find((item) => item.id === endpoint.id),
    ).toBeUndefined();
  });

  it('pays out the available balance with payout balance transactions', async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 10_000,
      currency: 'gbp',
      payment_method: 'pm_card_bypassPending',
      confirm: true,
    });
    expect(intent.status).toBe('succeeded');
    const balance = await stripe.balance.retrieve();
    expect(balance.available.find((row) => row.currency === 'gbp')?.amount).toBe(10_000 - 320);
    const run = (await sandbox.admin('POST', '/v1/sandbox/payouts/run')) as {
      data: Array<{ id: string; amount: number; currency: string }>;
    };
    const payout = run.data.find((item) => item.currency === 'gbp');
    expect(payout?.amount).toBe(9680);
    const fetched = await stripe.payouts.retrieve(payout?.id ?? '');
    expect(fetched.automatic).toBe(true);
    const inPayout = await stripe.balanceTransactions.list({
      payout: payout?.id ?? '',
    } as Stripe.BalanceTransactionListParams);
    expect(inPayout.data.map((txn) => txn.type).sort()).toEqual(['charge', 'payout']);
    const after = await stripe.balance.retrieve();
    expect(after.available.find((row) => row.currency === 'gbp')?.amount).toBe(0);
    expect((await stripe.payouts.list({ limit: 10 })).data.some((item) => item.id === payout?.id)).toBe(true);
  });
});
