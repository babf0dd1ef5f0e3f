import { createHash } from 'node:crypto';
import type { Queryable } from '../db/pool.ts';

/** JSON with object keys sorted at every depth, so two bodies that mean the same have the same fingerprint. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
}

/** sha256 of method, path and canonical body: what "the same request" means for an Idempotency-Key. */
export function requestFingerprint(method: string, path: string, body: unknown): Buffer {
  return createHash('sha256')
    .update(`${method.toUpperCase()}\n${path}\n${canonicalJson(body)}`)
    .digest();
}

export interface IdempotencyRecord {
  apiKeyId: string;
  key: string;
  fingerprint: Buffer;
  state: 'in_progress' | 'completed';
  checkoutId: string | null;
  responseStatus: number | null;
  responseBody: unknown;
  /** Milliseconds until the in-progress lease runs out (negative when it has), by the database's clock. */
  leaseRemainingMs: number | null;
}

interface Row {
  api_key_id: string;
  idempotency_key: string;
  fingerprint: Buffer;
  state: 'in_progress' | 'completed';
  checkout_id: string | null;
  response_status: number | null;
  response_body: unknown;
  lease_remaining_ms: number | null;
}

function toRecord(row: Row): IdempotencyRecord {
  return {
    apiKeyId: row.api_key_id,
    key: row.idempotency_key,
    fingerprint: row.fingerprint,
    state: row.state,
    checkoutId: row.checkout_id,
    responseStatus: row.response_status,
    responseBody: row.response_body,
    leaseRemainingMs: row.lease_remaining_ms,
  };
}

const SELECT = `SELECT api_key_id, idempotency_key, fingerprint, state, checkout_id, response_status, response_body,
  (extract(epoch FROM (locked_until - now())) * 1000)::float8 AS lease_remaining_ms
  FROM payins.idempotency_keys`;

export async function findIdempotencyRecord(
  db: Queryable,
  apiKeyId: string,
  key: string,
): Promise<IdempotencyRecord | undefined> {
  const result = await db.query<Row>(
    `${SELECT} WHERE api_key_id = $1 AND idempotency_key = $2 AND expires_at > now()`,
    [apiKeyId, key],
  );
  const row = result.rows[0];
  return row ? toRecord(row) : undefined;
}

/**
 * Claims the key for this request, in the transaction that does the work. A concurrent request with the same key
 * blocks here on the primary key until the first commits or rolls back; then it inserts nothing and learns
 * (false) that it must answer from the stored row. An expired row left behind before the purge is replaced.
 */
export async function claimIdempotencyKey(
  db: Queryable,
  claim: {
    apiKeyId: string;
    key: string;
    fingerprint: Buffer;
    checkoutId: string;
    ttlMs: number;
    leaseMs: number;
  },
): Promise<boolean> {
  const result = await db.query(
    `INSERT INTO payins.idempotency_keys (api_key_id, idempotency_key, fingerprint, state, checkout_id, locked_until, expires_at)
     VALUES ($1, $2, $3, 'in_progress', $4, now() + $5 * interval '1 millisecond', now() + $6 * interval '1 millisecond')
     ON CONFLICT (api_key_id, idempotency_key) DO UPDATE
       SET fingerprint = EXCLUDED.fingerprint, state = 'in_progress', checkout_id = EXCLUDED.checkout_id,
           response_status = NULL, response_body = NULL, locked_until = EXCLUDED.locked_until,
           created_at = now(), expires_at = EXCLUDED.expires_at
       WHERE payins.idempotency_keys.expires_at <= now()`,
    [claim.apiKeyId, claim.key, claim.fingerprint, claim.checkoutId, claim.leaseMs, claim.ttlMs],
  );
  return result.rowCount === 1;
}

/** Stores the response to replay; the row stops being in progress. */
export async function completeIdempotencyKey(
  db: Queryable,
  apiKeyId: string,
  key: string,
  response: { status: number; body: unknown },
): Promise<void> {
  await db.query(
    `UPDATE payins.idempotency_keys SET state = 'completed', response_status = $3, response_body = $4, locked_until = NULL
     WHERE api_key_id = $1 AND idempotency_key = $2`,
    [apiKeyId, key, response.status, JSON.stringify(response.body)],
  );
}

/** Takes over an in-progress key whose lease ran out (its request died mid-way); false when someone else holds it. */
export async function takeOverIdempotencyKey(
  db: Queryable,
  apiKeyId: string,
  key: string,
  leaseMs: number,
): Promise<boolean> {
  const result = await db.query(
    `UPDATE payins.idempotency_keys SET locked_until = now() + $3 * interval '1 millisecond'
     WHERE api_key_id = $1 AND idempotency_key = $2 AND state = 'in_progress' AND locked_until <= now()`,
    [apiKeyId, key, leaseMs],
  );
  return result.rowCount === 1;
}

/** Lets a retry of the same request take the work over at once (the PSP was unreachable; nothing is held). */
export async function releaseIdempotencyKey(db: Queryable, apiKeyId: string, key: string): Promise<void> {
  await db.query(
    `UPDATE payins.idempotency_keys SET locked_until = now() WHERE api_key_id = $1 AND idempotency_key = $2 AND state = 'in_progress'`,
    [apiKeyId, key],
  );
}

/** Deletes keys past their expiry; returns how many. */
export async function purgeExpiredIdempotencyKeys(db: Queryable): Promise<number> {
  const result = await db.query('DELETE FROM payins.idempotency_keys WHERE expires_at <= now()');
  return result.rowCount ?? 0;
}
