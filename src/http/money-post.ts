import type { FastifyRequest, preValidationAsyncHookHandler } from 'fastify';
import type { ApiKeyRecord, Scope } from '../apikeys/index.ts';
import type { Pool } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import { requireScope } from './auth.ts';

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
 * The checks of every POST that can move money, in the order callers see them: the key and its scope first, then
 * the Idempotency-Key, then (by Fastify) the body. So a missing Idempotency-Key is reported as such, whatever the
 * body holds.
 */
export function moneyMovingPost(pool: Pool, scope: Scope): preValidationAsyncHookHandler[] {
  return [
    requireScope(pool, scope),
    async (request) => {
      requireIdempotencyKey(request.headers['idempotency-key']);
    },
  ];
}

/** The API key and Idempotency-Key of a request that passed `moneyMovingPost`. */
export function moneyPostIdentity(request: FastifyRequest): { apiKey: ApiKeyRecord; idempotencyKey: string } {
  const apiKey = request.apiKey;
  if (!apiKey) throw new AppError('unauthenticated', 'send your API key as "Authorization: Bearer <key>"');
  return { apiKey, idempotencyKey: requireIdempotencyKey(request.headers['idempotency-key']) };
}
