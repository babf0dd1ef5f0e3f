import type { Queryable } from '../db/pool.ts';
import {
  beginIdempotentRequest,
  completeIdempotentRequest,
  findIdempotencyRecord as findShared,
  releaseIdempotencyKey as releaseShared,
  takeOverIdempotencyKey as takeOverShared,
  type IdempotencyKeyRef,
  type IdempotencyRecord as SharedRecord,
} from '../idempotency/index.ts';

/**
 * The Idempotency-Keys of `POST /v1/payments`: the shared mechanism (src/idempotency/, table
 * `idempotency.keys`) under the scope `payments`, with the checkout id as the key's subject.
 */
export const PAYINS_IDEMPOTENCY_SCOPE = 'payments';

export { canonicalJson, purgeExpiredIdempotencyKeys, requestFingerprint } from '../idempotency/index.ts';

export type IdempotencyRecord = SharedRecord & {
  state: SharedRecord['status'];
  checkoutId: string | null;
};

function ref(apiKeyId: string, key: string): IdempotencyKeyRef {
  return { apiKeyId, scope: PAYINS_IDEMPOTENCY_SCOPE, key };
}

export async function findIdempotencyRecord(
  db: Queryable,
  apiKeyId: string,
  key: string,
): Promise<IdempotencyRecord | undefined> {
  const record = await findShared(db, ref(apiKeyId, key));
  return record ? { ...record, state: record.status, checkoutId: record.subject } : undefined;
}

/** Claims the key in the checkout's transaction; false when another request holds or completed it. */
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
  return await beginIdempotentRequest(db, ref(claim.apiKeyId, claim.key), {
    fingerprint: claim.fingerprint,
    subject: claim.checkoutId,
    ttlMs: claim.ttlMs,
    leaseMs: claim.leaseMs,
  });
}

export async function completeIdempotencyKey(
  db: Queryable,
  apiKeyId: string,
  key: string,
  response: { status: number; body: unknown },
): Promise<void> {
  await completeIdempotentRequest(db, ref(apiKeyId, key), response);
}

export async function takeOverIdempotencyKey(
  db: Queryable,
  apiKeyId: string,
  key: string,
  leaseMs: number,
): Promise<boolean> {
  return await takeOverShared(db, ref(apiKeyId, key), leaseMs);
}

export async function releaseIdempotencyKey(db: Queryable, apiKeyId: string, key: string): Promise<void> {
  await releaseShared(db, ref(apiKeyId, key));
}
