import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackgroundService } from '../../src/services.ts';
import { verifyLedger } from '../../src/ledger/service.ts';
import { createStripePsp } from '../../src/psp/stripe/index.ts';
import type { TestApp } from '../support/app.ts';
import { createPayinsTestApp } from '../support/payins-app.ts';
import { bearer, registerSellers, savedMethodBody, uid, waitFor } from '../support/payins.ts';
import { startTestSandbox, type TestSandbox } from '../support/sandbox.ts';
import { SwitchPsp } from '../support/switch-psp.ts';

let t: TestApp;
let sandbox: TestSandbox;
let worker: BackgroundService;
let baseUrl: string;
let psp: ReturnType<typeof createStripePsp>;
const webhookSecret = `whsec_${randomBytes(16).toString('hex')}`;

beforeAll(async () => {
  const switchable = new SwitchPsp();
  t = await createPayinsTestApp(
    {
      psp: switchable,
      payins: {
        retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 500, jitterRatio: 0.5 },
        jobPollingIntervalSeconds: 0.5,
        tickIntervalMs: 200,
        sweepAfterMs: 3_000,
        sweepBaseDelayMs: 200,
        pollAfterMs: 60_000,
        workerConcurrency: 4,
      },
    },
    { poolSize: 30 },
  );
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  sandbox = await startTestSandbox({
    webhookTargets: [{ url: `${baseUrl}/v1/webhooks/psp/stripe`, secret: webhookSecret }],
  });
  psp = createStripePsp({
    secretKey: sandbox.secretKey,
    webhookSecret,
    host: '127.0.0.1',
    port: sandbox.port,
    protocol: 'http',
    timeoutMs: 5_000,
  });
  switchable.use(psp);
  await registerSellers(t.db.pool, ['e_one', 'e_two', 'e_three']);
  worker = t.modules.payins.worker;
  await worker.start();
});

afterAll(async () => {
  await worker?.stop();
  await sandbox?.stop();
  await t?.close();
});

async function postPayment(
  body: unknown,
  key: string,
): Promise<{ status: number; replayed: boolean; json: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}/v1/payments`, {
    method: 'POST',
    headers: { ...bearer(t.key), 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    replayed: response.headers.get('idempotent-replayed') === 'true',
    json: (await response.json()) as Record<string, unknown>,
  };
}

async function orderStatus(id: string): Promise<string | undefined> {
  const response = await fetch(`${baseUrl}/v1/payments/${id}`, { headers: bearer(t.key) });
  return ((await response.json()) as { status?: string }).status;
}

/** Charge calls whose answer never came (the PSP call metric, outcome "unknown"). */
async function lostChargeAnswers(): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`, { headers: bearer(t.key) })).text();
  const line = text
    .split('\n')
    .find((l) =>
      l.startsWith('bursar_psp_call_duration_seconds_count{operation="charge",outcome="unknown"}'),
    );
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

async function chargesAtPsp(paymentOrderId: string): Promise<number> {
  const found = await psp.stripe.paymentIntents.search({
    query: `metadata['payment_order_id']:'${paymentOrderId}'`,
    limit: 100,
  });
  return found.data.length;
}

describe('pay-ins end to end over HTTP with the sandbox PSP', () => {
  it('50 concurrent identical POSTs with one key: one checkout, one charge per order, every other answer a replay or a 429', async () => {
    const body = savedMethodBody(['e_one', 'e_two', 'e_three'], { amount: '25.00' });
    const key = uid('idem');
    const answers = await Promise.all(Array.from({ length: 50 }, () => postPayment(body, key)));
    const fresh = answers.filter((a) => a.status === 201 && !a.replayed);
    expect(fresh).toHaveLength(1);
    for (const answer of answers) {
      expect(
        answer.status === 429 || (answer.status === 201 && (answer === fresh[0] || answer.replayed)),
      ).toBe(true);
      if (answer.status === 201) expect(answer.json).toEqual(fresh[0]?.json);
    }
    const checkouts = await t.db.pool.query('SELECT 1 FROM payins.payment_event WHERE checkout_id = $1', [
      body.checkout_id,
    ]);
    expect(checkouts.rowCount).toBe(1);
    const orders = (fresh[0]?.json.payment_orders as Array<{ payment_order_id: string }>).map(
      (o) => o.payment_order_id,
    );
    for (const id of orders) {
      await waitFor(
        async () => ((await orderStatus(id)) === 'SUCCESS' ? true : undefined),
        30_000,
        `${id} SUCCESS`,
      );
      expect(await chargesAtPsp(id)).toBe(1);
    }
    expect((await verifyLedger(t.db.pool)).ok).toBe(true);
  });

  it('a charge whose response is lost (the PSP charged, then dropped the connection) ends SUCCESS with exactly one charge', async () => {
    const lostBefore = await lostChargeAnswers();
    sandbox.setFaults({ rules: [{ match: 'POST /v1/payment_intents*', lostResponseRate: 1 }] });
    try {
      const body = savedMethodBody(['e_one'], { amount: '7.77' });
      const answer = await postPayment(body, uid('idem'));
      expect(answer.status).toBe(201);
      const id = `${String(body.checkout_id)}_po0`;
      await waitFor(
        async () => ((await orderStatus(id)) === 'SUCCESS' ? true : undefined),
        30_000,
        `${id} SUCCESS`,
      );
      // The fault was real: our charge call got no answer (outcome "unknown"), yet the PSP holds a succeeded
      // payment — one attempt, no second charge. (The PSP's webhook may settle the order before the executor
      // has even seen its connection drop, so the count is awaited, not read once.)
      await waitFor(
        async () => ((await lostChargeAnswers()) === lostBefore + 1 ? true : undefined),
        10_000,
        'the charge call without an answer to be counted',
      );
      const found = await psp.stripe.paymentIntents.search({
        query: `metadata['payment_order_id']:'${id}'`,
      });
      expect(found.data.map((intent) => intent.status)).toEqual(['succeeded']);
      const order = await t.db.pool.query<{ attempts: number }>(
        'SELECT attempts FROM payins.payment_order WHERE payment_order_id = $1',
        [id],
      );
      expect(order.rows[0]?.attempts).toBe(1);
      expect(await chargesAtPsp(id)).toBe(1);
    } finally {
      sandbox.resetFaults();
    }
  });

  it('a hard decline fails the order with its decline code and is not retried', async () => {
    const body = {
      ...savedMethodBody(['e_two']),
      credit_card_info: { payment_method: 'pm_card_chargeDeclinedInsufficientFunds' },
    };
    await postPayment(body, uid('idem'));
    const id = `${String(body.checkout_id)}_po0`;
    await waitFor(
      async () => ((await orderStatus(id)) === 'FAILED' ? true : undefined),
      30_000,
      `${id} FAILED`,
    );
    const order = await t.db.pool.query<{ decline_code: string; attempts: number }>(
      'SELECT decline_code, attempts FROM payins.payment_order WHERE payment_order_id = $1',
      [id],
    );
    expect(order.rows[0]).toEqual({ decline_code: 'insufficient_funds', attempts: 1 });
  });

  it('hosted page: the buyer pays on the PSP page, the signed webhook settles every order with its ledger entry', async () => {
    const body = {
      ...savedMethodBody(['e_one', 'e_two'], { amount: '10.00' }),
      credit_card_info: { flow: 'hosted_page', return_url: 'https://shop.example/back' },
    };
    const answer = await postPayment(body, uid('idem'));
    expect(answer.status).toBe(201);
    const redirect = (answer.json.next_action as { redirect_url: string }).redirect_url;
    expect(redirect).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/c\/pay\/cs_/);
    const paid = await fetch(redirect, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        name: 'Buyer',
        card_number: '4242424242424242',
        expiry: '12/40',
        cvc: '123',
      }).toString(),
      redirect: 'manual',
    });
    expect(paid.status).toBe(303);
    for (const id of [`${String(body.checkout_id)}_po0`, `${String(body.checkout_id)}_po1`]) {
      await waitFor(
        async () => ((await orderStatus(id)) === 'SUCCESS' ? true : undefined),
        30_000,
        `${id} SUCCESS`,
      );
    }
    const checkout = (await (
      await fetch(`${baseUrl}/v1/checkouts/${String(body.checkout_id)}`, { headers: bearer(t.key) })
    ).json()) as Record<string, unknown>;
    expect(checkout).toMatchObject({ status: 'succeeded', is_payment_done: true });
  });

  it('webhooks with a missing, wrong or stale signature get 400 and are never stored', async () => {
    const payload = JSON.stringify({
      id: uid('evt'),
      type: 'checkout.session.completed',
      created: 1,
      data: { object: { id: 'cs_nope' } },
    });
    const stale = psp.stripe.webhooks.generateTestHeaderString({
      payload,
      secret: webhookSecret,
      timestamp: Math.floor(Date.now() / 1000) - 3600,
    });
    const wrong = psp.stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_wrong' });
    for (const signature of [undefined, wrong, stale]) {
      const response = await fetch(`${baseUrl}/v1/webhooks/psp/stripe`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(signature === undefined ? {} : { 'stripe-signature': signature }),
        },
        body: payload,
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
        'webhook_signature_invalid',
      );
    }
    const stored = await t.db.pool.query(`SELECT 1 FROM payins.psp_events WHERE payload->>'id' = $1`, [
      JSON.parse(payload).id,
    ]);
    expect(stored.rowCount).toBe(0);
    const good = psp.stripe.webhooks.generateTestHeaderString({ payload, secret: webhookSecret });
    const send = () =>
      fetch(`${baseUrl}/v1/webhooks/psp/stripe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': good },
        body: payload,
      });
    expect(await (await send()).json()).toEqual({ received: true, duplicate: false });
    expect(await (await send()).json()).toEqual({ received: true, duplicate: true });
  });

  it('exposes the pay-in metrics in Prometheus format', async () => {
    const text = await (await fetch(`${baseUrl}/metrics`, { headers: bearer(t.key) })).text();
    for (const name of [
      'bursar_payment_orders{status="SUCCESS"}',
      'bursar_psp_call_duration_seconds_bucket',
      'bursar_idempotent_replays_total',
      'bursar_idempotency_in_flight_conflicts_total',
      'bursar_risk_decisions_total',
      'bursar_job_retries_total',
      'bursar_dead_letters_total',
    ]) {
      expect(text).toContain(name);
    }
  });
});
