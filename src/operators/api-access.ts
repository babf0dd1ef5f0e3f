import type { FastifyRequest } from 'fastify';
import type { ApiKeyRecord, Scope } from '../apikeys/index.ts';
import type { Pool } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import { SESSION_COOKIE, cookieValue } from './cookies.ts';
import { csrfMatches, roleAllows, sessionOf } from './service.ts';
import type { OperatorRole } from './store.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * What a signed-in operator may do on the API routes, as scopes: a viewer reads (`payments:read`, and `ops` for
 * reads only); an operator also writes (`payments:write`, `ops`); routes that manage the installation
 * (`operatorRole: 'admin'` on the route's marker) need an admin.
 */
export function scopesOfRole(role: OperatorRole, method: string): Scope[] {
  if (role === 'viewer') return SAFE_METHODS.has(method) ? ['payments:read', 'ops'] : ['payments:read'];
  return ['payments:read', 'payments:write', 'ops'];
}

/**
 * The dashboard's way into the API: when a request has no Authorization header but a dashboard session cookie,
 * the session's operator stands in for an API key (id `op_…`, so idempotency keys and logs are per operator), with
 * the scopes of their role. Writes must carry the session's CSRF token. Undefined when there is no session cookie.
 */
export async function operatorAsApiKey(
  pool: Pool,
  request: FastifyRequest,
): Promise<ApiKeyRecord | undefined> {
  const token = cookieValue(request.headers.cookie, SESSION_COOKIE);
  if (token === undefined) return undefined;
  const session = await sessionOf(pool, token);
  if (!session) throw new AppError('unauthenticated', 'the dashboard session has ended; sign in again');
  if (!SAFE_METHODS.has(request.method)) {
    const given = request.headers['x-csrf-token'];
    if (!csrfMatches(session, typeof given === 'string' ? given : undefined)) {
      throw new AppError('csrf_token_invalid', 'a dashboard write needs the session’s X-CSRF-Token header');
    }
  }
  request.operator = session.operator;
  return {
    id: session.operator.id,
    name: `operator:${session.operator.email}`,
    hint: '',
    scopes: scopesOfRole(session.operator.role, request.method),
    createdAt: session.operator.createdAt,
    revokedAt: null,
  };
}

/** For routes that manage the installation: an operator session needs `role` (API keys are judged by scope alone). */
export function assertOperatorRole(request: FastifyRequest, role: OperatorRole): void {
  const operator = request.operator;
  if (operator && !roleAllows(operator.role, role)) {
    throw new AppError('insufficient_role', `this needs the ${role} role; you are ${operator.role}`);
  }
}
