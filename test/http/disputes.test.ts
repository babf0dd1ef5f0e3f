import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/tx.ts';
import { PspError, type DisputeEvidenceRequest, type PspDispute } from '../../src/psp/port.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { FakePsp } from '../support/payins-fake-psp.ts';
import { bearer, uid } from '../support/payins.ts';

/** A PSP whose disputes live in a map; the next call may be made to fail. */
class DisputePsp extends FakePsp {
  readonly disputes = new Map<string, PspDispute>();
  readonly calls: Array<{ kind: string; key: string }> = [];
  failNext: PspError | undefined;

  private take(): void {
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure !== undefined) throw failure;
  }

  override async retrieveDispute(id: string): Promise<PspDispute> {
    throw new PspError('transient', `not polled in this test: ${id}`);
  }

  override async submitDisputeEvidence(request: DisputeEvidenceRequest): Promise<PspDispute> {
    this.calls.push({ kind: 'evidence', key: request.idempotencyKey });
    this.take();
    const dispute = this.disputes.get(request.disputeId);
    if (dispute === undefined) throw new PspError('hard_decline', 'no such dispute');
    const next = { ...dispute, status: request.submit ? 'under_review' : dispute.status };
    this.disputes.set(dispute.disputeId, next);
    return next;
  }

  override async closeDispute(id: string, key: string): Promise<PspDispute> {
    this.calls.push({ kind: 'close', key });
    this.take();
    const dispute = this.disputes.get(id);
    if (dispute === undefined) throw new PspError('hard_decline', 'no such dispute');
    const next = { ...dispute, status: 'lost' };
    this.disputes.set(id, next);
    return next;
  }
}

let t: TestApp;
let psp: DisputePsp;

beforeAll(async () => {
  psp = new DisputePsp();
  t = await createTestApp({ overrides: { psp } });
});

afterAll(async () => {
  await t.close();
});

/** A dispute as a PSP webhook would bring it (no payment of ours: nothing is booked); returns its Bursar id. */
async function seedDispute(status = 'needs_response'): Promise<string> {
  const snapshot: PspDispute = {
    disputeId: uid('dp'),
    chargeId: uid('ch'),
    paymentId: uid('pi'),
    amountMinor: 1234n,
    currency: 'USD',
    status,
    reason: 'fraudulent',
    evidenceDueBy: new Date(Date.now() + 86_400_000),
    createdAt: new Date(),
    withdrawn: undefined,
    reinstated: undefined,
  };
  psp.disputes.set(snapshot.disputeId, snapshot);
  await withTransaction(t.db.pool, (client) =>
    t.modules.disputes.onPspEvent(
      client,
      {
        subject: 'dispute',
        disputeId: snapshot.disputeId,
        paymentId: snapshot.paymentId,
        state: 'opened',
        dispute: snapshot,
      },
      { id: uid('evt') },
    ),
  );
  const row = await t.db.pool.query<{ id: string }>(
    'SELECT id FROM disputes.disputes WHERE psp_dispute_id = $1',
    [snapshot.disputeId],
  );
  return row.rows[0]?.id ?? '';
}

function post(path: string, body: unknown, options: { key?: string | null; auth?: string | null } = {}) {
  const key = options.key === undefined ? uid('idem') : options.key;
  const auth = options.auth === undefined ? t.key : options.auth;
  return t.app.inject({
    method: 'POST',
    url: path,
    headers: {
      ...(auth === null ? {} : bearer(auth)),
      'content-type': 'application/json',
      ...(key === null ? {} : { 'idempotency-key': key }),
    },
    payload: JSON.stringify(body),
  });
}

function code(response: { json(): unknown }): string {
  return (response.json() as { error: { code: string } }).error.code;
}

const EVIDENCE = { evidence: { uncategorized_text: 'tracking shows delivery', customer_name: 'Ann' } };

describe('POST /v1/disputes/{id}/evidence', () => {
  it('sends the evidence to the PSP with a Bursar key, records the submission, and replays the same key', async () => {
    const id = await seedDispute();
    const key = uid('idem');
    const first = await post(`/v1/disputes/${id}/evidence`, EVIDENCE, { key });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ id, status: 'under_review', amount: '12.34' });
    const history = first.json().history as Array<{
      to: string;
      source: string;
      details: Record<string, unknown>;
    }>;
    expect(history.at(-1)).toMatchObject({
      to: 'under_review',
      source: 'api',
      details: { action: 'evidence_submitted', fields: ['customer_name', 'uncategorized_text'] },
    });
    expect(psp.calls.at(-1)?.key).toBe(`bursar:dp:${id}:evidence:${key}`);
    const calls = psp.calls.length;
    const again = await post(`/v1/disputes/${id}/evidence`, EVIDENCE, { key });
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(psp.calls.length).toBe(calls);
    const other = await post(`/v1/disputes/${id}/evidence`, { evidence: { customer_name: 'Bob' } }, { key });
    expect(other.statusCode).toBe(422);
    expect(code(other)).toBe('idempotency_key_reused');
  });

  it('refuses without an API key (401), with a read-only key (403), without an Idempotency-Key (400)', async () => {
    const id = await seedDispute();
    expect((await post(`/v1/disputes/${id}/evidence`, EVIDENCE, { auth: null })).statusCode).toBe(401);
    const readOnly = await t.keyWith(['payments:read']);
    const forbidden = await post(`/v1/disputes/${id}/evidence`, EVIDENCE, { auth: readOnly });
    expect(forbidden.statusCode).toBe(403);
    expect(code(forbidden)).toBe('insufficient_scope');
    const noKey = await post(`/v1/disputes/${id}/evidence`, EVIDENCE, { key: null });
    expect(noKey.statusCode).toBe(400);
    expect(code(noKey)).toBe('idempotency_key_missing');
  });

  it('refuses an unknown dispute (404), empty or unknown evidence fields (400), a dispute under review (409)', async () => {
    const unknown = await post('/v1/disputes/dsp_0123456789abcdef/evidence', EVIDENCE);
    expect(unknown.statusCode).toBe(404);
    expect(code(unknown)).toBe('dispute_not_found');
    const id = await seedDispute();
    const empty = await post(`/v1/disputes/${id}/evidence`, { evidence: {} });
    expect(empty.statusCode).toBe(400);
    expect(code(empty)).toBe('validation_failed');
    const strange = await post(`/v1/disputes/${id}/evidence`, { evidence: { card_number: 'x' } });
    expect(strange.statusCode).toBe(400);
    const reviewed = await seedDispute('under_review');
    const late = await post(`/v1/disputes/${reviewed}/evidence`, EVIDENCE);
    expect(late.statusCode).toBe(409);
    expect(code(late)).toBe('dispute_not_open');
  });

  it('answers 503 when the PSP cannot be reached and lets the same key try again; 422 when the PSP refuses', async () => {
    const id = await seedDispute();
    const key = uid('idem');
    psp.failNext = new PspError('transient', 'connection reset');
    const down = await post(`/v1/disputes/${id}/evidence`, EVIDENCE, { key });
    expect(down.statusCode).toBe(503);
    expect(code(down)).toBe('dispute_psp_unavailable');
    const retried = await post(`/v1/disputes/${id}/evidence`, EVIDENCE, { key });
    expect(retried.statusCode).toBe(200);
    const other = await seedDispute();
    psp.failNext = new PspError('hard_decline', 'refused', { pspCode: 'dispute_already_closed' });
    const refused = await post(`/v1/disputes/${other}/evidence`, EVIDENCE);
    expect(refused.statusCode).toBe(422);
    expect(code(refused)).toBe('dispute_psp_refused');
  });
});

describe('POST /v1/disputes/{id}/close', () => {
  it('accepts the dispute: closed lost at once; closing it again is 409; auth and key are required', async () => {
    const id = await seedDispute();
    expect((await post(`/v1/disputes/${id}/close`, {}, { auth: null })).statusCode).toBe(401);
    expect((await post(`/v1/disputes/${id}/close`, {}, { key: null })).statusCode).toBe(400);
    const closed = await post(`/v1/disputes/${id}/close`, {});
    expect(closed.statusCode).toBe(200);
    expect(closed.json()).toMatchObject({ status: 'lost' });
    expect(closed.json().closed_at).not.toBeNull();
    const again = await post(`/v1/disputes/${id}/close`, {});
    expect(again.statusCode).toBe(409);
    expect(code(again)).toBe('dispute_not_open');
  });
});

describe('GET /v1/disputes', () => {
  it('lists newest first with status and creation filters and cursor pagination; GET by id shows the history', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const a = await seedDispute();
    const b = await seedDispute('warning_needs_response');
    const page = await t.app.inject({
      method: 'GET',
      url: `/v1/disputes?limit=1&created[gte]=${encodeURIComponent(since)}`,
      headers: bearer(t.key),
    });
    expect(page.statusCode).toBe(200);
    expect(page.json()).toMatchObject({ object: 'list', has_more: true });
    expect(page.json().data[0].id).toBe(b);
    const next = await t.app.inject({
      method: 'GET',
      url: `/v1/disputes?limit=1&starting_after=${b}&created[gte]=${encodeURIComponent(since)}`,
      headers: bearer(t.key),
    });
    expect(next.json().data[0].id).toBe(a);
    const warnings = await t.app.inject({
      method: 'GET',
      url: '/v1/disputes?status=warning_needs_response',
      headers: bearer(t.key),
    });
    expect((warnings.json().data as Array<{ id: string }>).map((d) => d.id)).toContain(b);
    expect((warnings.json().data as Array<{ id: string }>).map((d) => d.id)).not.toContain(a);
    const one = await t.app.inject({ method: 'GET', url: `/v1/disputes/${a}`, headers: bearer(t.key) });
    expect(one.json().history).toHaveLength(1);
    const missing = await t.app.inject({
      method: 'GET',
      url: '/v1/disputes/dsp_00000000000000000000',
      headers: bearer(t.key),
    });
    expect(missing.statusCode).toBe(404);
    const anonymous = await t.app.inject({ method: 'GET', url: '/v1/disputes' });
    expect(anonymous.statusCode).toBe(401);
  });
});

describe('the seller dispute policy (PATCH /v1/sellers/{id})', () => {
  it('sets, shows and removes a seller’s own fee bearer; refuses another value', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/sellers',
      headers: bearer(t.key),
      payload: { seller_account: 'dp_seller', name: 'Seller', currency: 'USD' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json().dispute_policy).toBeNull();
    const patch = (body: Record<string, unknown>) =>
      t.app.inject({ method: 'PATCH', url: '/v1/sellers/dp_seller', headers: bearer(t.key), payload: body });
    const set = await patch({ dispute_policy: { fee: 'platform' } });
    expect(set.statusCode).toBe(200);
    expect(set.json().dispute_policy).toEqual({ fee: 'platform' });
    const shown = await t.app.inject({ method: 'GET', url: '/v1/sellers/dp_seller', headers: bearer(t.key) });
    expect(shown.json().dispute_policy).toEqual({ fee: 'platform' });
    const wrong = await patch({ dispute_policy: { fee: 'buyer' } });
    expect(wrong.statusCode).toBe(400);
    const removed = await patch({ dispute_policy: null });
    expect(removed.json().dispute_policy).toBeNull();
  });
});
