import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { loadMigrations, migrate } from '../../src/db/migrate.ts';
import { createPool, type Pool } from '../../src/db/pool.ts';
import {
  answerFromRecord,
  findIdempotencyRecord,
  requestFingerprint,
  takeOverIdempotencyKey,
} from '../../src/idempotency/index.ts';

/** Upgrading a database with live Idempotency-Keys in the old per-module tables (migration 0070). */

const adminUrl = inject('pgAdminUrl');
const name = `t_up_${randomBytes(6).toString('hex')}`;
let pool: Pool;

beforeAll(async () => {
  const admin = createPool(adminUrl, { max: 1 });
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  pool = createPool(url.toString(), { max: 2 });
});
afterAll(async () => {
  await pool.end();
  const admin = createPool(adminUrl, { max: 1 });
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
});

describe('migration 0070: one idempotency table', () => {
  it('moves live pay-in keys (in flight ones with their lease) and payout replies, drops expired ones and the old tables', async () => {
    const all = loadMigrations();
    await migrate(
      pool,
      all.filter((m) => m.version < '0070'),
    );
    const fp = requestFingerprint('POST', '/v1/payments', { a: 1 });
    const payoutFp = requestFingerprint('POST', '/v1/payouts', { b: 2 });
    await pool.query(
      `INSERT INTO payins.idempotency_keys (api_key_id, idempotency_key, fingerprint, state, checkout_id, response_status,
         response_body, locked_until, created_at, expires_at) VALUES
       ('key_a', 'in-flight', $1, 'in_progress', 'co_1', NULL, NULL, now() + interval '30 seconds', now(), now() + interval '1 day'),
       ('key_a', 'done', $1, 'completed', 'co_2', 201, '{"id":"co_2"}', NULL, now(), now() + interval '1 day'),
       ('key_a', 'stale', $1, 'in_progress', 'co_3', NULL, NULL, now() - interval '1 second', now(), now() + interval '1 day'),
       ('key_a', 'expired', $1, 'completed', 'co_4', 201, '{}', NULL, now() - interval '2 days', now() - interval '1 day')`,
      [fp],
    );
    await pool.query(
      `INSERT INTO payouts.idempotency_keys (api_key_id, idempotency_key, fingerprint, response_status, response_body)
       VALUES ('key_a', 'done', $1, 201, '{"id":"po_1"}')`,
      [payoutFp],
    );

    await migrate(pool, all);

    const payments = (key: string) => ({ apiKeyId: 'key_a', scope: 'payments', key });
    const inFlight = await findIdempotencyRecord(pool, payments('in-flight'));
    expect(inFlight).toMatchObject({ status: 'in_progress', subject: 'co_1' });
    const busy = inFlight ? answerFromRecord(inFlight, fp) : undefined;
    expect(busy?.outcome).toBe('in_progress');

    const done = await findIdempotencyRecord(pool, payments('done'));
    expect(done ? answerFromRecord(done, fp) : undefined).toEqual({
      outcome: 'replay',
      status: 201,
      body: { id: 'co_2' },
    });

    const stale = await findIdempotencyRecord(pool, payments('stale'));
    expect(stale ? answerFromRecord(stale, fp) : undefined).toEqual({ outcome: 'take_over' });
    expect(await takeOverIdempotencyKey(pool, payments('stale'), 30_000)).toBe(true);

    expect(await findIdempotencyRecord(pool, payments('expired'))).toBeUndefined();

    const payout = await findIdempotencyRecord(pool, { apiKeyId: 'key_a', scope: 'payouts', key: 'done' });
    expect(payout ? answerFromRecord(payout, payoutFp) : undefined).toEqual({
      outcome: 'replay',
      status: 201,
      body: { id: 'po_1' },
    });

    const old = await pool.query(
      `SELECT to_regclass('payins.idempotency_keys') AS payins, to_regclass('payouts.idempotency_keys') AS payouts`,
    );
    expect(old.rows[0]).toEqual({ payins: null, payouts: null });
  });

  it("refuses rows that break the table's rules: unknown status, a response while in progress, a lease once completed, expiry before creation", async () => {
    const fp = requestFingerprint('POST', '/x', {});
    const insert = (columns: string) =>
      pool.query(
        `INSERT INTO idempotency.keys (api_key_id, scope, idempotency_key, fingerprint, status, response_status,
           response_body, lease_until, created_at, expires_at) VALUES ('key_b', 'payments', $2, $1, ${columns})`,
        [fp, randomBytes(4).toString('hex')],
      );
    const rejected = async (columns: string) => {
      try {
        await insert(columns);
        return 'accepted';
      } catch (error) {
        return (error as { code?: string }).code;
      }
    };
    expect(
      await rejected(
        `'in_progress', NULL, NULL, now() + interval '1 minute', now(), now() + interval '1 day'`,
      ),
    ).toBe('accepted');
    expect(await rejected(`'done', 201, '{}', NULL, now(), now() + interval '1 day'`)).toBe('23514');
    expect(await rejected(`'in_progress', 201, '{}', now(), now(), now() + interval '1 day'`)).toBe('23514');
    expect(await rejected(`'completed', NULL, NULL, NULL, now(), now() + interval '1 day'`)).toBe('23514');
    expect(await rejected(`'completed', 201, '{}', now(), now(), now() + interval '1 day'`)).toBe('23514');
    expect(await rejected(`'in_progress', NULL, NULL, NULL, now(), now() + interval '1 day'`)).toBe('23514');
    expect(await rejected(`'completed', 201, '{}', NULL, now(), now() - interval '1 second'`)).toBe('23514');
  });
});
