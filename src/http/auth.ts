import type { FastifyRequest } from 'fastify';
import { authenticate, type ApiKeyRecord, type Scope } from '../apikeys/index.ts';
import type { Pool } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import { operatorAsApiKey } from '../operators/index.ts';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKeyRecord;
  }
}

const BEARER = /^Bearer ([\x21-\x7e]{1,200})$/;

/** The API key behind a request; throws 401 unless one is presented and active. */
export async function resolveApiKey(pool: Pool, request: FastifyRequest): Promise<ApiKeyRecord> {
  if (request.apiKey) return request.apiKey;
  const header = request.headers.authorization;
  if (header === undefined) {
    // The dashboard calls the same routes with its session cookie (src/operators/api-access.ts).
    const operator = await operatorAsApiKey(pool, request);
    if (operator) {
      request.apiKey = operator;
      return operator;
    }
    throw new AppError('unauthenticated', 'send your API key as "Authorization: Bearer <key>"');
  }
  const match = BEARER.exec(header);
  const secret = match?.[1];
  if (secret === undefined) {
    throw new AppError('unauthenticated', 'the Authorization header must be "Bearer <key>"');
  }
  const key = await authenticate(pool, secret);
  if (!key) throw new AppError('unauthenticated', 'the API key is unknown or revoked');
  request.apiKey = key;
  return key;
}

/**
 * A hook that admits a request whose key carries `scope`. Routes do not call it: their `config.auth` marker
 * installs it (src/http/route-auth.ts), as an `onRequest` hook, before the body is read.
 */
export function requireScope(pool: Pool, scope: Scope): (request: FastifyRequest) => Promise<void> {
  return async (request: FastifyRequest) => {
    const key = await resolveApiKey(pool, request);
    if (!key.scopes.includes(scope)) {
      throw new AppError('insufficient_scope', `this route needs an API key with scope "${scope}"`);
    }
  };
}
