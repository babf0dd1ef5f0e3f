import { preparedQuery, type Queryable } from '../db/pool.ts';

/**
 * The SQL of `idempotency.keys` (migrations/0070_idempotency.sql): one row per API key, scope and
 * Idempotency-Key, written in the transaction that does the work, so the primary key settles races.
 */

/** Which key: an API key's Idempotency-Key on one route family (`payments`, `payouts`, …). */
export interface IdempotencyKeyRef {
  apiKeyId: string;
  scope: string;
  key: string;
}

export interface IdempotencyRecord {
  apiKeyId: string;
  scope: string;
  key: string;
  fingerprint: Buffer;
  status: 'in_progress' | 'completed';
  /** What the first request creates (a checkout id…), when it said. */
  subject: string | null;
  responseStatus: number | null;
  responseBody: unknown;
  /** Milliseconds until the in-progress lease runs out (negative when it has), by the database's clock. */
  leaseRemainingMs: number | null;
}

interface Row {
  api_key_id: string;
  scope: string;
  idempotency_key: string;
  fingerprint: Buffer;
  status: 'in_progress' | 'completed';
  subject: string | null;
  response_status: number | null;
  response_body: unknown;
  lease_remaining_ms: number | null;
}

function toRecord(row: Row): IdempotencyRecord {
  return {
    apiKeyId: row.api_key_id,
    scope: row.scope,
    key: row.idempotency_key,
    fingerprint: row.fingerprint,
    status: row.status,
    subject: row.subject,
    responseStatus: row.response_status,
    responseBody: row.response_body,
    leaseRemainingMs: row.lease_remaining_ms,
  };
}

const SELECT = `SELECT api_key_id, scope, idempotency_key, fingerprint, status, subject, response_status, response_body,
  (extract(epoch FROM (lease_until - now())) * 1000)::float8 AS lease_remaining_ms
  FROM idempotency.keys`;

const WHERE_REF = 'api_key_id = $1 AND scope = $2 AND idempotency_key = $3';

/** The live (unexpired) row of a key, if any. */
export async function findIdempotencyRecord(
  db: Queryable,
  ref: IdempotencyKeyRef,
): Promise<IdempotencyRecord | undefined> {
  const result = await db.query<Row>(`${SELECT} WHERE ${WHERE_REF} AND expires_at > now()`, [
    ref.apiKeyId,
    ref.scope,
    ref.key,
  ]);
  const row = result.rows[0];
  return row ? toRecord(row) : undefined;
}

export interface BeginRequest {
  fingerprint: Buffer;
  /** What the request creates (a checkout id…), so a take-over knows what to finish. */
  subject?: string | null;
  /** How long the key is remembered; null keeps it as long as the database does (until deleted otherwise). */
  ttlMs: number | null;
  /** How long this request holds the key in progress before another may take over. */
  leaseMs: number;
}

/**
 * Claims the key for this request, in the transaction that does the work. A concurrent request with the same key
 * blocks here on the primary key until the first commits or rolls back; then it inserts nothing and learns
 * (false) that it must answer from the stored row. An expired row left behind before the purge is replaced.
 */
export async function beginIdempotentRequest(
  db: Queryable,
  ref: IdempotencyKeyRef,
  request: BeginRequest,
): Promise<boolean> {
  const result = await preparedQuery(
    db,
    'idempotency_begin',
    `INSERT INTO idempotency.keys
       (api_key_id, scope, idempotency_key, fingerprint, status, subject, lease_until, created_at, expires_at)
     VALUES ($1, $2, $3, $4, 'in_progress', $5, now() + $6 * interval '1 millisecond', now(),
             CASE WHEN $7::float8 IS NULL THEN 'infinity'::timestamptz
                  ELSE now() + greatest($7::float8, 1) * interval '1 millisecond' END)
     ON CONFLICT (api_key_id, scope, idempotency_key) DO UPDATE
       SET fingerprint = EXCLUDED.fingerprint, status = 'in_progress', subject = EXCLUDED.subject,
           response_status = NULL, response_body = NULL, lease_until = EXCLUDED.lease_until,
           created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
       WHERE idempotency.keys.expires_at <= now()`,
    [
      ref.apiKeyId,
      ref.scope,
      ref.key,
      request.fingerprint,
      request.subject ?? null,
      request.leaseMs,
      request.ttlMs,
    ],
  );
  return result.rowCount === 1;
}

/** Stores the response to replay; the row stops being in progress and its lease ends. */
export async function completeIdempotentRequest(
  db: Queryable,
  ref: IdempotencyKeyRef,
  response: { status: number; body: unknown },
): Promise<void> {
  const result = await preparedQuery(
    db,
    'idempotency_complete',
    `UPDATE idempotency.keys SET status = 'completed', response_status = $4, response_body = $5, lease_until = NULL
     WHERE ${WHERE_REF}`,
    [ref.apiKeyId, ref.scope, ref.key, response.status, JSON.stringify(response.body)],
  );
  if (result.rowCount !== 1) {
    throw new Error(`Idempotency-Key ${ref.scope}/${ref.key} was completed without being begun`);
  }
}

/** Takes over an in-progress key whose lease ran out (its request died mid-way); false when someone else holds it. */
export async function takeOverIdempotencyKey(
  db: Queryable,
  ref: IdempotencyKeyRef,
  leaseMs: number,
): Promise<boolean> {
  const result = await db.query(
    `UPDATE idempotency.keys SET lease_until = now() + $4 * interval '1 millisecond'
     WHERE ${WHERE_REF} AND status = 'in_progress' AND lease_until <= now()`,
    [ref.apiKeyId, ref.scope, ref.key, leaseMs],
  );
  return result.rowCount === 1;
}

/** Lets a retry of the same request take the work over at once (nothing is held: e.g. the PSP was unreachable). */
export async function releaseIdempotencyKey(db: Queryable, ref: IdempotencyKeyRef): Promise<void> {
  await db.query(
    `UPDATE idempotency.keys SET lease_until = now() WHERE ${WHERE_REF} AND status = 'in_progress'`,
    [ref.apiKeyId, ref.scope, ref.key],
  );
}

/** Deletes keys past their expiry, of every scope; returns how many. */
export async function purgeExpiredIdempotencyKeys(db: Queryable): Promise<number> {
  const result = await db.query('DELETE FROM idempotency.keys WHERE expires_at <= now()');
  return result.rowCount ?? 0;
}
