import type { FastifyRequest, onRequestAsyncHookHandler, RouteOptions } from 'fastify';
import { isScope, type Scope } from '../apikeys/index.ts';
import {
  assertOperatorRole,
  isOperatorRole,
  requireOperator,
  type OperatorRole,
} from '../operators/index.ts';
import type { Pool } from '../db/pool.ts';
import { requireScope } from './auth.ts';
import { requireIdempotencyKey } from './money-post.ts';

/**
 * How a route authenticates its caller. Every route declares one in `config.auth`; `buildApp` refuses to start
 * with a route that does not (authentication is the default, not something a route has to remember):
 *
 * - `{ scope }`: an API key carrying `scope` (`Authorization: Bearer <key>`); 401 without an active key, 403
 *   without the scope. `moneyMoving: true` adds the `Idempotency-Key` check right after the scope. A dashboard
 *   session cookie may stand in for the key (src/operators/api-access.ts: scopes by role, CSRF on writes);
 *   `operatorRole` raises the role such a session needs (`'admin'` for routes that manage the installation).
 * - `'signature'`: no API key; the handler verifies a signature over the raw body (a PSP's or a payout
 *   provider's webhook).
 * - `'public'`: no authentication at all (liveness, readiness, the OpenAPI description). Keep this list short.
 * - `{ operator: role }`: a dashboard session (cookie) of an operator with at least `role`; writes (any method
 *   but GET/HEAD) also need the session's CSRF token in `X-CSRF-Token` (src/operators/guard.ts).
 *
 * The check is added by the marker itself (an `onRequest` hook), so the marker cannot claim a scope the route does
 * not check, and it runs before the body is read or validated: an unauthenticated bad body is 401, not 400.
 */
export type RouteAuth =
  | 'public'
  | 'signature'
  | { scope: Scope; moneyMoving?: boolean; operatorRole?: OperatorRole }
  | { operator: OperatorRole };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; see src/http/route-auth.ts. Required on every route. */
    auth?: RouteAuth;
  }
}

/** The OpenAPI extension that carries a route's marker, so tests and clients can list routes by how they authenticate. */
export const AUTH_EXTENSION = 'x-bursar-auth';

export class RouteAuthMissingError extends Error {
  constructor(method: string, url: string) {
    super(
      `route ${method} ${url} declares no authentication: give it config.auth = { scope: '…' }, ` +
        `or mark it 'public' or 'signature' (see docs/api.md)`,
    );
    this.name = 'RouteAuthMissingError';
  }
}

function describe(method: RouteOptions['method']): string {
  return Array.isArray(method) ? method.join(',') : String(method);
}

function isRouteAuth(value: unknown): value is RouteAuth {
  if (value === 'public' || value === 'signature') return true;
  if (typeof value !== 'object' || value === null) return false;
  const operator = (value as { operator?: unknown }).operator;
  if (operator !== undefined) return typeof operator === 'string' && isOperatorRole(operator);
  const scope = (value as { scope?: unknown }).scope;
  return typeof scope === 'string' && isScope(scope);
}

/** The `onRequest` hooks that enforce `auth`: the key and its scope, then (money-moving POSTs) the Idempotency-Key. */
export function authHooks(pool: Pool, auth: RouteAuth): onRequestAsyncHookHandler[] {
  if (auth === 'public' || auth === 'signature') return [];
  if ('operator' in auth) return [requireOperator(pool, auth.operator)];
  const hooks: onRequestAsyncHookHandler[] = [requireScope(pool, auth.scope)];
  const role = auth.operatorRole;
  if (role !== undefined) hooks.push(async (request: FastifyRequest) => assertOperatorRole(request, role));
  if (auth.moneyMoving === true) {
    hooks.push(async (request: FastifyRequest) => {
      requireIdempotencyKey(request.headers['idempotency-key']);
    });
  }
  return hooks;
}

/**
 * The `onRoute` hook behind auth-by-default: throws (so `buildApp` fails, naming the route) when a route has no
 * marker, and otherwise puts the marker's checks first among the route's `onRequest` hooks and writes the marker
 * into the route's OpenAPI description (`security` and `x-bursar-auth`).
 */
export function enforceRouteAuth(pool: Pool): (route: RouteOptions) => void {
  return (route) => {
    const auth: unknown = route.config?.auth;
    if (!isRouteAuth(auth)) throw new RouteAuthMissingError(describe(route.method), route.url);
    const own = route.onRequest;
    const existing = own === undefined ? [] : Array.isArray(own) ? own : [own];
    route.onRequest = [...authHooks(pool, auth), ...existing];
    const schema = { ...(route.schema ?? {}) } as Record<string, unknown>;
    if (auth === 'public' || auth === 'signature') {
      schema.security = [];
      schema[AUTH_EXTENSION] = auth;
    } else if ('operator' in auth) {
      schema.security = [{ dashboardSession: [] }];
      schema[AUTH_EXTENSION] = { operator: auth.operator };
    } else {
      schema.security = [{ bearer: [auth.scope] }];
      schema[AUTH_EXTENSION] =
        auth.moneyMoving === true ? { scope: auth.scope, money_moving: true } : { scope: auth.scope };
    }
    route.schema = schema;
  };
}
