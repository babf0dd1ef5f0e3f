import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from '../support/app.ts';
import { writeReport } from '../support/recon.ts';

/** POST /v1/reconciliation/exceptions/resolve: the open exceptions a filter names, resolved with one note. */

const REPORT = writeReport(
  ['a', 'b', 'c'].map((tag) => ({
    txn: `txn_bulk_${tag}`,
    category: 'charge',
    currency: 'EUR',
    grossMinor: 1050n,
    feeMinor: 60n,
    sourceId: `ch_bulk_${tag}`,
    created: new Date('2026-01-02T03:04:05Z'),
    metadata: { payment_order_id: `unknown_bulk_${tag}` },
  })),
);

describe('bulk resolution of reconciliation exceptions', () => {
  let t: TestApp;
  let runId = '';

  beforeAll(async () => {
    t = await createTestApp();
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/reconciliation/runs',
      headers: bearer(t.key),
      payload: { source: 'psp', content: REPORT, name: 'bulk.csv' },
    });
    runId = res.json().id;
  });
  afterAll(async () => {
    await t.close();
  });

  it('resolves every open exception of a kind and run with one note, each with its own history', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/reconciliation/exceptions/resolve',
      headers: bearer(t.key),
      payload: {
        filter: { kind: 'unmatched_psp_line', run_id: runId },
        note: 'test charges of the old shop',
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ object: 'reconciliation_bulk_resolution', resolved: 3, remaining: 0 });
    const id = String(res.json().ids[0]);
    const one = await t.app.inject({
      method: 'GET',
      url: `/v1/reconciliation/exceptions/${id}`,
      headers: bearer(t.key),
    });
    expect(one.json()).toMatchObject({ status: 'resolved' });
    expect(one.json().history.at(-1)).toMatchObject({
      action: 'resolved',
      note: 'test charges of the old shop',
    });
    const again = await t.app.inject({
      method: 'POST',
      url: '/v1/reconciliation/exceptions/resolve',
      headers: bearer(t.key),
      payload: { filter: { run_id: runId }, note: 'again' },
    });
    expect(again.json()).toMatchObject({ resolved: 0, remaining: 0 });
  });

  it('refuses an empty filter or a missing note (400), so nothing is resolved by accident', async () => {
    for (const payload of [{ filter: {}, note: 'all' }, { filter: { class: 'investigation' } }]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/reconciliation/exceptions/resolve',
        headers: bearer(t.key),
        payload,
      });
      expect(res.statusCode).toBe(400);
    }
  });

  it('needs a key (401) with the ops scope (403)', async () => {
    const payload = { filter: { class: 'investigation' }, note: 'x' };
    const anonymous = await t.app.inject({
      method: 'POST',
      url: '/v1/reconciliation/exceptions/resolve',
      payload,
    });
    expect(anonymous.statusCode).toBe(401);
    const reader = await t.keyWith(['payments:read', 'payments:write']);
    const denied = await t.app.inject({
      method: 'POST',
      url: '/v1/reconciliation/exceptions/resolve',
      headers: bearer(reader),
      payload,
    });
    expect(denied.statusCode).toBe(403);
  });
});
