import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEvent } from '../../src/events/index.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { bearer } from '../support/payins.ts';

process.env.BURSAR_WEBHOOK_ENDPOINTS_KEY ??= randomBytes(32).toString('hex');

let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({
    routes: (modules) => [modules.events.routes],
    overrides: { events: { allowPrivateUrls: false } },
  });
});

afterAll(async () => {
  await t.close();
});

interface EventList {
  data: Array<{ id: string; type: string; created: number; data: { object: Record<string, unknown> } }>;
  has_more: boolean;
}

async function list(query: string): Promise<EventList> {
  const res = await t.app.inject({ method: 'GET', url: `/v1/events?${query}`, headers: bearer(t.key) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<EventList>();
}

describe('GET /v1/events', () => {
  it('lists events newest first, filtered by type, family and created, with stable cursors', async () => {
    const a = await recordEvent(t.db.pool, 'refund.created', { id: 'rf_a' });
    const b = await recordEvent(t.db.pool, 'refund.succeeded', { id: 'rf_a' });
    const c = await recordEvent(t.db.pool, 'payout.paid', { id: 'po_a' });
    await t.db.pool.query(
      `UPDATE events.events SET created_at = now() - make_interval(secs => $2::int) WHERE id = $1`,
      [a, 30],
    );
    await t.db.pool.query(
      `UPDATE events.events SET created_at = now() - interval '20 seconds' WHERE id = $1`,
      [b],
    );
    const old = await recordEvent(t.db.pool, 'refund.created', { id: 'rf_old' });
    await t.db.pool.query(`UPDATE events.events SET created_at = now() - interval '31 days' WHERE id = $1`, [
      old,
    ]);

    expect((await list('limit=100')).data.map((e) => e.id)).toEqual([c, b, a]);
    expect((await list('type=refund.created')).data.map((e) => e.id)).toEqual([a]);
    expect((await list('type=refund.*')).data.map((e) => e.id)).toEqual([b, a]);
    const since = Math.floor(Date.now() / 1000) - 25;
    expect((await list(`created[gte]=${since}`)).data.map((e) => e.id)).toEqual([c, b]);
    expect((await list(`created[lt]=${since}`)).data.map((e) => e.id)).toEqual([a]);

    const first = await list('limit=1');
    expect(first).toMatchObject({ has_more: true, data: [{ id: c }] });
    await recordEvent(t.db.pool, 'payout.paid', { id: 'po_new' });
    const second = await list(`limit=1&starting_after=${c}`);
    expect(second.data.map((e) => e.id)).toEqual([b]);
    expect((await list(`limit=5&ending_before=${b}`)).data.map((e) => e.id)[0]).not.toBe(b);
  });

  it('returns one event with its object as it was, and 404 for an unknown or expired one', async () => {
    const id = await recordEvent(t.db.pool, 'dispute.created', { id: 'dp_a', status: 'needs_response' });
    const res = await t.app.inject({ method: 'GET', url: `/v1/events/${id}`, headers: bearer(t.key) });
    expect(res.json()).toMatchObject({
      id,
      object: 'event',
      type: 'dispute.created',
      data: { object: { id: 'dp_a', status: 'needs_response' } },
    });
    const missing = await t.app.inject({
      method: 'GET',
      url: '/v1/events/evt_nothing',
      headers: bearer(t.key),
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: { code: 'event_not_found' } });
  });

  it('refuses a bad type, an unknown filter and a cursor that names no event', async () => {
    for (const query of ['type=Refund', 'colour=red', 'starting_after=evt_nothing', 'limit=101']) {
      const res = await t.app.inject({ method: 'GET', url: `/v1/events?${query}`, headers: bearer(t.key) });
      expect(res.statusCode, query).toBe(400);
    }
  });
});

describe('SSRF guard on webhook endpoint URLs', () => {
  it('refuses loopback, private, link-local, credentialed and non-http URLs', async () => {
    for (const url of [
      'http://127.0.0.1/hook',
      'http://localhost:8080/hook',
      'http://10.1.2.3/hook',
      'http://192.168.0.10/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://0.0.0.0/hook',
      'https://user:pass@example.com/hook',
      'ftp://example.com/hook',
      'not a url',
    ]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/webhook_endpoints',
        headers: bearer(t.key),
        payload: { url, enabled_events: ['*'] },
      });
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toMatchObject({ error: { code: 'webhook_url_refused', field: 'url' } });
    }
  });

  it('refuses a private URL on PATCH too', async () => {
    await t.db.pool.query(
      `INSERT INTO events.webhook_endpoints (id, url, enabled_events, secret_enc) VALUES ('we_public', 'https://example.com/h', '{*}', 'v1.x.y.z')`,
    );
    const res = await t.app.inject({
      method: 'PATCH',
      url: '/v1/webhook_endpoints/we_public',
      headers: bearer(t.key),
      payload: { url: 'http://127.0.0.1:9/h' },
    });
    expect(res.json()).toMatchObject({ error: { code: 'webhook_url_refused' } });
  });
});
