import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEvent } from '../../src/events/index.ts';
import { verifySignature } from '../../src/webhooks/signature.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { bearer, waitFor } from '../support/payins.ts';
import { startReceiver, typesOf, type Receiver } from '../support/webhook-receiver.ts';

process.env.BURSAR_WEBHOOK_ENDPOINTS_KEY ??= randomBytes(32).toString('hex');

let t: TestApp;
const receivers: Receiver[] = [];

beforeAll(async () => {
  t = await createTestApp({
    routes: (modules) => [modules.events.routes],
    overrides: { events: { allowPrivateUrls: true, disableAfterFailures: 3 } },
  });
});

afterAll(async () => {
  for (const r of receivers) await r.close();
  await t.close();
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

interface Created {
  id: string;
  secret: string;
  status: string;
}

async function createEndpoint(url: string, events: string[]): Promise<Created> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/webhook_endpoints',
    headers: bearer(t.key),
    payload: { url, enabled_events: events, description: 'test' },
  });
  expect(res.statusCode).toBe(201);
  return res.json<Created>();
}

async function emit(type: string, object: Record<string, unknown>): Promise<string> {
  return recordEvent(t.db.pool, type, object);
}

/** Sends until nothing is due now (retries scheduled later stay pending). */
async function drain(): Promise<void> {
  for (;;) {
    const pass = await t.modules.events.sendDue();
    if (pass.claimed === 0) return;
  }
}

function verified(r: Receiver, secret: string): boolean[] {
  return r.received.map((got) =>
    verifySignature(got.body, got.signature, secret, Math.floor(Date.now() / 1000)),
  );
}

describe('webhook endpoints', () => {
  it('sends each of two endpoints exactly the events its filter takes, signed with its own secret', async () => {
    const refundsHook = await receiver();
    const payoutsHook = await receiver();
    const a = await createEndpoint(refundsHook.url, ['refund.*']);
    const b = await createEndpoint(payoutsHook.url, ['payout.paid', 'payment_order.succeeded']);
    expect(a.secret).toMatch(/^whsec_/);
    await emit('refund.succeeded', { id: 'rf_one', updated_at: '2026-12-01T00:00:00Z' });
    await emit('payout.paid', { id: 'po_one' });
    await emit('payment_order.succeeded', { payment_order_id: 'x' });
    await emit('dispute.created', { id: 'dp_one' });
    await drain();
    expect(typesOf(refundsHook)).toEqual(['refund.succeeded']);
    expect(typesOf(payoutsHook).sort()).toEqual(['payment_order.succeeded', 'payout.paid']);
    expect(verified(refundsHook, a.secret)).toEqual([true]);
    expect(verified(refundsHook, b.secret)).toEqual([false]);
    expect(verified(payoutsHook, b.secret)).toEqual([true, true]);
    expect(verified(payoutsHook, a.secret)).toEqual([false, false]);
    const body = JSON.parse(refundsHook.received[0]?.body ?? '{}') as Record<string, unknown>;
    expect(body).toMatchObject({
      object: 'event',
      type: 'refund.succeeded',
      api_version: expect.any(String),
      created: expect.any(Number),
      data: { object: { id: 'rf_one' } },
    });
    for (const id of [a.id, b.id])
      await t.app.inject({ method: 'DELETE', url: `/v1/webhook_endpoints/${id}`, headers: bearer(t.key) });
  });

  it('shows the secret once and stores it encrypted', async () => {
    const r = await receiver();
    const e = await createEndpoint(r.url, ['*']);
    const got = await t.app.inject({
      method: 'GET',
      url: `/v1/webhook_endpoints/${e.id}`,
      headers: bearer(t.key),
    });
    expect(got.statusCode).toBe(200);
    expect(got.body).not.toContain(e.secret);
    expect(got.json()).toMatchObject({ id: e.id, status: 'enabled', enabled_events: ['*'] });
    const stored = await t.db.pool.query<{ secret_enc: string }>(
      'SELECT secret_enc FROM events.webhook_endpoints WHERE id = $1',
      [e.id],
    );
    expect(stored.rows[0]?.secret_enc).not.toContain(e.secret.slice(6));
    const list = await t.app.inject({
      method: 'GET',
      url: '/v1/webhook_endpoints?limit=100',
      headers: bearer(t.key),
    });
    expect(list.json<{ data: Array<{ id: string }> }>().data.map((x) => x.id)).toContain(e.id);
    expect(list.body).not.toContain(e.secret);
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/v1/webhook_endpoints/${e.id}`,
      headers: bearer(t.key),
    });
    expect(del.json()).toEqual({ id: e.id, object: 'webhook_endpoint', deleted: true });
    const gone = await t.app.inject({
      method: 'GET',
      url: `/v1/webhook_endpoints/${e.id}`,
      headers: bearer(t.key),
    });
    expect(gone.json()).toMatchObject({ error: { code: 'webhook_endpoint_not_found' } });
  });

  it('signs with both the new and the old secret during the grace period of a roll', async () => {
    const r = await receiver();
    const e = await createEndpoint(r.url, ['seller.flagged']);
    const rolled = await t.app.inject({
      method: 'POST',
      url: `/v1/webhook_endpoints/${e.id}/roll_secret`,
      headers: bearer(t.key),
      payload: { expires_in_seconds: 3600 },
    });
    expect(rolled.statusCode).toBe(200);
    const fresh = rolled.json<{ secret: string; previous_secret_expires_at: number }>();
    expect(fresh.secret).not.toBe(e.secret);
    expect(fresh.previous_secret_expires_at).toBeGreaterThan(Date.now() / 1000);
    await emit('seller.flagged', { seller_account: 'sa_one' });
    await drain();
    expect(r.received).toHaveLength(1);
    expect(r.received[0]?.signature.match(/v1=/g)).toHaveLength(2);
    expect(verified(r, fresh.secret)).toEqual([true]);
    expect(verified(r, e.secret)).toEqual([true]);
    // A roll with no grace stops the old secret at once.
    const again = await t.app.inject({
      method: 'POST',
      url: `/v1/webhook_endpoints/${e.id}/roll_secret`,
      headers: bearer(t.key),
      payload: { expires_in_seconds: 0 },
    });
    const newest = again.json<{ secret: string }>().secret;
    await emit('seller.flagged', { seller_account: 'sa_two' });
    await drain();
    const last = r.received.slice(1);
    expect(
      last.map((x) => verifySignature(x.body, x.signature, newest, Math.floor(Date.now() / 1000))),
    ).toEqual([true]);
    expect(
      last.map((x) => verifySignature(x.body, x.signature, fresh.secret, Math.floor(Date.now() / 1000))),
    ).toEqual([false]);
  });

  it('disables an endpoint after its run of failures, tells the operator by an event, and shows the attempts', async () => {
    const r = await receiver();
    r.status = 500;
    const e = await createEndpoint(r.url, ['reconciliation.exception_created']);
    await emit('reconciliation.exception_created', { id: 'rexc_one' });
    for (let i = 0; i < 3; i++) {
      await t.db.pool.query(`UPDATE events.deliveries SET next_attempt_at = now() WHERE endpoint_id = $1`, [
        e.id,
      ]);
      await drain();
    }
    expect(r.received).toHaveLength(3);
    const got = await t.app.inject({
      method: 'GET',
      url: `/v1/webhook_endpoints/${e.id}`,
      headers: bearer(t.key),
    });
    expect(got.json()).toMatchObject({
      status: 'disabled',
      disabled_reason: expect.stringContaining('3 consecutive'),
    });
    const told = await t.db.pool.query<{ id: string }>(
      `SELECT id FROM events.events WHERE type = 'webhook_endpoint.disabled' AND data -> 'object' ->> 'id' = $1`,
      [e.id],
    );
    expect(told.rows).toHaveLength(1);
    // Disabled: nothing more is sent, even when due.
    await t.db.pool.query(`UPDATE events.deliveries SET next_attempt_at = now() WHERE endpoint_id = $1`, [
      e.id,
    ]);
    await drain();
    expect(r.received).toHaveLength(3);
    const attempts = await t.app.inject({
      method: 'GET',
      url: `/v1/webhook_endpoints/${e.id}/deliveries`,
      headers: bearer(t.key),
    });
    const data = attempts.json<{ data: Array<Record<string, unknown>> }>().data;
    expect(data).toHaveLength(3);
    expect(data[0]).toMatchObject({
      succeeded: false,
      status_code: 500,
      event_type: 'reconciliation.exception_created',
      latency_ms: expect.any(Number),
      attempt: 3,
      delivery_status: 'pending',
    });
    // Re-enabled, it takes its pending delivery again.
    r.status = 200;
    const patch = await t.app.inject({
      method: 'PATCH',
      url: `/v1/webhook_endpoints/${e.id}`,
      headers: bearer(t.key),
      payload: { disabled: false },
    });
    expect(patch.json()).toMatchObject({ status: 'enabled', disabled_reason: null });
    await drain();
    expect(r.received).toHaveLength(4);
  });

  it('redelivers an event to one endpoint, or to every endpoint that takes its type, with the same event id', async () => {
    const one = await receiver();
    const two = await receiver();
    const a = await createEndpoint(one.url, ['dispute.closed']);
    const b = await createEndpoint(two.url, ['dispute.closed']);
    const id = await emit('dispute.closed', { id: 'dp_redeliver' });
    await drain();
    const toOne = await t.app.inject({
      method: 'POST',
      url: `/v1/events/${id}/redeliver`,
      headers: bearer(t.key),
      payload: { endpoint: a.id },
    });
    expect(toOne.statusCode).toBe(200);
    expect(toOne.json<{ deliveries: unknown[] }>().deliveries).toHaveLength(1);
    await drain();
    const toAll = await t.app.inject({
      method: 'POST',
      url: `/v1/events/${id}/redeliver`,
      headers: bearer(t.key),
      payload: {},
    });
    expect(
      toAll
        .json<{ deliveries: Array<{ endpoint: string }> }>()
        .deliveries.map((d) => d.endpoint)
        .sort(),
    ).toEqual([a.id, b.id].sort());
    await drain();
    const ids = (r: Receiver) => r.received.map((x) => (JSON.parse(x.body) as { id: string }).id);
    expect(ids(one)).toEqual([id, id, id]);
    expect(ids(two)).toEqual([id, id]);
    const missing = await t.app.inject({
      method: 'POST',
      url: '/v1/events/evt_nosuchevent/redeliver',
      headers: bearer(t.key),
      payload: {},
    });
    expect(missing.json()).toMatchObject({ error: { code: 'event_not_found' } });
    for (const e of [a, b])
      await t.app.inject({ method: 'DELETE', url: `/v1/webhook_endpoints/${e.id}`, headers: bearer(t.key) });
  });

  it('wakes the running sender by NOTIFY at commit, so the first attempt needs no poll', async () => {
    const r = await receiver();
    await createEndpoint(r.url, ['payout.returned']);
    const [sender] = t.modules.events.services;
    if (!sender) throw new Error('no sender');
    await sender.start();
    try {
      const id = await emit('payout.returned', { id: 'po_notify' });
      await waitFor(
        async () => (r.received.some((x) => x.body.includes(id)) ? true : undefined),
        10_000,
        'the delivery',
      );
    } finally {
      await sender.stop();
    }
  });

  it('refuses unknown endpoint ids, bad bodies and bad event types', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/v1/webhook_endpoints/we_nope',
      headers: bearer(t.key),
    });
    expect(res.statusCode).toBe(404);
    const bad = await t.app.inject({
      method: 'POST',
      url: '/v1/webhook_endpoints',
      headers: bearer(t.key),
      payload: { url: 'http://127.0.0.1:1/x', enabled_events: ['NOT A TYPE'] },
    });
    expect(bad.statusCode).toBe(400);
    const extra = await t.app.inject({
      method: 'POST',
      url: '/v1/webhook_endpoints',
      headers: bearer(t.key),
      payload: { url: 'http://127.0.0.1:1/x', enabled_events: ['*'], secret: 'mine' },
    });
    expect(extra.statusCode).toBe(400);
  });
});

describe('webhook endpoint security', () => {
  const routes: Array<{
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
    url: string;
    payload?: Record<string, unknown>;
  }> = [
    {
      method: 'POST',
      url: '/v1/webhook_endpoints',
      payload: { url: 'http://127.0.0.1:1/x', enabled_events: ['*'] },
    },
    { method: 'GET', url: '/v1/webhook_endpoints' },
    { method: 'GET', url: '/v1/webhook_endpoints/we_x' },
    { method: 'PATCH', url: '/v1/webhook_endpoints/we_x', payload: { disabled: true } },
    { method: 'DELETE', url: '/v1/webhook_endpoints/we_x' },
    { method: 'POST', url: '/v1/webhook_endpoints/we_x/roll_secret', payload: {} },
    { method: 'GET', url: '/v1/webhook_endpoints/we_x/deliveries' },
    { method: 'POST', url: '/v1/events/evt_x/redeliver', payload: {} },
  ];

  it('answers 401 without a key and 403 without the ops scope on every endpoint route', async () => {
    const readOnly = await t.keyWith(['payments:read', 'payments:write']);
    for (const route of routes) {
      const anonymous = await t.app.inject({ ...route });
      expect(anonymous.statusCode, `${route.method} ${route.url}`).toBe(401);
      const scoped = await t.app.inject({ ...route, headers: bearer(readOnly) });
      expect(scoped.statusCode, `${route.method} ${route.url}`).toBe(403);
    }
  });

  it('answers 401 without a key and 403 without payments:read on the events routes', async () => {
    const opsOnly = await t.keyWith(['ops']);
    for (const url of ['/v1/events', '/v1/events/evt_x']) {
      expect((await t.app.inject({ method: 'GET', url })).statusCode).toBe(401);
      expect((await t.app.inject({ method: 'GET', url, headers: bearer(opsOnly) })).statusCode).toBe(403);
    }
  });
});
