import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

describe('GET /openapi.json', () => {
  it('describes every /v1 route from the schemas that validate it', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as {
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: unknown }>>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of ['/v1/payments', '/v1/sellers', '/v1/payouts', '/v1/reconciliation/exceptions']) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    const body = JSON.stringify(doc.paths['/v1/payments']?.post?.requestBody);
    for (const field of ['checkout_id', 'buyer_info', 'credit_card_info', 'payment_orders'])
      expect(body).toContain(field);
  });
});

interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: Array<{ name: string; in: string; required?: boolean }>;
  responses?: Record<string, unknown>;
  'x-bursar-auth'?: unknown;
}

async function document(): Promise<{ paths: Record<string, Record<string, Operation>> }> {
  const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
  return res.json();
}

function operations(doc: { paths: Record<string, Record<string, Operation>> }): Array<[string, Operation]> {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]): [string, Operation] => [`${method.toUpperCase()} ${path}`, op]),
  );
}

describe('the OpenAPI document of every route', () => {
  it('gives every route a summary, a description, tags, a success and an error response schema', async () => {
    const lacking: string[] = [];
    for (const [name, op] of operations(await document())) {
      const statuses = Object.keys(op.responses ?? {});
      if (!op.summary) lacking.push(`${name}: summary`);
      if (!op.description) lacking.push(`${name}: description`);
      if (!op.tags?.length) lacking.push(`${name}: tags`);
      if (!statuses.some((s) => s.startsWith('2'))) lacking.push(`${name}: success response`);
      if (!statuses.includes('400') && !statuses.includes('500')) lacking.push(`${name}: error responses`);
    }
    expect(lacking).toEqual([]);
  });

  it('declares the Idempotency-Key header, required, on every money-moving POST', async () => {
    const moneyMoving = operations(await document()).filter(
      ([, op]) => (op['x-bursar-auth'] as { money_moving?: boolean } | undefined)?.money_moving === true,
    );
    expect(moneyMoving.map(([name]) => name)).toContain('POST /v1/payments');
    for (const [name, op] of moneyMoving) {
      const header = op.parameters?.find((p) => p.in === 'header' && p.name === 'Idempotency-Key');
      expect(header?.required, name).toBe(true);
    }
  });

  it('types every amount field as a decimal string', async () => {
    const text = JSON.stringify(await document());
    const amounts = [...text.matchAll(/"(amount|amount_[a-z_]+)":\{"type":"([a-z]+)"/g)];
    expect(amounts.length).toBeGreaterThan(0);
    expect(amounts.filter((m) => m[2] !== 'string').map((m) => m[0])).toEqual([]);
  });
});

describe('GET /docs', () => {
  it('serves the rendered reference without authentication, from local files only (no CDN)', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/docs/' });
    const html = page.statusCode === 302 ? '' : page.body;
    const index =
      page.statusCode === 200
        ? html
        : (await t.app.inject({ method: 'GET', url: '/docs/static/index.html' })).body;
    expect(index).toContain('swagger-ui');
    expect(index).not.toMatch(/src="https?:\/\//);
    expect(index).not.toMatch(/href="https?:\/\//);
    const bundle = await t.app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' });
    expect(bundle.statusCode).toBe(200);
  });

  it('gives the creating POSTs a request example that the route itself accepts as well-formed', async () => {
    const doc = (await document()) as unknown as {
      paths: Record<string, { post?: { requestBody?: { content?: Record<string, { example?: unknown }> } } }>;
    };
    for (const path of [
      '/v1/payments',
      '/v1/refunds',
      '/v1/sellers',
      '/v1/webhook_endpoints',
      '/v1/fx/quotes',
    ]) {
      const example = doc.paths[path]?.post?.requestBody?.content?.['application/json']?.example;
      expect(example, path).toBeTypeOf('object');
      const res = await t.app.inject({
        method: 'POST',
        url: path,
        headers: { ...bearer(t.key), 'idempotency-key': `example-${path.replaceAll('/', '-')}` },
        payload: example as Record<string, unknown>,
      });
      // Refused, perhaps, for what the database holds (an unknown order or seller), never for its shape.
      expect(res.json<{ error?: { code: string } }>().error?.code ?? 'accepted', path).not.toBe(
        'validation_failed',
      );
    }
  });

  it('shows an example of amounts, timestamps and the error shape', async () => {
    const text = JSON.stringify(await document());
    expect(text).toContain('"examples":["25.00"]');
    expect(text).toContain('"examples":["2026-12-01T14:03:27.512Z"]');
    expect(text).toContain('"code":"refund_exceeds_remaining"');
  });
});
