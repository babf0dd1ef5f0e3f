import { AppError } from '../errors.ts';
import type { IdempotencyRecord } from './store.ts';

/** What an existing key means for a new request carrying it. */
export type IdempotencyAnswer =
  | { outcome: 'replay'; status: number; body: unknown }
  | { outcome: 'in_progress'; retryAfterSeconds: number }
  | { outcome: 'take_over' };

/**
 * Pure: the stored answer again (same status and body, to send with `Idempotent-Replayed: true`), a 429 while
 * the first request still holds its lease, or — when it died holding the key — the go-ahead to finish its work.
 * A different request under the same key is refused with 422 `idempotency_key_reused`.
 */
export function answerFromRecord(
  record: IdempotencyRecord,
  fingerprint: Buffer,
  message = 'this Idempotency-Key was used with a different request; use a new key for a new request',
): IdempotencyAnswer {
  if (!record.fingerprint.equals(fingerprint)) throw new AppError('idempotency_key_reused', message);
  if (record.status === 'completed' && record.responseStatus !== null) {
    return { outcome: 'replay', status: record.responseStatus, body: record.responseBody };
  }
  const remainingMs = record.leaseRemainingMs ?? 0;
  if (remainingMs > 0) {
    return { outcome: 'in_progress', retryAfterSeconds: Math.max(1, Math.ceil(remainingMs / 1000)) };
  }
  return { outcome: 'take_over' };
}

/** The 429 for a key another request is working on. */
export function requestInProgress(retryAfterSeconds: number): AppError {
  return new AppError('request_in_progress', 'a request with this Idempotency-Key is still being processed', {
    retryAfterSeconds,
  });
}
