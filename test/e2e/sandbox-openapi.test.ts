import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSandbox, startWebhookReceiver, type TestSandbox } from '../support/sandbox.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const specPath = path.resolve(repoRoot, '../shared/reference/stripe/spec3-2022-04.json');
const specMissing = !fs.existsSync(specPath);

type Schema = Record<string, unknown>;

/** OpenAPI 3.0's `nullable: true` is not JSON Schema: make it an explicit alternative of null. */
export function convertNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(convertNullable);
  if (node === null || typeof node !== 'object') return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node as Schema))
    out[key] =
      key === 'properties'
        ? Object.fromEntries(
            Object.entries(value as Schema).map(([name, inner]) => [name, convertNullable(inner)]),
          )
        : convertNullable(value);
  if (out.nullable === true) {
    delete out.nullable;
    return { anyOf: [out, { type: 'null' }] };
  }
  delete out.nullable;
  return out;
}

let sandbox: TestSandbox;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
let validator: (name: string) => ValidateFunction;

async function raw(pathname: string): Promise<Schema> {
  const response = await fetch(`${sandbox.url}${pathname}`, {
    headers: { authorization: `Bearer ${sandbox.secretKey}` },
  });
  return (await response.json()) as Schema;
}

function expectValid(name: string, value: unknown): void {
  const validate = validator(name);
  const ok = validate(value);
  if (!ok)
    throw new Error(
      `${name} does not match the 2022-04 schema: ${JSON.stringify(validate.errors?.slice(0, 5), null, 2)}`,
    );
  expect(ok).toBe(true);
}

describe.skipIf(specMissing)(
  'sandbox responses validate against Stripe’s OpenAPI schemas (spec3 2022-04)',
  () => {
    beforeAll(async () => {
      const spec = JSON.parse(fs.readFileSync(specPath, 'utf8')) as { components: { schemas: Schema } };
      const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
      ajv.addSchema({ $id: 'stripe', components: { schemas: convertNullable(spec.components.schemas) } });
      const cache = new Map<string, ValidateFunction>();
      validator = (name) => {
        let fn = cache.get(name);
        if (fn === undefined) {
          const found = ajv.getSchema(`stripe#/components/schemas/${name}`);
          if (found === undefined) throw new Error(`no schema ${name}`);
          fn = found;
          cache.set(name, fn);
        }
        return fn;
      };
      receiver = await startWebhookReceiver();
      sandbox = await startTestSandbox({ webhookTargets: [{ url: receiver.url, secret: 'whsec_schema' }] });
    });

    afterAll(async () => {
      await sandbox?.stop();
      await receiver?.close();
    });

    it('payment methods, intents, charges, balance transactions, refunds, disputes', async () => {
      const pm = await sandbox.stripe.paymentMethods.create({
        type: 'card',
        card: { number: '4242424242424242', exp_month: 1, exp_year: 2040 },
      });
      expectValid('payment_method', await raw(`/v1/payment_methods/${pm.id}`));
      const intent = await sandbox.stripe.paymentIntents.create({
        amount: 1000,
        currency: 'usd',
        payment_method: pm.id,
        confirm: true,
        metadata: { a: 'b' },
      });
      const rawIntent = await raw(`/v1/payment_intents/${intent.id}`);
      expectValid('payment_intent', rawIntent);
      // The validator has teeth: a wrong type or a missing required field fails.
      expect(validator('payment_intent')({ ...rawIntent, amount: '1000' })).toBe(false);
      expect(validator('payment_intent')({ ...rawIntent, status: undefined })).toBe(false);
      expect(validator('payment_intent')({ ...rawIntent, currency: 42 })).toBe(false);
      expectValid('payment_intent', await raw(`/v1/payment_intents/${intent.id}?expand[]=latest_charge`));
      const charge = await raw(`/v1/charges/${String(rawIntent.latest_charge)}`);
      expectValid('charge', charge);
      expectValid(
        'balance_transaction',
        await raw(`/v1/balance_transactions/${String(charge.balance_transaction)}`),
      );
      const refund = await sandbox.stripe.refunds.create({ payment_intent: intent.id, amount: 100 });
      expectValid('refund', await raw(`/v1/refunds/${refund.id}`));
      expectValid('charge', await raw(`/v1/charges/${String(rawIntent.latest_charge)}`));
      const declined = await fetch(`${sandbox.url}/v1/payment_intents`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${sandbox.secretKey}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'amount=500&currency=usd&payment_method=pm_card_chargeDeclined&confirm=true',
      });
      expect(declined.status).toBe(402);
      expectValid('error', await declined.json());
      const disputed = await sandbox.stripe.paymentIntents.create({
        amount: 2000,
        currency: 'usd',
        payment_method: 'pm_card_createDispute',
        confirm: true,
      });
      const hook = await receiver.waitFor(
        (item) =>
          item.event.type === 'charge.dispute.created' &&
          item.event.data.object.payment_intent === disputed.id,
      );
      expectValid('dispute', hook.event.data.object);
      expectValid('event', JSON.parse(hook.body));
      const intents = await raw('/v1/payment_intents?limit=5');
      for (const item of intents.data as unknown[]) expectValid('payment_intent', item);
    });

    it('checkout sessions, line items, events, balance, payouts, webhook endpoints', async () => {
      const session = await sandbox.stripe.checkout.sessions.create({
        mode: 'payment',
        line_items: [
          { price_data: { currency: 'usd', unit_amount: 700, product_data: { name: 'Pen' } }, quantity: 3 },
        ],
        success_url: 'https://shop.example/ok',
        cancel_url: 'https://shop.example/no',
      });
      expectValid('checkout.session', await raw(`/v1/checkout/sessions/${session.id}`));
      const items = await raw(`/v1/checkout/sessions/${session.id}/line_items`);
      for (const item of items.data as unknown[]) expectValid('item', item);
      await fetch(session.url ?? '', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'card_number=4242424242424242&expiry=12%2F34&cvc=123&name=A',
        redirect: 'manual',
      });
      expectValid('checkout.session', await raw(`/v1/checkout/sessions/${session.id}`));
      const events = await raw('/v1/events?limit=100');
      expect((events.data as unknown[]).length).toBeGreaterThan(5);
      for (const event of events.data as unknown[]) expectValid('event', event);
      await sandbox.stripe.paymentIntents.create({
        amount: 5000,
        currency: 'usd',
        payment_method: 'pm_card_bypassPending',
        confirm: true,
      });
      expectValid('balance', await raw('/v1/balance'));
      await sandbox.admin('POST', '/v1/sandbox/payouts/run');
      const payouts = await raw('/v1/payouts');
      expect((payouts.data as unknown[]).length).toBeGreaterThan(0);
      for (const payout of payouts.data as unknown[]) expectValid('payout', payout);
      const txns = await raw('/v1/balance_transactions?limit=100');
      for (const txn of txns.data as unknown[]) expectValid('balance_transaction', txn);
      const endpoint = await sandbox.stripe.webhookEndpoints.create({
        url: 'https://example.test/h',
        enabled_events: ['*'],
      });
      expectValid('webhook_endpoint', await raw(`/v1/webhook_endpoints/${endpoint.id}`));
    });
  },
);
