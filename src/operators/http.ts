import { z } from 'zod';
import type { App, RouteModule } from '../http/app.ts';
import { errorResponses, listOf, Timestamp } from '../http/schemas.ts';
import { listAudit } from './audit.ts';
import { installOperatorAudit } from './audit-hook.ts';
import type { OperatorsConfig } from './config.ts';
import { SESSION_COOKIE, sessionCookies, clearedCookies, cookieValue } from './cookies.ts';
import { signIn, signOut } from './service.ts';
import { listOperators } from './store.ts';
import { operatorAdminRoutes, OperatorWire, operatorToWire } from './admin-http.ts';

const SessionWire = z.object({
  object: z.literal('session'),
  operator: OperatorWire,
  csrf_token: z.string().optional().describe('Shown at sign-in; also in the bursar_csrf cookie.'),
  expires_at: Timestamp.optional(),
});

const AuditWire = z.object({
  id: z.string(),
  object: z.literal('audit_record'),
  at: Timestamp,
  actor: z.string(),
  action: z.string(),
  target_type: z.string(),
  target_id: z.string(),
  before: z.unknown(),
  after: z.unknown(),
  request_id: z.string().nullable(),
});

const Name = z.string().regex(/^[a-z][a-z0-9_.]{0,63}$/);

function sessionRoutes(app: App, pool: Parameters<typeof signIn>[0], config: OperatorsConfig): void {
  app.post(
    '/dashboard/api/session',
    {
      config: { auth: 'public' },
      schema: {
        summary: 'Sign in to the dashboard',
        description:
          'Checks an operator’s email and password and starts a session: an HttpOnly, SameSite=Strict cookie, and a CSRF token every write must echo in X-CSRF-Token. Throttled after repeated failures.',
        tags: ['dashboard'],
        body: z.object({ email: z.string().min(1).max(254), password: z.string().min(1).max(256) }),
        response: { 200: SessionWire, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const signed = await signIn(pool, config, { ...request.body, clientIp: request.ip });
      const secure = request.protocol === 'https';
      for (const cookie of sessionCookies(signed, config.sessionTtlSeconds, secure))
        void reply.header('Set-Cookie', cookie);
      request.log.info({ operatorId: signed.operator.id }, 'operator signed in');
      return {
        object: 'session' as const,
        operator: operatorToWire(signed.operator),
        csrf_token: signed.csrfToken,
        expires_at: signed.expiresAt.toISOString(),
      };
    },
  );

  app.get(
    '/dashboard/api/session',
    {
      config: { auth: { operator: 'viewer' } },
      schema: {
        summary: 'The signed-in operator',
        description: 'Who the session cookie belongs to, and the role that decides what they may do.',
        tags: ['dashboard'],
        response: { 200: SessionWire, ...errorResponses() },
      },
    },
    async (request) => {
      const operator = request.operator;
      if (!operator) throw new Error('operator route without an operator');
      return { object: 'session' as const, operator: operatorToWire(operator) };
    },
  );

  app.delete(
    '/dashboard/api/session',
    {
      config: { auth: { operator: 'viewer' } },
      schema: {
        summary: 'Sign out',
        description: 'Ends the session and clears its cookies.',
        tags: ['dashboard'],
        response: { 204: z.null(), ...errorResponses() },
      },
    },
    async (request, reply) => {
      const token = cookieValue(request.headers.cookie, SESSION_COOKIE);
      if (token !== undefined) await signOut(pool, token);
      for (const cookie of clearedCookies(request.protocol === 'https'))
        void reply.header('Set-Cookie', cookie);
      return reply.code(204).send(null);
    },
  );
}

function auditRoutes(app: App, pool: Parameters<typeof signIn>[0]): void {
  app.get(
    '/dashboard/api/audit',
    {
      config: { auth: { operator: 'viewer' } },
      schema: {
        summary: 'The audit log',
        description:
          'Every write made from the dashboard (and audited operator commands), newest first, filtered.',
        tags: ['dashboard'],
        querystring: z.object({
          actor: z.string().min(1).max(128).optional(),
          action: z.string().min(1).max(160).optional(),
          target_type: Name.optional(),
          target_id: z.string().min(1).max(128).optional(),
          limit: z.coerce.number().int().min(1).max(100).default(20),
          starting_after: z
            .string()
            .regex(/^\d{1,18}$/)
            .optional(),
        }),
        response: { 200: listOf(AuditWire), ...errorResponses() },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await listAudit(pool, {
        actor: q.actor,
        action: q.action,
        targetType: q.target_type,
        targetId: q.target_id,
        beforeId: q.starting_after,
        limit: q.limit + 1,
      });
      return {
        object: 'list' as const,
        has_more: rows.length > q.limit,
        data: rows.slice(0, q.limit).map((row) => ({
          id: row.id,
          object: 'audit_record' as const,
          at: row.at.toISOString(),
          actor: row.actor,
          action: row.action,
          target_type: row.targetType,
          target_id: row.targetId,
          before: row.before,
          after: row.after,
          request_id: row.requestId,
        })),
      };
    },
  );

  app.get(
    '/dashboard/api/operators',
    {
      config: { auth: { operator: 'admin' } },
      schema: {
        summary: 'List operators',
        description: 'Every operator with their role; admins only.',
        tags: ['dashboard'],
        response: { 200: listOf(OperatorWire), ...errorResponses() },
      },
    },
    async () => ({
      object: 'list' as const,
      has_more: false,
      data: (await listOperators(pool)).map(operatorToWire),
    }),
  );
}

/** The dashboard's session and audit routes. */
export function operatorRoutes(config: OperatorsConfig): RouteModule {
  return (app, ctx) => {
    installOperatorAudit(app, ctx.pool, ctx.log);
    sessionRoutes(app, ctx.pool, config);
    auditRoutes(app, ctx.pool);
    operatorAdminRoutes(app, ctx.pool);
  };
}
