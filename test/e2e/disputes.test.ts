import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  getBalances,
  holdReleased,
  payoutPaid,
  payoutStarted,
  postEntries,
  pspFees,
  pspClearing,
  sellerAccount,
  sellerReceivable,
} from '../../src/ledger/index.ts';
import { verifyLedger } from '../../src/ledger/service.ts';
import { createStripePsp } from '../../src/psp/stripe/index.ts';
import type { BackgroundService } from '../../src/services.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { bearer, registerSellers, savedMethodBody, uid, waitFor } from '../support/payins.ts';
import { startTestSandbox, type TestSandbox } from '../support/sandbox.ts';
import { SwitchPsp } from '../support/switch-psp.ts';

/**
 * Disputes end to end over HTTP with the sandbox PSP: pay-ins, then disputes opened at the PSP (admin API), booked
 * from its webhooks against the seller's share, answered with evidence or accepted through Bursar's routes, and
 * closed won or lost; the balances are checked at every step, and the ledger verified.
 */

let t: TestApp;
let sandbox: TestSandbox;
let services: BackgroundService[] = [];
let baseUrl: string;
const webhookSecret = `whsec_${randomBytes(16).toString('hex')}`;
const USD = 'USD';

beforeAll(async () => {
  const switchable = new SwitchPsp();
  t = await createTestApp({
    poolSize: 30,
    overrides: {
      psp: switchable,
      payins: {
        jobPollingIntervalSeconds: 0.5,
        tickIntervalMs: 200,
        sweepAfterMs: 3_000,
        sweepBaseDelayMs: 200,
        pollAfterMs: 60_000,
        workerConcurrency: 4,
      },
      disputes: { pollEveryMs: 300, tickMs: 200 },
    },
  });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  sandbox = await startTestSandbox({
    webhookTargets: [{ url: `${baseUrl}/v1/webhooks/psp/stripe`, secret: webhookSecret }],
  });
  switchable.use(
    createStripePsp({
      secretKey: sandbox.secretKey,
      webhookSecret,
      host: '127.0.0.1',
      port: sandbox.port,
      protocol: 'http',
      timeoutMs: 5_000,
    }),
  );
  await registerSellers(t.db.pool, ['d_lost', 'd_won', 'd_paid', 'd_dup', 'd_poll', 'd_card']);
  services = [t.modules.payins.worker, ...t.modules.disputes.services];
  for (const service of services) await service.start();
});

afterAll(async () => {
  for (const service of [...services].reverse()) await service.stop();
  await sandbox?.stop();
  await t?.close();
});

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...bearer(t.key),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** Pays `amount` to `seller` (saved method), waits for SUCCESS; returns the order id and the PSP payment id. */
async function payIn(seller: string, amount: string): Promise<{ orderId: string; paymentId: string }> {
  const body = savedMethodBody([seller], { amount });
  const created = await api('POST', '/v1/payments', body, { 'idempotency-key': uid('idem') });
  expect(created.status).toBe(201);
  const orderId = `${body.checkout_id}_po0`;
  const order = await waitFor(
    async () => {
      const got = await api('GET', `/v1/payments/${orderId}`);
      return got.json.status === 'SUCCESS' ? got.json : undefined;
    },
    30_000,
    `${orderId} SUCCESS`,
  );
  const row = await t.db.pool.query<{ psp_payment_id: string }>(
    'SELECT psp_payment_id FROM payins.payment_order WHERE payment_order_id = $1',
    [order.payment_order_id],
  );
  return { orderId, paymentId: row.rows[0]?.psp_payment_id ?? '' };
}

interface Books {
  pending: bigint;
  available: bigint;
  reserved: bigint;
  receivable: bigint;
  pspFees: bigint;
  pspClearing: bigint;
}

async function books(seller: string): Promise<Books> {
  const codes = {
    pending: sellerAccount(seller, 'pending', USD).code,
    available: sellerAccount(seller, 'available', USD).code,
    reserved: sellerAccount(seller, 'reserved', USD).code,
    receivable: sellerReceivable(seller, USD).code,
    pspFees: pspFees(USD).code,
    pspClearing: pspClearing(USD).code,
  };
  const balances = await getBalances(t.db.pool, Object.values(codes));
  const of = (code: string) => balances.get(code)?.balanceMinor ?? 0n;
  return {
    pending: of(codes.pending),
    available: of(codes.available),
    reserved: of(codes.reserved),
    receivable: of(codes.receivable),
    pspFees: of(codes.pspFees),
    pspClearing: of(codes.pspClearing),
  };
}

/** Opens a dispute at the PSP on the payment; waits for Bursar to have it with `until` true. */
async function openDispute(paymentId: string, seller: string): Promise<Record<string, unknown>> {
  const opened = (await sandbox.admin('POST', `/v1/sandbox/charges/${paymentId}/dispute`)) as { id: string };
  return await waitDispute(opened.id, seller, (d) => d.amount_withdrawn !== null);
}

async function waitDispute(
  pspDisputeId: string,
  seller: string,
  until: (dispute: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  return await waitFor(
    async () => {
      const list = await api('GET', `/v1/disputes?seller_account=${seller}&limit=100`);
      const found = (list.json.data as Array<Record<string, unknown>>).find(
        (d) => d.psp_dispute_id === pspDisputeId,
      );
      if (found === undefined || !until(found)) return undefined;
      return (await api('GET', `/v1/disputes/${String(found.id)}`)).json;
    },
    20_000,
    `dispute ${pspDisputeId}`,
  );
}

async function entriesOf(disputeId: string): Promise<string[]> {
  const rows = await t.db.pool.query<{ kind: string }>(
    `SELECT kind FROM ledger.entries WHERE metadata ->> 'disputeId' = $1 ORDER BY id`,
    [disputeId],
  );
  return rows.rows.map((row) => row.kind);
}

const DISPUTE_FEE = 1500n;

describe('disputes end to end over HTTP with the sandbox PSP', () => {
  it('a lost dispute: amount and fee leave the seller at once (seller bears the fee), evidence is submitted, the loss is final', async () => {
    const { paymentId } = await payIn('d_lost', '100.00');
    await payIn('d_lost', '50.00');
    const before = await books('d_lost');
    expect(before.pending).toBe(15_000n);

    const opened = await openDispute(paymentId, 'd_lost');
    expect(opened).toMatchObject({
      status: 'needs_response',
      amount: '100.00',
      fee: '15.00',
      fee_bearer: 'seller',
    });
    const afterOpen = await books('d_lost');
    expect(afterOpen.pending).toBe(15_000n - 10_000n - DISPUTE_FEE);
    expect(afterOpen.receivable).toBe(0n);
    expect(afterOpen.pspFees).toBe(before.pspFees);
    expect(afterOpen.pspClearing).toBe(before.pspClearing - 10_000n - DISPUTE_FEE);
    expect(await entriesOf(String(opened.id))).toEqual(['chargeback', 'dispute.fee']);

    const answered = await api(
      'POST',
      `/v1/disputes/${String(opened.id)}/evidence`,
      { evidence: { uncategorized_text: 'losing_evidence', product_description: 'a lamp' } },
      { 'idempotency-key': uid('ev') },
    );
    expect(answered.status).toBe(200);
    expect(answered.json.status).toBe('under_review');

    const closed = await waitDispute(String(opened.psp_dispute_id), 'd_lost', (d) => d.status === 'lost');
    const history = (closed.history as Array<{ to: string }>).map((h) => h.to);
    expect(history).toEqual(expect.arrayContaining(['needs_response', 'under_review', 'lost']));
    expect(await books('d_lost')).toEqual(afterOpen);
    expect(await entriesOf(String(opened.id))).toEqual(['chargeback', 'dispute.fee']);
    expect((await verifyLedger(t.db.pool)).ok).toBe(true);
  });

  it('a won dispute with the platform bearing the fee (seller policy): the amount goes back to the seller, the returned fee to psp_fees', async () => {
    const patched = await api('PATCH', '/v1/sellers/d_won', { dispute_policy: { fee: 'platform' } });
    expect(patched.status).toBe(200);
    expect(patched.json.dispute_policy).toEqual({ fee: 'platform' });
    const { paymentId } = await payIn('d_won', '80.00');
    const before = await books('d_won');

    const opened = await openDispute(paymentId, 'd_won');
    expect(opened.fee_bearer).toBe('platform');
    const afterOpen = await books('d_won');
    expect(afterOpen.pending).toBe(0n);
    expect(afterOpen.pspFees).toBe(before.pspFees + DISPUTE_FEE);
    expect(afterOpen.pspClearing).toBe(before.pspClearing - 8_000n - DISPUTE_FEE);

    const answered = await api(
      'POST',
      `/v1/disputes/${String(opened.id)}/evidence`,
      { evidence: { uncategorized_text: 'winning_evidence' } },
      { 'idempotency-key': uid('ev') },
    );
    expect(answered.status).toBe(200);
    const won = await waitDispute(
      String(opened.psp_dispute_id),
      'd_won',
      (d) => d.status === 'won' && d.amount_reinstated !== null,
    );
    expect(won).toMatchObject({ amount_reinstated: '80.00', fee_returned: '15.00' });
    const afterWin = await books('d_won');
    expect(afterWin.pending).toBe(8_000n);
    expect(afterWin.pspFees).toBe(before.pspFees);
    expect(afterWin.pspClearing).toBe(before.pspClearing);
    expect(await entriesOf(String(opened.id))).toEqual(['chargeback', 'dispute.fee', 'dispute.reinstated']);
    expect((await verifyLedger(t.db.pool)).ok).toBe(true);
  });

  it('a dispute on a seller already paid out is booked to the receivable; won, it first cancels what the seller owes', async () => {
    const { orderId, paymentId } = await payIn('d_paid', '40.00');
    const id = uid('paid');
    await t.db.pool.query('BEGIN');
    try {
      await postEntries(t.db.pool, [
        holdReleased({ releaseId: id, sellerId: 'd_paid', amountMinor: 4_000n, currency: USD }),
        payoutStarted({ payoutId: id, sellerId: 'd_paid', amountMinor: 4_000n, currency: USD }),
        payoutPaid({ payoutId: id, sellerId: 'd_paid', amountMinor: 4_000n, currency: USD }),
      ]);
      await t.db.pool.query('COMMIT');
    } catch (error) {
      await t.db.pool.query('ROLLBACK');
      throw error;
    }
    expect(orderId).toBeTruthy();
    const opened = await openDispute(paymentId, 'd_paid');
    const owed = await books('d_paid');
    expect(owed).toMatchObject({
      pending: 0n,
      available: 0n,
      reserved: 0n,
      receivable: 4_000n + DISPUTE_FEE,
    });
    const parts = opened.payment_orders as Array<{ taken_from: Record<string, string> }>;
    expect(parts[0]?.taken_from).toEqual({
      pending: '0.00',
      available: '0.00',
      reserved: '0.00',
      receivable: '55.00',
    });

    await sandbox.admin('POST', `/v1/sandbox/disputes/${String(opened.psp_dispute_id)}/close`, {
      outcome: 'won',
    });
    await waitDispute(String(opened.psp_dispute_id), 'd_paid', (d) => d.amount_reinstated !== null);
    expect(await books('d_paid')).toMatchObject({ pending: 0n, available: 0n, receivable: 0n });
    expect((await verifyLedger(t.db.pool)).ok).toBe(true);
  });

  it('the dispute test card: the payment succeeds and is disputed at once; the dispute is booked after the payment', async () => {
    const body = savedMethodBody(['d_card'], { amount: '25.00' });
    body.credit_card_info = { payment_method: 'pm_card_createDispute' };
    const created = await api('POST', '/v1/payments', body, { 'idempotency-key': uid('idem') });
    expect(created.status).toBe(201);
    const row = await waitFor(async () => {
      const found = await t.db.pool.query<{ psp_dispute_id: string }>(
        `SELECT d.psp_dispute_id FROM disputes.disputes d JOIN disputes.allocations a ON a.dispute_id = d.id
          WHERE a.seller_account = 'd_card'`,
      );
      return found.rows[0];
    }, 30_000);
    const dispute = await waitDispute(row.psp_dispute_id, 'd_card', (d) => d.amount_withdrawn === '25.00');
    expect(dispute).toMatchObject({ status: 'needs_response', reason: 'fraudulent', fee: '15.00' });
    const after = await books('d_card');
    expect(after.pending).toBe(0n);
    expect(after.receivable).toBe(DISPUTE_FEE);
    expect((await verifyLedger(t.db.pool)).ok).toBe(true);
  });

  it('a dispute event delivered twice, and again under another event id and out of order, books once', async () => {
    sandbox.setFaults({ webhooks: { duplicateRate: 1 } });
    let opened: Record<string, unknown>;
    try {
      const { paymentId } = await payIn('d_dup', '30.00');
      opened = await openDispute(paymentId, 'd_dup');
    } finally {
      sandbox.resetFaults();
    }
    const afterOpen = await books('d_dup');
    // The same dispute, as a new event (another id), and an old `created` snapshot after it: nothing more is booked.
    const stripe = new Stripe('sk_test_unused');
    const dispute = await sandbox.stripe.disputes.retrieve(String(opened.psp_dispute_id));
    for (const type of ['charge.dispute.funds_withdrawn', 'charge.dispute.created']) {
      const payload = JSON.stringify({
        id: `evt_${randomBytes(8).toString('hex')}`,
        object: 'event',
        type,
        created: Math.floor(Date.now() / 1000),
        data: { object: dispute },
      });
      const signature = stripe.webhooks.generateTestHeaderString({ payload, secret: webhookSecret });
      const response = await fetch(`${baseUrl}/v1/webhooks/psp/stripe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': signature },
        body: payload,
      });
      expect(response.status).toBe(200);
    }
    await waitFor(async () => {
      const left = await t.db.pool.query(`SELECT 1 FROM payins.psp_events WHERE processed_at IS NULL`);
      return left.rowCount === 0 ? true : undefined;
    });
    expect(await books('d_dup')).toEqual(afterOpen);
    expect(await entriesOf(String(opened.id))).toEqual(['chargeback', 'dispute.fee']);
    const events = await t.db.pool.query<{ topic: string }>(
      `SELECT type AS topic FROM events.events WHERE type LIKE 'dispute.%' AND data -> 'object' ->> 'id' = $1 ORDER BY seq`,
      [opened.id],
    );
    expect(events.rows.map((row) => row.topic)).toEqual(['dispute.created', 'dispute.funds_withdrawn']);
  });

  it('a dispute whose closing webhook never comes is closed (and reinstated) by the poller', async () => {
    const { paymentId } = await payIn('d_poll', '20.00');
    const before = await books('d_poll');
    const opened = await openDispute(paymentId, 'd_poll');
    sandbox.setFaults({ webhooks: { dropRate: 1 } });
    try {
      await sandbox.admin('POST', `/v1/sandbox/disputes/${String(opened.psp_dispute_id)}/close`, {
        outcome: 'won',
      });
      const won = await waitDispute(
        String(opened.psp_dispute_id),
        'd_poll',
        (d) => d.status === 'won' && d.amount_reinstated !== null,
      );
      expect((won.history as Array<{ to: string; source: string }>).at(-1)?.source).toBe('poll');
    } finally {
      sandbox.resetFaults();
    }
    expect((await books('d_poll')).pending).toBe(before.pending);
    expect((await verifyLedger(t.db.pool)).ok).toBe(true);
  });

  it('a dispute whose every webhook is lost is discovered by the poller and booked once', async () => {
    const { paymentId } = await payIn('d_poll', '21.00');
    const before = await books('d_poll');
    sandbox.setFaults({ webhooks: { dropRate: 1 } });
    let pspDisputeId = '';
    try {
      const opened = (await sandbox.admin('POST', `/v1/sandbox/charges/${paymentId}/dispute`)) as {
        id: string;
      };
      pspDisputeId = opened.id;
      const found = await waitDispute(pspDisputeId, 'd_poll', (d) => d.amount_withdrawn !== null);
      expect((found.history as Array<{ source: string }>)[0]?.source).toBe('poll');
    } finally {
      sandbox.resetFaults();
    }
    expect((await books('d_poll')).pending < before.pending).toBe(true);
    const entries = await t.db.pool.query('SELECT 1 FROM ledger.entries WHERE reference = $1', [
      `chargeback:${pspDisputeId}`,
    ]);
    expect(entries.rowCount).toBe(1);
    expect((await verifyLedger(t.db.pool)).ok).toBe(true);
  });

  it('accepting a dispute through POST /v1/disputes/{id}/close closes it lost at once', async () => {
    const { paymentId } = await payIn('d_poll', '20.00');
    const opened = await openDispute(paymentId, 'd_poll');
    const afterOpen = await books('d_poll');
    const accepted = await api(
      'POST',
      `/v1/disputes/${String(opened.id)}/close`,
      {},
      { 'idempotency-key': uid('cl') },
    );
    expect(accepted.status).toBe(200);
    expect(accepted.json.status).toBe('lost');
    expect(accepted.json.closed_at).not.toBeNull();
    expect(await books('d_poll')).toEqual(afterOpen);
    expect((await verifyLedger(t.db.pool)).ok).toBe(true);
  });

  it("reconciliation matches the settlement report's dispute and dispute_reversal lines (and their fees) against the booked disputes", async () => {
    const now = Math.floor(Date.now() / 1000);
    const csv = (await sandbox.admin(
      'GET',
      `/v1/sandbox/reports/balance_change_from_activity.itemized.3.csv?interval_start=${now - 3600}&interval_end=${now + 60}`,
    )) as string;
    expect(csv).toContain(',dispute,');
    expect(csv).toContain(',dispute_reversal,');
    const run = await api('POST', '/v1/reconciliation/runs', {
      source: 'psp',
      content: csv,
      name: 'disputes.csv',
    });
    expect(run.status).toBe(201);
    const exceptions = await api(
      'GET',
      `/v1/reconciliation/exceptions?run_id=${String(run.json.id)}&limit=100`,
    );
    const aboutDisputes = (exceptions.json.data as Array<Record<string, unknown>>).filter((e) =>
      /dispute/.test(JSON.stringify(e)),
    );
    expect(aboutDisputes).toEqual([]);
  });
});
