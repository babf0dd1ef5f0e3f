import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_EXTENSION } from '../../src/http/route-auth.ts';
import { bearer, createTestApp, type TestApp } from '../support/app.ts';

/**
 * A bounded fuzz of every route in `/openapi.json` (issue 11, item 3): generated malformed paths, query strings,
 * bodies, byte sequences and content types, sent with a key that has every scope. No answer is a 5xx, every error
 * has the error shape, and nothing is stored. A fixed seed keeps it reproducible; it takes seconds.
 */

const SEED = 20_261_201;
const RUNS_PER_ROUTE = 30;
/** The schemas whose tables must not change; `core` (API keys) and the job queue are the harness's own. */
const PRODUCT_SCHEMAS = ['payins', 'payouts', 'sellers', 'recon', 'ledger'];

interface Operation {
  method: string;
  path: string;
  hasBody: boolean;
}

let t: TestApp;
let operations: Operation[];

async function productRowCounts(): Promise<Record<string, number>> {
  const tables = await t.db.pool.query<{ schema: string; name: string }>(
    `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
      WHERE table_schema = ANY($1) AND table_type = 'BASE TABLE' ORDER BY 1, 2`,
    [PRODUCT_SCHEMAS],
  );
  const counts: Record<string, number> = {};
  for (const { schema, name } of tables.rows) {
    const res = await t.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}"."${name}"`);
    counts[`${schema}.${name}`] = Number(res.rows[0]?.n ?? 0);
  }
  return counts;
}

/** Path and query values that once broke something: bad encodings, NUL, surrogates' bytes, long and huge values. */
const KNOWN_NASTY = [
  '%00',
  '%ff',
  '%E0%A4%A',
  '%ED%A0%80',
  '%C0%AF',
  'x'.repeat(101),
  '9223372036854775808',
  '99999999999999999999999',
  '-1',
  '..%2F..%2Fetc',
  '%25',
];
const QUERY_KEYS = ['limit', 'cursor', 'starting_after', 'status', 'since', 'x'];

const nastySegment = fc.oneof(
  fc.constantFrom(...KNOWN_NASTY),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }).map((s) => encodeURIComponent(s)),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => encodeURIComponent(s)),
);

const nastyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('\u0000', '\ud800', '\udfff', 'a\u0000b', '١٢٣', '９', '1e400', '-0', ''),
);

const nastyJson = fc.oneof(
  fc.json({ maxDepth: 4 }),
  nastyText.map((s) => JSON.stringify({ name: s, seller_account: s, note: s, amount: s, currency: s })),
  nastyText.map((s) => JSON.stringify(s)),
  fc.integer({ min: 33, max: 3000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  fc.constantFrom('{', '[1,', '{"a":1,}', 'null', 'true', '{"__proto__":{"x":1}}', '\uFEFF{}'),
);

const nastyBytes = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => Buffer.from(bytes));

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
);

function requestFor(op: Operation) {
  return fc.record({
    segment: nastySegment,
    query: fc.option(
      fc.record({
        key: fc.constantFrom('limit', 'cursor', 'starting_after', 'status', 'since', 'x'),
        value: nastySegment,
      }),
      { nil: undefined },
    ),
    body: op.hasBody ? fc.oneof(nastyJson, nastyBytes) : fc.constant(undefined),
    contentType,
    idempotencyKey: fc.oneof(
      fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 20 }),
      fc.constant('fuzz-key'),
    ),
  });
}

beforeAll(async () => {
  t = await createTestApp();
  const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, { [AUTH_EXTENSION]?: unknown; requestBody?: unknown }>>;
  };
  operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      hasBody: op.requestBody !== undefined || method === 'post',
    })),
  );
});

afterAll(async () => {
  await t.close();
});

// Thousands of requests each: seconds on an idle machine, but well over the default minute on a loaded one.
describe('fuzzing every route in /openapi.json', { timeout: 240_000 }, () => {
  it('never answers 5xx, always answers errors in the error shape, and stores nothing', async () => {
    expect(operations.length).toBeGreaterThanOrEqual(20);
    const before = await productRowCounts();
    for (const op of operations) {
      await fc.assert(
        fc.asyncProperty(requestFor(op), async (generated) => {
          const path = op.path.replace(/\{[^}]+\}/g, generated.segment);
          const query =
            generated.query === undefined ? '' : `?${generated.query.key}=${generated.query.value}`;
          const request: InjectOptions = {
            method: op.method as InjectOptions['method'],
            url: `${path}${query}`,
            headers: {
              ...bearer(t.key),
              'idempotency-key': generated.idempotencyKey,
              ...(generated.body === undefined ? {} : { 'content-type': generated.contentType }),
            },
            ...(generated.body === undefined ? {} : { payload: generated.body }),
          };
          const res = await t.app.inject(request);
          const where = `${op.method} ${request.url as string} → ${res.statusCode} ${res.body.slice(0, 200)}`;
          expect(res.statusCode, where).toBeLessThan(500);
          if (res.statusCode >= 400) {
            const body = res.json() as { error?: { code?: unknown; request_id?: unknown } };
            expect(typeof body.error?.code, where).toBe('string');
            expect(body.error?.request_id, where).toBe(res.headers['request-id']);
          }
        }),
        { seed: SEED, numRuns: RUNS_PER_ROUTE, endOnFailure: true },
      );
    }
    expect(await productRowCounts()).toEqual(before);
  });

  it('answers every known-nasty path segment and query value on every route without a 5xx', async () => {
    const before = await productRowCounts();
    for (const op of operations) {
      const urls = KNOWN_NASTY.flatMap((value) => [
        ...(op.path.includes('{') ? [op.path.replace(/\{[^}]+\}/g, value)] : []),
        ...QUERY_KEYS.map((key) => `${op.path.replace(/\{[^}]+\}/g, 'x1')}?${key}=${value}`),
      ]);
      for (const url of urls) {
        const res = await t.app.inject({
          method: op.method as InjectOptions['method'],
          url,
          headers: { ...bearer(t.key), 'idempotency-key': 'fuzz-known' },
        });
        expect(res.statusCode, `${op.method} ${url} → ${res.body.slice(0, 200)}`).toBeLessThan(500);
      }
    }
    expect(await productRowCounts()).toEqual(before);
  });
});
