import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from '../support/app.ts';
import { writeReport } from '../support/recon.ts';

/** The reconciliation routes, through the real app: runs from uploaded content, exceptions listed and worked. */

const REPORT = writeReport(
  ['a', 'b', 'c'].map((tag) => ({
    txn: `txn_http_${tag}`,
    category: 'charge',
    currency: 'EUR',
    grossMinor: 1050n,
    feeMinor: 60n,
    sourceId: `ch_${tag}`,
    created: new Date('2026-01-02T03:04:05Z'),
    metadata: { payment_order_id: `unknown_${tag}` },
  })),
);

describe('reconciliation routes', () => {
  let t: TestApp;
  let runId = '';

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('runs reconciliation over an uploaded report and stores the run with its report', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/reconciliation/runs',
      headers: bearer(t.key),
      payload: { source: 'psp', content: REPORT, name: 'day.csv' },
    });
    expect(res.statusCode).toBe(201);
    const run = res.json();
    expect(run).toMatchObject({
      object: 'reconciliation_run',
      kind: 'psp',
      status: 'succeeded',
      report: {
        lines_read: 3,
        matched: 0,
        queued: { investigation: 3, finance: 0 },
        totals: { psp: { EUR: { gross: '31.50', fee: '1.80', net: '29.70' } } },
      },
    });
    runId = run.id;
    const again = await t.app.inject({
      method: 'GET',
      url: `/v1/reconciliation/runs/${runId}`,
      headers: bearer(t.key),
    });
    expect(again.statusCode).toBe(200);
    expect(again.json().report).toEqual(run.report);
  });

  it('refuses the same file again (409) and a malformed one (422), naming the line', async () => {
    const dup = await t.app.inject({
      method: 'POST',
      url: '/v1/reconciliation/runs',
      headers: bearer(t.key),
      payload: { source: 'psp', content: REPORT },
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe('reconciliation_file_duplicate');
    const bad = await t.app.inject({
      method: 'POST',
      url: '/v1/reconciliation/runs',
      headers: bearer(t.key),
      payload: {
        source: 'bank',
        content:
          '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt/></Document>',
      },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error).toMatchObject({
      code: 'reconciliation_file_malformed',
      message: expect.stringMatching(
        /line 1, <Document\/BkToCstmrStmt>: the required element <GrpHdr> is missing/,
      ),
    });
  });

  it('lists exceptions with filters and cursor pagination, newest first', async () => {
    const all = await t.app.inject({
      method: 'GET',
      url: `/v1/reconciliation/exceptions?run_id=${runId}&class=investigation&kind=unmatched_psp_line&status=open`,
      headers: bearer(t.key),
    });
    expect(all.statusCode).toBe(200);
    expect(all.json().data).toHaveLength(3);
    expect(all.json().data[0]).toMatchObject({
      object: 'reconciliation_exception',
      amount: '10.50',
      currency: 'EUR',
      evidence: { line: { line: 4 } },
    });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { json(): { data: Array<{ id: string }>; next_cursor: string | null } } =
        await t.app.inject({
          method: 'GET',
          url: `/v1/reconciliation/exceptions?run_id=${runId}&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`,
          headers: bearer(t.key),
        });
      const body = page.json();
      seen.push(...body.data.map((e) => e.id));
      cursor = body.next_cursor;
    } while (cursor !== null);
    expect(seen).toEqual(all.json().data.map((e: { id: string }) => e.id));
    const none = await t.app.inject({
      method: 'GET',
      url: '/v1/reconciliation/exceptions?class=finance',
      headers: bearer(t.key),
    });
    expect(none.json().data).toEqual([]);
    const invalid = await t.app.inject({
      method: 'GET',
      url: '/v1/reconciliation/exceptions?class=nope',
      headers: bearer(t.key),
    });
    expect(invalid.statusCode).toBe(400);
  });

  it('resolves with a note and the key that resolved it, reopens, and shows the history', async () => {
    const list = await t.app.inject({
      method: 'GET',
      url: `/v1/reconciliation/exceptions?run_id=${runId}`,
      headers: bearer(t.key),
    });
    const id = list.json().data[0].id as string;
    const resolved = await t.app.inject({
      method: 'POST',
      url: `/v1/reconciliation/exceptions/${id}/resolve`,
      headers: bearer(t.key),
      payload: { note: 'test charge from the PSP dashboard' },
    });
    expect(resolved.statusCode).toBe(200);
    expect(resolved.json()).toMatchObject({
      status: 'resolved',
      resolution: {
        note: 'test charge from the PSP dashboard',
        resolved_by: expect.stringMatching(/^api_key:key_/),
      },
    });
    const twice = await t.app.inject({
      method: 'POST',
      url: `/v1/reconciliation/exceptions/${id}/resolve`,
      headers: bearer(t.key),
      payload: { note: 'again' },
    });
    expect(twice.statusCode).toBe(409);
    const reopened = await t.app.inject({
      method: 'POST',
      url: `/v1/reconciliation/exceptions/${id}/reopen`,
      headers: bearer(t.key),
      payload: {},
    });
    expect(reopened.json()).toMatchObject({ status: 'open', resolution: null });
    const reopenedTwice = await t.app.inject({
      method: 'POST',
      url: `/v1/reconciliation/exceptions/${id}/reopen`,
      headers: bearer(t.key),
      payload: {},
    });
    expect(reopenedTwice.statusCode).toBe(409);
    expect(reopenedTwice.json().error.code).toBe('reconciliation_exception_state');
    const shown = await t.app.inject({
      method: 'GET',
      url: `/v1/reconciliation/exceptions/${id}`,
      headers: bearer(t.key),
    });
    expect(shown.json().history.map((h: { action: string }) => h.action)).toEqual([
      'created',
      'resolved',
      'reopened',
    ]);
  });

  it('answers 404 for unknown ids, 401 without a key, and 403 without the ops scope', async () => {
    const missing = await t.app.inject({
      method: 'POST',
      url: '/v1/reconciliation/exceptions/rexc_aaaaaaaaaaaaaaaaaaaa/resolve',
      headers: bearer(t.key),
      payload: { note: 'x' },
    });
    expect(missing.json().error.code).toBe('reconciliation_exception_not_found');
    expect(missing.statusCode).toBe(404);
    const run = await t.app.inject({
      method: 'GET',
      url: '/v1/reconciliation/runs/rrun_aaaaaaaaaaaaaaaaaaaa',
      headers: bearer(t.key),
    });
    expect(run.statusCode).toBe(404);
    const anonymous = await t.app.inject({ method: 'GET', url: '/v1/reconciliation/exceptions' });
    expect(anonymous.statusCode).toBe(401);
    const reader = await t.keyWith(['payments:read', 'payments:write']);
    const denied = await t.app.inject({
      method: 'GET',
      url: '/v1/reconciliation/exceptions',
      headers: bearer(reader),
    });
    expect(denied.statusCode).toBe(403);
  });

  it('counts exceptions by class in the metrics', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: bearer(t.key) });
    expect(res.body).toMatch(
      /bursar_reconciliation_exceptions_total\{class="investigation",kind="unmatched_psp_line"\} 3/,
    );
    expect(res.body).toMatch(
      /bursar_reconciliation_open_exceptions\{class="investigation",kind="unmatched_psp_line"\} 3/,
    );
  });
});
