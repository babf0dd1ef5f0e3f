import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { createSandboxServer, DEFAULT_SANDBOX_CONFIG } from '../../sandbox/index.ts';
import { startTestSandbox, startWebhookReceiver, type TestSandbox } from '../support/sandbox.ts';

let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
let sandbox: TestSandbox;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  sandbox = await startTestSandbox({
    webhookTargets: [{ url: receiver.url, secret: 'whsec_faults' }],
    config: { reviewDelayMs: 300, tickMs: 50 },
  });
});

afterAll(async () => {
  await sandbox.stop();
  await receiver.close();
});

interface Delivery {
  event_id: string;
  status: string;
}

describe('sandbox faults, scheduling, report and persistence', () => {
  it('drops and duplicates webhooks when told to, through the admin endpoint', async () => {
    await sandbox.admin('PUT', '/v1/sandbox/faults', { webhooks: { dropRate: 1 } });
    const dropped = await sandbox.stripe.paymentIntents.create({
      amount: 100,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const events = await sandbox.stripe.events.list({ type: 'payment_intent.succeeded', limit: 5 });
    const droppedEvent = events.data.find((event) => (event.data.object as { id: string }).id === dropped.id);
    const deliveries = (await sandbox.admin(
      'GET',
      `/v1/sandbox/webhook_deliveries?event_id=${droppedEvent?.id ?? ''}`,
    )) as { data: Delivery[] };
    expect(deliveries.data.map((row) => row.status)).toEqual(['dropped']);

    await sandbox.admin('PUT', '/v1/sandbox/faults', { webhooks: { duplicateRate: 1 } });
    const doubled = await sandbox.stripe.paymentIntents.create({
      amount: 101,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    await receiver.waitFor(
      (hook) => hook.event.type === 'payment_intent.succeeded' && hook.event.data.object.id === doubled.id,
    );
    await expect
      .poll(
        () =>
          receiver.received.filter(
            (hook) =>
              hook.event.type === 'payment_intent.succeeded' && hook.event.data.object.id === doubled.id,
          ).length,
      )
      .toBe(2);
    const copies = receiver.received.filter(
      (hook) => hook.event.type === 'payment_intent.succeeded' && hook.event.data.object.id === doubled.id,
    );
    expect(copies[0]?.event.id).toBe(copies[1]?.event.id);
    expect(
      receiver.received.some(
        (hook) => hook.event.data.object.id === dropped.id && hook.event.type === 'payment_intent.succeeded',
      ),
    ).toBe(false);
    await sandbox.admin('DELETE', '/v1/sandbox/faults');
    expect(await sandbox.admin('GET', '/v1/sandbox/faults')).toEqual({ rules: [], webhooks: {} });
  });

  it('answers injected errors in Stripe’s shape, deterministically for a seed', async () => {
    const outcomes = async () => {
      sandbox.setFaults({
        rules: [{ match: 'GET /v1/balance', errorRate: 0.5, errorStatuses: [500, 502, 503, 429] }],
      });
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        const response = await fetch(`${sandbox.url}/v1/balance`, {
          headers: { authorization: `Bearer ${sandbox.secretKey}` },
        });
        statuses.push(response.status);
        const body = (await response.json()) as { error?: { type: string } };
        if (response.status !== 200)
          expect(['api_error', 'invalid_request_error']).toContain(body.error?.type);
      }
      return statuses;
    };
    const first = await outcomes();
    const second = await outcomes();
    sandbox.resetFaults();
    expect(second).toEqual(first);
    expect(first.some((status) => status !== 200)).toBe(true);
    expect(first.some((status) => status === 200)).toBe(true);
  });

  it('a payment in review settles by itself after the configured delay', async () => {
    const intent = await sandbox.stripe.paymentIntents.create({
      amount: 2500,
      currency: 'usd',
      payment_method: 'pm_card_sandbox_review',
      confirm: true,
    });
    expect(intent.status).toBe('processing');
    await receiver.waitFor(
      (hook) => hook.event.type === 'payment_intent.succeeded' && hook.event.data.object.id === intent.id,
    );
    expect((await sandbox.stripe.paymentIntents.retrieve(intent.id)).status).toBe('succeeded');
  });

  it('the settlement report lists balance changes with Stripe’s columns and amounts in major units', async () => {
    const start = Math.floor(Date.now() / 1000) - 1;
    const intent = await sandbox.stripe.paymentIntents.create({
      amount: 12_345,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      metadata: { payment_order_id: 'po-report' },
    });
    await sandbox.stripe.refunds.create({ payment_intent: intent.id, amount: 345 });
    const csv = (await sandbox.admin(
      'GET',
      `/v1/sandbox/reports/balance_change_from_activity.itemized.3.csv?interval_start=${start}&interval_end=${start + 3600}`,
    )) as string;
    const [header, ...lines] = csv.trim().split('\n');
    const columns = (header ?? '').split(',');
    expect(columns.slice(0, 10)).toEqual([
      'balance_transaction_id',
      'created_utc',
      'created',
      'available_on_utc',
      'available_on',
      'currency',
      'gross',
      'fee',
      'net',
      'reporting_category',
    ]);
    expect(columns).toContain('payment_metadata[payment_order_id]');
    const rows = lines.map((line) =>
      Object.fromEntries(line.split(',').map((value, index) => [columns[index], value])),
    );
    const charge = rows.find(
      (row) => row.payment_intent_id === intent.id && row.reporting_category === 'charge',
    );
    expect(charge).toMatchObject({
      currency: 'usd',
      gross: '123.45',
      fee: '3.88',
      net: '119.57',
      'payment_metadata[payment_order_id]': 'po-report',
    });
    expect(charge?.created_utc).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    const refund = rows.find(
      (row) => row.payment_intent_id === intent.id && row.reporting_category === 'refund',
    );
    expect(refund).toMatchObject({ gross: '-3.45', fee: '0.00', net: '-3.45' });
  });

  it('keeps its state across a restart (same database)', async () => {
    const intent = await sandbox.stripe.paymentIntents.create(
      { amount: 777, currency: 'usd', payment_method: 'pm_card_visa', confirm: true },
      { idempotencyKey: 'persist-1' },
    );
    const second = createSandboxServer({
      pool: sandbox.pool,
      log: createLogger('silent'),
      config: { ...DEFAULT_SANDBOX_CONFIG, port: 0, host: '127.0.0.1', secretKey: sandbox.secretKey },
    });
    const url = await second.start(0, '127.0.0.1');
    try {
      const response = await fetch(`${url}/v1/payment_intents/${intent.id}`, {
        headers: { authorization: `Bearer ${sandbox.secretKey}` },
      });
      expect(((await response.json()) as { status: string }).status).toBe('succeeded');
      const replay = await fetch(`${url}/v1/payment_intents`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${sandbox.secretKey}`,
          'idempotency-key': 'persist-1',
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'amount=777&currency=usd&payment_method=pm_card_visa&confirm=true',
      });
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(((await replay.json()) as { id: string }).id).toBe(intent.id);
    } finally {
      await second.stop();
    }
  });
});
