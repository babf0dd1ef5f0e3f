import type { FastifyRequest } from 'fastify';
import type { ApiKeyRecord } from '../apikeys/index.ts';
import { AppError } from '../errors.ts';

/** Printable ASCII, 1..255 characters (Stripe's limit), so keys are safe to log and to index. */
const KEY_SHAPE = /^[\x21-\x7e]{1,255}$/;

/** The Idempotency-Key header of a POST that moves money: required, and sane. */
export function requireIdempotencyKey(header: string | string[] | undefined): string {
  if (header === undefined) {
    throw new AppError(
      'idempotency_key_missing',
      'send an Idempotency-Key header; this request can move money',
    );
  }
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !KEY_SHAPE.test(value)) {
    throw new AppError(
      'idempotency_key_invalid',
      'Idempotency-Key must be 1–255 printable ASCII characters without spaces',
    );
  }
  return value;
}

/**
 * The API key and Idempotency-Key of a request to a money-moving POST. The route's marker
 * (`config: { auth: { scope, moneyMoving: true } }`) checked them in order before the body was read: the key and
 * its scope, then the Idempotency-Key; the body comes after.
 */
export function moneyPostIdentity(request: FastifyRequest): { apiKey: ApiKeyRecord; idempotencyKey: string } {
  const apiKey = request.apiKey;
  if (!apiKey) throw new AppError('unauthenticated', 'send your API key as "Authorization: Bearer <key>"');
  return { apiKey, idempotencyKey: requireIdempotencyKey(request.headers['idempotency-key']) };
}
