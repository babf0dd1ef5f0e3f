import type { FastifyRequest } from 'fastify';
import type { Pool } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import { SESSION_COOKIE, cookieValue } from './cookies.ts';
import { csrfMatches, roleAllows, sessionOf } from './service.ts';
import type { Operator, OperatorRole } from './store.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in operator of a dashboard route (src/http/route-auth.ts, `{ operator: role }`). */
    operator?: Operator;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * The hook behind `config.auth = { operator: role }`: a live session cookie (401 without one), an operator with at
 * least `role` (403 `insufficient_role`), and for writes the session's CSRF token in X-CSRF-Token (403
 * `csrf_token_invalid`). The token is checked against the session's stored hash, so a cross-site form post, which
 * cannot read it, is refused even where SameSite is not enforced.
 */
export function requireOperator(pool: Pool, role: OperatorRole): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    const token = cookieValue(request.headers.cookie, SESSION_COOKIE);
    const session = token === undefined ? undefined : await sessionOf(pool, token);
    if (!session) throw new AppError('unauthenticated', 'sign in to the dashboard first');
    if (!roleAllows(session.operator.role, role)) {
      throw new AppError(
        'insufficient_role',
        `this needs the ${role} role; you are ${session.operator.role}`,
      );
    }
    if (!SAFE_METHODS.has(request.method)) {
      const given = request.headers['x-csrf-token'];
      if (!csrfMatches(session, typeof given === 'string' ? given : undefined)) {
        throw new AppError('csrf_token_invalid', 'a dashboard write needs the session’s X-CSRF-Token header');
      }
    }
    request.operator = session.operator;
  };
}
