import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { STATUS_RANK, isOrderStatus } from '../../src/payins/state-machine.ts';
import { signPayload } from '../../sandbox/index.ts';
import { uid, waitFor } from '../support/payins.ts';
import { startPayinsStack, type PayinsStack } from '../support/payins-stack.ts';
import { startWebhookReceiver } from '../support/sandbox.ts';

/**
 * The hosted flow under faults, over real HTTP: Bursar's app and worker, the sandbox PSP with its fault injection
 * (admin endpoint), and signed webhooks. A dropped webhook is settled by polling; duplicated and reordered ones
 * post once and never move a status back; a lost answer to the session creation never makes a second session;
 * captured webhooks replayed change nothing, and are refused once stale.
 */

const SELLERS = ['hf_one', 'hf_two'] as const;

let stack: PayinsStack;
let recorder: Awaited<ReturnType<typeof startWebhookReceiver>>;

beforeAll(async () => {
  recorder = await startWebhookReceiver();
  stack = await startPayinsStack({ extraWebhookUrls: [recorder.url] });
  await stack.registerSellers([...SELLERS]);
});

afterAll(async () => {
  await stack?.close();
  await recorder?.close();
});

afterEach(() => {
  // Every test leaves the PSP healthy and Bursar on its webhook-first settings.
  stack.sandbox.resetFaults();
  stack.configure({ pollAfterMs: 60_000, pollBaseDelayMs: 60_000, pollMaxDelayMs: 60_000 });
});

/** Poll soon and often: for tests where the poller is the one expected to settle. */
function pollFast(): void {
  stack.configure({ pollAfterMs: 300, pollBaseDelayMs: 200, pollMaxDelayMs: 400 });
}

interface Hosted {
  checkoutId: string;
  orderIds: string[];
  key: string;
  body: Record<string, unknown>;
}

function hostedBody(): Hosted {
  const checkoutId = uid('hf');
  const orderIds = [`${checkoutId}_a`, `${checkoutId}_b`];
  return {
    checkoutId,
    orderIds,
    key: uid('idem'),
    body: {
      checkout_id: checkoutId,
      buyer_info: { id: 'buyer_faults', country: 'US' },
      credit_card_info: { flow: 'hosted_page', return_url: 'http://127.0.0.1:9/back' },
      payment_orders: orderIds.map((id, index) => ({
        payment_order_id: id,
        seller_account: SELLERS[index],
        amount: index === 0 ? '20.00' : '7.35',
        currency: 'USD',
      })),
    },
  };
}

async function createHosted(): Promise<Hosted & { redirectUrl: string; sessionId: string }> {
  const hosted = hostedBody();
  const answer = await stack.pay(hosted.body, hosted.key);
  expect(answer.status).toBe(201);
  const redirectUrl = (answer.json.next_action as { redirect_url: string }).redirect_url;
  return { ...hosted, redirectUrl, sessionId: sessionIdOf(redirectUrl) };
}

function sessionIdOf(redirectUrl: string): string {
  const id = /\/c\/pay\/(cs_[A-Za-z0-9_]+)$/.exec(redirectUrl)?.[1];
  if (id === undefined) throw new Error(`not a hosted page URL: ${redirectUrl}`);
  return id;
}

/** The buyer submits the hosted page's form (the browser test drives the same form in chromium). */
async function payOnPage(redirectUrl: string, card = '4242424242424242'): Promise<void> {
  const answer = await fetch(redirectUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ card_number: card, expiry: '12/40', cvc: '123', name: 'Buyer' }).toString(),
    redirect: 'manual',
  });
  expect(answer.status).toBe(303);
}

/** Events Bursar stored about a session (by the session id in the event's object). */
async function storedEventsOf(sessionId: string): Promise<Array<{ event_id: string; event_type: string }>> {
  const rows = await stack.db.pool.query<{ event_id: string; event_type: string }>(
    `SELECT event_id, event_type FROM payins.psp_events WHERE payload->'object'->>'id' = $1 ORDER BY id`,
    [sessionId],
  );
  return rows.rows;
}

/** Every step of the order's history moves forward: NOT_STARTED < EXECUTING < PENDING < SUCCESS|FAILED. */
async function expectNeverBackwards(orderId: string): Promise<void> {
  const order = await stack.order(orderId);
  const ranks = order.status_history.map((step) => (isOrderStatus(step.to) ? STATUS_RANK[step.to] : -1));
  for (let i = 1; i < ranks.length; i++) expect(ranks[i]).toBeGreaterThan(ranks[i - 1] ?? -1);
}

async function deliver(body: string, signature: string): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${stack.baseUrl}/v1/webhooks/psp/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signature },
    body,
  });
  return { status: response.status, json: await response.json() };
}

describe('hosted flow: webhook faults', () => {
  it('a dropped webhook: the poller asks the PSP and settles the checkout, one entry per order', async () => {
    pollFast();
    stack.sandbox.setFaults({ webhooks: { dropRate: 1 } });
    const hosted = await createHosted();
    await payOnPage(hosted.redirectUrl);
    for (const id of hosted.orderIds) {
      await stack.waitForStatus(id, 'SUCCESS');
      expect(await stack.successEntries(id)).toBe(1);
      expect((await stack.settledBy(id)).at(-1)).toEqual({ to: 'SUCCESS', by: 'poller' });
    }
    // Nothing reached Bursar: the sandbox dropped every delivery about this session.
    expect(await storedEventsOf(hosted.sessionId)).toEqual([]);
    const dropped = await stack.sandbox.pool.query<{ status: string }>(
      `SELECT d.status FROM sandbox.webhook_deliveries d JOIN sandbox.objects e ON e.id = d.event_id
       WHERE e.data->'data'->'object'->>'id' = $1 AND d.url LIKE '%/v1/webhooks/psp/stripe'`,
      [hosted.sessionId],
    );
    expect(dropped.rows.map((row) => row.status)).toEqual(['dropped']);
    expect(await stack.ledgerOk()).toBe(true);
  });

  it('duplicated and reordered webhooks (sandbox faults): every event stored once, one entry per order, no status ever moves back', async () => {
    stack.sandbox.setFaults({ webhooks: { duplicateRate: 1, reorder: true, reorderWindowMs: 400 } });
    const good = await Promise.all([createHosted(), createHosted()]);
    const review = await createHosted();
    await Promise.all(good.map((hosted) => payOnPage(hosted.redirectUrl)));
    await payOnPage(review.redirectUrl, '4000000000009235');
    const session = await stack.sandbox.stripe.checkout.sessions.retrieve(review.sessionId);
    await stack.sandbox.admin(
      'POST',
      `/v1/sandbox/payment_intents/${String(session.payment_intent)}/settle`,
      {
        outcome: 'succeed',
      },
    );
    const all = [...good, review];
    for (const hosted of all) for (const id of hosted.orderIds) await stack.waitForStatus(id, 'SUCCESS');
    // Wait for every copy of every session event to reach Bursar (and be answered), then check what it kept.
    const sessionIds = all.map((hosted) => hosted.sessionId);
    const deliveries = await waitFor(
      async () => {
        const rows = await stack.sandbox.pool.query<{ event_id: string; status: string }>(
          `SELECT d.event_id, d.status FROM sandbox.webhook_deliveries d JOIN sandbox.objects e ON e.id = d.event_id
           WHERE e.data->'data'->'object'->>'id' = ANY($1) AND d.url LIKE '%/v1/webhooks/psp/stripe'`,
          [sessionIds],
        );
        return rows.rows.length > 0 && rows.rows.every((row) => row.status === 'delivered')
          ? rows.rows
          : undefined;
      },
      20_000,
      'every duplicated delivery to be delivered',
    );
    const copies = new Map<string, number>();
    for (const row of deliveries) copies.set(row.event_id, (copies.get(row.event_id) ?? 0) + 1);
    expect([...copies.values()].every((count) => count === 2)).toBe(true);
    await waitFor(
      async () => {
        const unprocessed = await stack.db.pool.query(
          `SELECT 1 FROM payins.psp_events WHERE payload->'object'->>'id' = ANY($1) AND processed_at IS NULL`,
          [sessionIds],
        );
        return unprocessed.rowCount === 0 ? true : undefined;
      },
      20_000,
      'every stored event to be processed',
    );
    // Two copies of each event arrived; each event is stored once.
    const storedIds = (await Promise.all(all.map((hosted) => storedEventsOf(hosted.sessionId))))
      .flat()
      .map((event) => event.event_id);
    expect(storedIds.length).toBe(new Set(storedIds).size);
    expect(new Set(storedIds)).toEqual(new Set(copies.keys()));
    for (const hosted of all) {
      for (const id of hosted.orderIds) {
        expect(await stack.successEntries(id)).toBe(1);
        await expectNeverBackwards(id);
        expect((await stack.order(id)).status).toBe('SUCCESS');
      }
    }
    // Each session's events: completed (+ async_payment_succeeded for the review), all stored.
    expect((await storedEventsOf(review.sessionId)).map((e) => e.event_type).sort()).toEqual([
      'checkout.session.async_payment_succeeded',
      'checkout.session.completed',
    ]);
    expect(await stack.ledgerOk()).toBe(true);
  });

  it('webhooks delivered late, in reverse order and twice: the success posts once and the older "unpaid" event moves nothing back', async () => {
    // Nothing reaches Bursar by itself; the PSP's own events are then delivered by hand, newest first, twice each.
    stack.sandbox.setFaults({ webhooks: { dropRate: 1 } });
    const hosted = await createHosted();
    await payOnPage(hosted.redirectUrl, '4000000000009235');
    const session = await stack.sandbox.stripe.checkout.sessions.retrieve(hosted.sessionId);
    await stack.sandbox.admin(
      'POST',
      `/v1/sandbox/payment_intents/${String(session.payment_intent)}/settle`,
      {
        outcome: 'succeed',
      },
    );
    const events = new Map<string, string>();
    for (const type of ['checkout.session.completed', 'checkout.session.async_payment_succeeded']) {
      const list = await stack.sandbox.stripe.events.list({ type, limit: 100 });
      const event = list.data.find((e) => (e.data.object as { id?: string }).id === hosted.sessionId);
      if (!event) throw new Error(`no ${type} event for ${hosted.sessionId}`);
      // The raw JSON as the PSP serves it, signed as the sandbox's dispatcher signs it.
      const raw = await fetch(`${stack.sandbox.url}/v1/events/${event.id}`, {
        headers: { authorization: `Bearer ${stack.sandbox.secretKey}` },
      });
      events.set(type, await raw.text());
    }
    const send = async (type: string) => {
      const body = events.get(type) ?? '';
      const signature = signPayload(body, stack.webhookSecret, Math.floor(Date.now() / 1000));
      // What the PSP signs, the official SDK verifies.
      expect(stack.sandbox.stripe.webhooks.constructEvent(body, signature, stack.webhookSecret).type).toBe(
        type,
      );
      return await deliver(body, signature);
    };
    expect(await send('checkout.session.async_payment_succeeded')).toEqual({
      status: 200,
      json: { received: true, duplicate: false },
    });
    expect(await send('checkout.session.async_payment_succeeded')).toEqual({
      status: 200,
      json: { received: true, duplicate: true },
    });
    for (const id of hosted.orderIds) await stack.waitForStatus(id, 'SUCCESS');
    expect((await send('checkout.session.completed')).json).toEqual({ received: true, duplicate: false });
    expect((await send('checkout.session.completed')).json).toEqual({ received: true, duplicate: true });
    await waitFor(
      async () => {
        const rows = await stack.db.pool.query<{ outcome: string | null }>(
          `SELECT outcome FROM payins.psp_events WHERE payload->'object'->>'id' = $1 AND event_type = 'checkout.session.completed'`,
          [hosted.sessionId],
        );
        return rows.rows[0]?.outcome ?? undefined;
      },
      15_000,
      'the late completed event to be processed',
    );
    for (const id of hosted.orderIds) {
      const order = await stack.order(id);
      expect(order.status_history.map((step) => step.to)).toEqual(['NOT_STARTED', 'EXECUTING', 'SUCCESS']);
      expect(await stack.successEntries(id)).toBe(1);
    }
    expect(await storedEventsOf(hosted.sessionId)).toHaveLength(2);
    expect(await stack.ledgerOk()).toBe(true);
  });

  it('a hosted session that expires while its webhooks are lost: the poller finds it expired and fails the orders, no entry', async () => {
    pollFast();
    stack.sandbox.setFaults({ webhooks: { dropRate: 1 } });
    const hosted = await createHosted();
    await stack.sandbox.stripe.checkout.sessions.expire(hosted.sessionId);
    for (const id of hosted.orderIds) {
      expect(await stack.waitForStatus(id, 'FAILED')).toMatchObject({ status_reason: 'expired' });
      expect((await stack.settledBy(id)).at(-1)).toEqual({ to: 'FAILED', by: 'poller' });
      expect(await stack.successEntries(id)).toBe(0);
    }
    expect(await storedEventsOf(hosted.sessionId)).toEqual([]);
    expect((await stack.get(`/v1/checkouts/${hosted.checkoutId}`)).json).toMatchObject({
      status: 'failed',
      is_payment_done: true,
    });
  });
});

describe('hosted flow: a lost answer when the session is created', () => {
  it('answers 503 with Retry-After; the retry with the same key gets the session the PSP made, and the buyer pays once', async () => {
    stack.sandbox.setFaults({ rules: [{ match: 'POST /v1/checkout/sessions', lostResponseRate: 1 }] });
    const hosted = hostedBody();
    const first = await stack.pay(hosted.body, hosted.key);
    expect(first.status).toBe(503);
    expect((first.json.error as { code: string }).code).toBe('service_unavailable');
    expect(Number(first.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // The PSP did make the session; only its answer was lost.
    const atPsp = await stack.sessionsAtPsp(hosted.checkoutId);
    expect(atPsp).toHaveLength(1);
    stack.sandbox.resetFaults();
    const retry = await stack.pay(hosted.body, hosted.key);
    expect(retry.status).toBe(201);
    const redirectUrl = (retry.json.next_action as { redirect_url: string }).redirect_url;
    expect(sessionIdOf(redirectUrl)).toBe(atPsp[0]);
    const again = await stack.pay(hosted.body, hosted.key);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json).toEqual(retry.json);
    await payOnPage(redirectUrl);
    for (const id of hosted.orderIds) {
      await stack.waitForStatus(id, 'SUCCESS');
      expect(await stack.successEntries(id)).toBe(1);
    }
    expect(await stack.sessionsAtPsp(hosted.checkoutId)).toEqual(atPsp);
  });

  it('when nobody retries, the poller registers the session the PSP already made (same key, no second session), and its expiry fails the orders', async () => {
    stack.sandbox.setFaults({ rules: [{ match: 'POST /v1/checkout/sessions', lostResponseRate: 1 }] });
    const hosted = hostedBody();
    expect((await stack.pay(hosted.body, hosted.key)).status).toBe(503);
    const atPsp = await stack.sessionsAtPsp(hosted.checkoutId);
    expect(atPsp).toHaveLength(1);
    stack.sandbox.resetFaults();
    pollFast();
    const stored = await waitFor(
      async () => {
        const rows = await stack.db.pool.query<{ psp_session_id: string | null }>(
          'SELECT psp_session_id FROM payins.payment_event WHERE checkout_id = $1',
          [hosted.checkoutId],
        );
        return rows.rows[0]?.psp_session_id ?? undefined;
      },
      15_000,
      'the poller to register the session',
    );
    expect(stored).toBe(atPsp[0]);
    expect(await stack.sessionsAtPsp(hosted.checkoutId)).toEqual(atPsp);
    await stack.sandbox.stripe.checkout.sessions.expire(stored);
    for (const id of hosted.orderIds) {
      expect(await stack.waitForStatus(id, 'FAILED')).toMatchObject({ status_reason: 'expired' });
      expect(await stack.successEntries(id)).toBe(0);
    }
  });
});

describe('hosted flow: replayed and forged webhooks', () => {
  it('a captured webhook re-sent changes nothing (stored once); re-sent after the tolerance window, or tampered with, it is refused', async () => {
    const hosted = await createHosted();
    await payOnPage(hosted.redirectUrl);
    // The recorder is a second destination: it gets exactly what Bursar got, signed with the same secret.
    const captured = await recorder.waitFor(
      (hook) =>
        hook.event.type === 'checkout.session.completed' && hook.event.data.object.id === hosted.sessionId,
    );
    for (const id of hosted.orderIds) await stack.waitForStatus(id, 'SUCCESS');
    expect(
      stack.sandbox.stripe.webhooks.constructEvent(
        captured.body,
        captured.signature ?? '',
        stack.webhookSecret,
      ).id,
    ).toBe(captured.event.id);

    expect(await deliver(captured.body, captured.signature ?? '')).toEqual({
      status: 200,
      json: { received: true, duplicate: true },
    });
    const tampered = captured.body.replace('"paid"', '"unpaid"');
    expect(tampered).not.toBe(captured.body);
    expect((await deliver(tampered, captured.signature ?? '')).status).toBe(400);

    // The same capture, five minutes and a second later: stale, refused as a possible replay.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 301_000 });
    let stale: { status: number; json: unknown };
    try {
      stale = await deliver(captured.body, captured.signature ?? '');
    } finally {
      vi.useRealTimers();
    }
    expect(stale).toMatchObject({ status: 400, json: { error: { code: 'webhook_signature_invalid' } } });

    const stored = await stack.db.pool.query('SELECT 1 FROM payins.psp_events WHERE event_id = $1', [
      captured.event.id,
    ]);
    expect(stored.rowCount).toBe(1);
    for (const id of hosted.orderIds) {
      const order = await stack.order(id);
      expect(order.status_history.map((step) => step.to)).toEqual(['NOT_STARTED', 'EXECUTING', 'SUCCESS']);
      expect(await stack.successEntries(id)).toBe(1);
    }
  });
});
