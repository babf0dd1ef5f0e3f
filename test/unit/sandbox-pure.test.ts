import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { luhnValid, readCard, readExpiry, TEST_CARDS, TEST_PAYMENT_METHODS } from '../../sandbox/cards.ts';
import { FaultInjector, matchesPattern, parseFaults } from '../../sandbox/faults.ts';
import { processingFeeMinor } from '../../sandbox/fees.ts';
import { encodeForm, parseForm, FormError } from '../../sandbox/form.ts';
import { sandboxSettlement } from '../../sandbox/fx.ts';
import { signPayload } from '../../sandbox/signature.ts';
import { parseSearchQuery } from '../../sandbox/api-payments.ts';
import { resolveWebhookSecret } from '../../sandbox/config.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

describe('form encoding with bracket notation', () => {
  it('parses nested objects, indexed and appended arrays', () => {
    const parsed = parseForm(
      'amount=100&metadata[order]=a%20b&line_items[0][price_data][currency]=usd&line_items[0][quantity]=2&line_items[1][quantity]=1&expand[]=x&expand[]=y&q=a+b',
    );
    expect(parsed).toEqual({
      amount: '100',
      metadata: { order: 'a b' },
      line_items: [{ price_data: { currency: 'usd' }, quantity: '2' }, { quantity: '1' }],
      expand: ['x', 'y'],
      q: 'a b',
    });
  });

  it('round-trips what encodeForm (and so the SDK’s encoding) produces', () => {
    const value = { a: '1', b: { c: ['x', 'y'], d: { e: 'ü&=' } } };
    expect(parseForm(encodeForm(value))).toEqual(value);
  });

  it('ignores prototype-polluting keys and rejects malformed brackets', () => {
    const parsed = parseForm('__proto__[x]=1&a[constructor][y]=2&ok=1');
    expect(parsed).toEqual({ ok: '1' });
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(() => parseForm('a[b=1')).toThrow(FormError);
    expect(() => parseForm('a=1&a[b]=2')).toThrow(FormError);
  });
});

describe('test cards and fees', () => {
  it('every test card passes Luhn and every pm_card_ id names a known card', () => {
    for (const number of Object.keys(TEST_CARDS)) expect(luhnValid(number)).toBe(true);
    for (const number of Object.values(TEST_PAYMENT_METHODS)) expect(TEST_CARDS[number]).toBeDefined();
    expect(readCard('4242 4242 4242 4241')).toBeUndefined();
    expect(readCard('4242-4242-4242-4242')?.behaviour).toEqual({ kind: 'succeed', bypassPending: false });
    expect(readExpiry('12 / 34')).toEqual({ month: 12, year: 2034 });
    expect(readExpiry('13/34')).toBeUndefined();
  });

  it('charges 2.9 % rounded half up plus 30 minor units, in integers', () => {
    expect(processingFeeMinor(2000n)).toBe(88n);
    expect(processingFeeMinor(12_345n)).toBe(388n);
    expect(processingFeeMinor(1n)).toBe(30n);
    expect(processingFeeMinor(0n)).toBe(0n);
  });
});

describe('faults', () => {
  it('the same seed gives the same decisions; another seed differs', () => {
    const faults = parseFaults({
      rules: [{ match: 'POST /v1/*', errorRate: 0.3, lostResponseRate: 0.3, errorStatuses: [500, 429] }],
      webhooks: { dropRate: 0.2, duplicateRate: 0.2, reorder: true },
    });
    const run = (seed: number) => {
      const injector = new FaultInjector(seed, faults);
      return [
        ...Array.from({ length: 50 }, () => injector.decide('POST', '/v1/payment_intents')),
        ...Array.from({ length: 20 }, () => injector.decideWebhook()),
      ];
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('matches rules by method and path with wildcards, and validates configuration', () => {
    expect(matchesPattern('POST /v1/payment_intents*', 'POST /v1/payment_intents/pi_1/confirm')).toBe(true);
    expect(matchesPattern('POST /v1/payment_intents', 'GET /v1/payment_intents')).toBe(false);
    const injector = new FaultInjector(1, parseFaults({ rules: [{ match: '/v1/refunds', errorRate: 1 }] }));
    expect(injector.decide('GET', '/v1/refunds').kind).toBe('error');
    expect(injector.decide('GET', '/v1/charges').kind).toBe('none');
    expect(() => parseFaults({ rules: [{ errorRate: 2 }] })).toThrow(/errorRate/);
    expect(() => parseFaults({ rules: [{ errorStatuses: [418] }] })).toThrow(/errorStatuses/);
  });
});

describe('webhook signatures and search', () => {
  it('signs exactly as the stripe SDK’s test helper does', () => {
    const payload = '{"id":"evt_1"}';
    const expected = Stripe.webhooks.generateTestHeaderString({
      payload,
      secret: 'whsec_x',
      timestamp: 1_700_000_000,
    });
    expect(signPayload(payload, 'whsec_x', 1_700_000_000)).toBe(expected);
  });

  it('reads metadata equality queries of Stripe’s search language', () => {
    expect(parseSearchQuery("metadata['payment_order_id']:'po-1' AND status:'succeeded'")).toEqual({
      metadata: { payment_order_id: 'po-1' },
      equals: { status: 'succeeded' },
    });
    expect(() => parseSearchQuery('amount>100')).toThrow();
  });

  it('generates the webhook secret once and keeps it in the data dir (0600)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-secret-'));
    try {
      const first = resolveWebhookSecret({}, dir);
      expect(first).toMatch(/^whsec_/);
      expect(resolveWebhookSecret({}, dir)).toBe(first);
      expect(fs.statSync(path.join(dir, 'stripe-webhook-secret')).mode & 0o777).toBe(0o600);
      expect(resolveWebhookSecret({ STRIPE_WEBHOOK_SECRET: 'whsec_given' }, dir)).toBe('whsec_given');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('configuration', () => {
  it('the adapter defaults to the sandbox and refuses real Stripe without a key', async () => {
    const { loadStripeConfig } = await import('../../src/psp/stripe/index.ts');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-cfg-'));
    try {
      const local = loadStripeConfig({ STRIPE_WEBHOOK_SECRET: 'whsec_a' }, dir, 'http://127.0.0.1:8081');
      expect(local).toMatchObject({
        webhookSecret: 'whsec_a',
        host: '127.0.0.1',
        port: 8081,
        protocol: 'http',
      });
      const real = loadStripeConfig(
        { STRIPE_API_HOST: 'api.stripe.com', STRIPE_SECRET_KEY: 'sk_live_x' },
        dir,
        'http://127.0.0.1:8081',
      );
      expect(real).toMatchObject({ host: 'api.stripe.com', port: 443, protocol: 'https' });
      expect(() =>
        loadStripeConfig({ STRIPE_API_HOST: 'api.stripe.com' }, dir, 'http://127.0.0.1:8081'),
      ).toThrow(/STRIPE_SECRET_KEY/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the sandbox reads its environment and refuses bad faults', async () => {
    const { loadSandboxConfig } = await import('../../sandbox/index.ts');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-cfg-'));
    try {
      const config = loadSandboxConfig(
        {
          SANDBOX_PORT: '9999',
          SANDBOX_SEED: '42',
          SANDBOX_FAULTS: '{"rules":[{"match":"*","latencyMs":5}]}',
        },
        dir,
      );
      expect(config).toMatchObject({
        port: 9999,
        seed: 42,
        faults: { rules: [{ match: '*', latencyMs: 5 }] },
      });
      expect(config.webhookSecret).toMatch(/^whsec_/);
      // The sandbox accepts only the key generated for this installation, the one Bursar on this data dir uses.
      expect(config.secretKey).toMatch(/^sk_test_[0-9a-f]{48}$/);
      const { loadStripeConfig } = await import('../../src/psp/stripe/index.ts');
      expect(loadStripeConfig({}, dir, 'http://127.0.0.1:9999').secretKey).toBe(config.secretKey);
      expect(() => loadSandboxConfig({ SANDBOX_FAULTS: '{"rules":[{"errorRate":3}]}' }, dir)).toThrow(
        /SANDBOX_FAULTS/,
      );
      expect(() => loadSandboxConfig({ SANDBOX_SECRET_KEY: 'pk_test_x' }, dir)).toThrow(/sk_test_/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the sandbox’s settlement rates', () => {
  it('settles a charge at the reference rate less its spread, and buys money going back at the reference rate plus it', () => {
    expect(sandboxSettlement(10_000n, 'EUR', 'USD', 50)).toEqual({
      amountMinor: 10_812n,
      exchangeRate: '1.081167',
    });
    expect(sandboxSettlement(1_000n, 'EUR', 'USD', 50, 'out')).toEqual({
      amountMinor: 1_092n,
      exchangeRate: '1.092033',
    });
    expect(sandboxSettlement(1_000n, 'EUR', 'XXX', 50, 'out')).toBeUndefined();
  });
});
