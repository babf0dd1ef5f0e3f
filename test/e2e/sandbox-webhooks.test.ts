import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSandbox, startWebhookReceiver, type TestSandbox } from '../support/sandbox.ts';

type Receiver = Awaited<ReturnType<typeof startWebhookReceiver>>;
let receiver: Receiver;
let filtered: Receiver;
let sandbox: TestSandbox;

beforeAll(async () => {
  // The first two deliveries fail: the sandbox must retry until the receiver answers 2xx.
  receiver = await startWebhookReceiver({ failFirst: 2 });
  // A configured target that takes one event type, as Bursar's own target takes STRIPE_EVENT_TYPES.
  filtered = await startWebhookReceiver();
  sandbox = await startTestSandbox({
    webhookTargets: [
      { url: receiver.url, secret: 'whsec_test_secret_for_webhooks' },
      {
        url: filtered.url,
        secret: 'whsec_test_secret_for_webhooks',
        enabledEvents: ['payment_intent.succeeded'],
      },
    ],
  });
});

afterAll(async () => {
  await sandbox.stop();
  await receiver.close();
  await filtered.close();
});

/** Pays a Checkout Session through the hosted page's form, as a browser without JavaScript would. */
async function payOnPage(url: string, card: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      card_number: card,
      expiry: '12 / 34',
      cvc: '123',
      name: 'Ada Buyer',
    }).toString(),
    redirect: 'manual',
  });
}

async function newSession(stripe: Stripe, reference: string) {
  return stripe.checkout.sessions.create({
    mode: 'payment',
    line_items: [
      { price_data: { currency: 'usd', unit_amount: 2500, product_data: { name: 'Lamp' } }, quantity: 1 },
    ],
    success_url: 'https://shop.example/ok?cs={CHECKOUT_SESSION_ID}',
    cancel_url: 'https://shop.example/cancel',
    client_reference_id: reference,
    metadata: { checkout_id: reference },
    payment_intent_data: { metadata: { checkout_id: reference } },
  });
}

describe('sandbox webhooks', () => {
  it('signs webhooks so that the SDK constructEvent verifies them, and retries while the receiver fails', async () => {
    const session = await newSession(sandbox.stripe, 'wh-1');
    const page = await payOnPage(session.url ?? '', '4242424242424242');
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe(`https://shop.example/ok?cs=${session.id}`);
    const hook = await receiver.waitFor(
      (item) => item.event.type === 'checkout.session.completed' && item.event.data.object.id === session.id,
    );
    const event = sandbox.stripe.webhooks.constructEvent(
      hook.body,
      hook.signature ?? '',
      'whsec_test_secret_for_webhooks',
    );
    expect(event.type).toBe('checkout.session.completed');
    const object = event.data.object as Stripe.Checkout.Session;
    expect(object.payment_status).toBe('paid');
    expect(object.client_reference_id).toBe('wh-1');
    expect(() =>
      sandbox.stripe.webhooks.constructEvent(hook.body, hook.signature ?? '', 'whsec_other'),
    ).toThrow(Stripe.errors.StripeSignatureVerificationError);
    expect(receiver.attempts()).toBeGreaterThan(receiver.received.length);
    await receiver.waitFor(
      (item) =>
        item.event.type === 'payment_intent.succeeded' && item.event.data.object.metadata !== undefined,
    );
  });

  it('sends the async events for a payment in review, and the expired event', async () => {
    const session = await newSession(sandbox.stripe, 'wh-review');
    const page = await payOnPage(session.url ?? '', '4000000000009235');
    expect(page.status).toBe(303);
    const completed = await receiver.waitFor(
      (item) => item.event.type === 'checkout.session.completed' && item.event.data.object.id === session.id,
    );
    expect(completed.event.data.object.payment_status).toBe('unpaid');
    await receiver.waitFor((item) => item.event.type === 'payment_intent.processing');
    const retrieved = await sandbox.stripe.checkout.sessions.retrieve(session.id);
    await sandbox.admin('POST', `/v1/sandbox/payment_intents/${String(retrieved.payment_intent)}/settle`, {
      outcome: 'fail',
    });
    await receiver.waitFor(
      (item) =>
        item.event.type === 'checkout.session.async_payment_failed' &&
        item.event.data.object.id === session.id,
    );
    await receiver.waitFor(
      (item) =>
        item.event.type === 'payment_intent.payment_failed' &&
        item.event.data.object.id === retrieved.payment_intent,
    );

    const other = await newSession(sandbox.stripe, 'wh-expire');
    await sandbox.stripe.checkout.sessions.expire(other.id);
    await receiver.waitFor(
      (item) => item.event.type === 'checkout.session.expired' && item.event.data.object.id === other.id,
    );
  });

  it('sends charge.refunded and charge.dispute.created', async () => {
    const disputed = await sandbox.stripe.paymentIntents.create({
      amount: 3000,
      currency: 'usd',
      payment_method: 'pm_card_createDispute',
      confirm: true,
    });
    await receiver.waitFor(
      (item) =>
        item.event.type === 'charge.dispute.created' && item.event.data.object.payment_intent === disputed.id,
    );
    const paid = await sandbox.stripe.paymentIntents.create({
      amount: 3000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    await sandbox.stripe.refunds.create({ payment_intent: paid.id });
    const refunded = await receiver.waitFor(
      (item) => item.event.type === 'charge.refunded' && item.event.data.object.payment_intent === paid.id,
    );
    expect(refunded.event.data.object.amount_refunded).toBe(3000);
  });

  it('a declined card on the page shows the reason and keeps the session open for another card', async () => {
    const session = await newSession(sandbox.stripe, 'wh-decline');
    const page = await payOnPage(session.url ?? '', '4000000000009995');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Your card has insufficient funds.');
    await receiver.waitFor(
      (item) =>
        item.event.type === 'payment_intent.payment_failed' &&
        item.event.data.object.metadata !== undefined &&
        (item.event.data.object.metadata as Record<string, string>).checkout_id === 'wh-decline',
    );
    expect((await sandbox.stripe.checkout.sessions.retrieve(session.id)).status).toBe('open');
    const retry = await payOnPage(session.url ?? '', '4242424242424242');
    expect(retry.status).toBe(303);
    expect((await sandbox.stripe.checkout.sessions.retrieve(session.id)).payment_status).toBe('paid');
  });

  it('delivers to endpoints created through the API only the events they enabled, signed with their own secret', async () => {
    const own = await startWebhookReceiver();
    try {
      const endpoint = await sandbox.stripe.webhookEndpoints.create({
        url: own.url,
        enabled_events: ['payment_intent.succeeded'],
      });
      const paid = await sandbox.stripe.paymentIntents.create({
        amount: 1000,
        currency: 'usd',
        payment_method: 'pm_card_visa',
        confirm: true,
      });
      const hook = await own.waitFor((item) => item.event.data.object.id === paid.id);
      expect(
        sandbox.stripe.webhooks.constructEvent(hook.body, hook.signature ?? '', endpoint.secret ?? '').type,
      ).toBe('payment_intent.succeeded');
      expect(own.received.every((item) => item.event.type === 'payment_intent.succeeded')).toBe(true);
      await sandbox.stripe.webhookEndpoints.del(endpoint.id);
    } finally {
      await own.close();
    }
  });

  it('delivers to a configured target with enabledEvents only those types, and every type to one without', async () => {
    const paid = await sandbox.stripe.paymentIntents.create({
      amount: 1200,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    await filtered.waitFor((hook) => hook.event.data.object.id === paid.id);
    // The deliveries are written with the events, in the request's own statement: all there once it answered.
    const delivered = await sandbox.pool.query<{ destination: string; event_type: string }>(
      `SELECT DISTINCT destination, event_type FROM sandbox.webhook_deliveries ORDER BY destination, event_type`,
    );
    const typesOf = (destination: string) =>
      delivered.rows.filter((row) => row.destination === destination).map((row) => row.event_type);
    expect(typesOf('config:1')).toEqual(['payment_intent.succeeded']);
    expect(typesOf('config:0')).toEqual(
      expect.arrayContaining(['charge.succeeded', 'payment_intent.created', 'payment_intent.succeeded']),
    );
    expect(filtered.received.every((hook) => hook.event.type === 'payment_intent.succeeded')).toBe(true);
  });
});
