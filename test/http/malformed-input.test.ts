import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from '../support/app.ts';

/**
 * Regression tests for issue 11, item 3: input that used to answer 500 (or Fastify's own error shape) answers 4xx
 * in Bursar's error shape, with the request id.
 */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

function expectError(res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode, res.body).toBe(status);
  const body = res.json() as { error: { code: string; message: string; request_id: string } };
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.request_id).toBe(res.headers['request-id']);
  expect(body.error.request_id.length).toBeGreaterThan(0);
}

function postSeller(
  payload: string | Buffer,
  contentType = 'application/json',
): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: 'POST',
    url: '/v1/sellers',
    headers: { ...bearer(t.key), 'content-type': contentType },
    payload,
  });
}

describe("Fastify's own errors in Bursar's shape", () => {
  it('answers a bad URL encoding with 400 validation_failed and a request id', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/sellers/%E0%A4%A', headers: bearer(t.key) });
    expectError(res, 400, 'validation_failed');
  });

  it('answers an over-long path parameter with 400 validation_failed', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/v1/sellers/${'a'.repeat(500)}`,
      headers: bearer(t.key),
    });
    expectError(res, 400, 'validation_failed');
  });

  it('answers a body over the limit with 413 payload_too_large', async () => {
    const res = await postSeller(JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }));
    expectError(res, 413, 'payload_too_large');
  });

  it('answers a body that is not JSON with 415 unsupported_media_type', async () => {
    expectError(
      await postSeller('name=x', 'application/x-www-form-urlencoded'),
      415,
      'unsupported_media_type',
    );
  });

  it('answers an unknown route with 404 not_found and a request id', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: '/v1/nowhere/at/all' });
    expectError(res, 404, 'not_found');
  });

  it('answers a Content-Length that does not match the body in the error shape, not 500', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/sellers',
      headers: { ...bearer(t.key), 'content-type': 'application/json', 'content-length': '5' },
      payload: '{"seller_account":"s1"}',
    });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(res.json().error.request_id).toBe(res.headers['request-id']);
  });
});

describe('input PostgreSQL cannot store answers 400, never 500', () => {
  it('refuses a NUL character in a body string, naming the field', async () => {
    const res = await postSeller('{"seller_account":"s_nul","name":"a\\u0000b","currency":"USD"}');
    expectError(res, 400, 'validation_failed');
    expect(res.json().error.field).toBe('name');
  });

  it('refuses a NUL character in an object key', async () => {
    const res = await postSeller(
      '{"seller_account":"s_nul2","name":"n","currency":"USD","metadata":{"a\\u0000":"b"}}',
    );
    expectError(res, 400, 'validation_failed');
  });

  it('refuses a lone UTF-16 surrogate in a body string', async () => {
    for (const lone of ['\\ud800', '\\udc00', 'x\\ud83dy']) {
      const res = await postSeller(`{"seller_account":"s_sur","name":"${lone}","currency":"USD"}`);
      expectError(res, 400, 'validation_failed');
    }
    // A well-formed pair (an emoji) is fine.
    const ok = await postSeller('{"seller_account":"s_emoji","name":"shop \\ud83d\\ude00","currency":"USD"}');
    expect(ok.statusCode).toBe(201);
  });

  it('refuses a NUL character in a query string', async () => {
    for (const value of ['%00', 'a%00b']) {
      const res = await t.app.inject({
        method: 'GET',
        url: `/v1/payout-files?starting_after=${value}`,
        headers: bearer(t.key),
      });
      expectError(res, 400, 'validation_failed');
    }
    // Percent-encoded bytes that are no UTF-8 (a surrogate's encoding) stay undecoded: harmless, never a 500.
    const undecodable = await t.app.inject({
      method: 'GET',
      url: '/v1/payout-files?starting_after=%ED%A0%80',
      headers: bearer(t.key),
    });
    expect(undecodable.statusCode).toBeLessThan(500);
  });

  it('refuses JSON nested thousands deep with 400, quickly', async () => {
    for (const depth of [40, 5_000, 100_000]) {
      const res = await postSeller(`${'['.repeat(depth)}${']'.repeat(depth)}`);
      expectError(res, 400, 'validation_failed');
      const objects = await postSeller(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
      expectError(objects, 400, 'validation_failed');
    }
  });

  it('refuses a cursor at or above 2^63 with 400, and accepts the largest bigint', async () => {
    for (const cursor of ['9223372036854775808', '9999999999999999999', '18446744073709551616']) {
      const res = await t.app.inject({
        method: 'GET',
        url: `/v1/reconciliation/exceptions?cursor=${cursor}`,
        headers: bearer(t.key),
      });
      expectError(res, 400, 'validation_failed');
    }
    const max = await t.app.inject({
      method: 'GET',
      url: '/v1/reconciliation/exceptions?cursor=9223372036854775807',
      headers: bearer(t.key),
    });
    expect(max.statusCode).toBe(200);
  });

  it('refuses a huge page limit with 400', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/v1/payout-files?limit=99999999999999999999999',
      headers: bearer(t.key),
    });
    expectError(res, 400, 'validation_failed');
  });
});

describe('bodies are UTF-8', () => {
  it('refuses bytes that are not UTF-8 with 400 instead of replacing them', async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"seller_account":"s_bytes","name":"'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('","currency":"USD"}'),
    ]);
    expectError(await postSeller(bytes), 400, 'invalid_json');
    const count = await t.db.pool.query("SELECT 1 FROM sellers.sellers WHERE seller_account = 's_bytes'");
    expect(count.rowCount).toBe(0);
  });

  it('refuses a declared charset other than UTF-8 with 415, and accepts charset=utf-8', async () => {
    const body = '{"seller_account":"s_latin","name":"Caf\u00e9","currency":"EUR"}';
    for (const charset of ['latin1', 'ISO-8859-1', 'utf-16', '"windows-1252"']) {
      expectError(
        await postSeller(body, `application/json; charset=${charset}`),
        415,
        'unsupported_media_type',
      );
    }
    const ok = await postSeller(body, 'application/json; charset=UTF-8');
    expect(ok.statusCode).toBe(201);
    expect(ok.json().name).toBe('Café');
  });
});
