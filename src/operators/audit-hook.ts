import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Pool } from '../db/pool.ts';
import type { Logger } from '../log.ts';
import { recordAudit } from './audit.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The object a dashboard write changes, as a GET of it answered before the write (for the audit log). */
    auditBefore?: unknown;
    auditAfter?: unknown;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);
const MAX_AUDIT_JSON = 64 * 1024;

function parsedOrUndefined(payload: unknown): unknown {
  if (typeof payload !== 'string' || payload.length === 0 || payload.length > MAX_AUDIT_JSON)
    return undefined;
  try {
    return JSON.parse(payload) as unknown;
  } catch {
    return undefined;
  }
}

/** The resource a write acts on, to read before it: the URL itself (PATCH, DELETE) or its parent (an action). */
function candidateUrls(request: FastifyRequest): string[] {
  const path = request.url.split('?')[0] ?? request.url;
  const parent = path.replace(/\/[^/]+$/, '');
  return request.method === 'POST' ? [parent] : [path, parent];
}

async function readBefore(app: FastifyInstance, request: FastifyRequest): Promise<unknown> {
  for (const url of candidateUrls(request)) {
    if (url === '' || url === '/v1') continue;
    const res = await app.inject({ method: 'GET', url, headers: { cookie: request.headers.cookie ?? '' } });
    if (res.statusCode === 200) return parsedOrUndefined(res.body);
  }
  return undefined;
}

/** What was written to: `refund` for /v1/refunds…, the first path parameter (or the answer's id) as its id. */
function targetOf(request: FastifyRequest, after: unknown): { type: string; id: string } {
  const route = request.routeOptions.url ?? request.url;
  const segment = route.split('/').filter((part) => part !== '' && part !== 'v1' && part !== 'dashboard')[0];
  const type =
    (segment ?? 'api')
      .replace(/[^a-z0-9_]/g, '_')
      .replace(/^_+/, '')
      .slice(0, 63) || 'api';
  const params = (request.params ?? {}) as Record<string, unknown>;
  const firstParam = Object.values(params).find((value): value is string => typeof value === 'string');
  const answer = (after ?? {}) as { id?: unknown; seller_account?: unknown };
  const answerId = answer.id ?? answer.seller_account;
  const id = firstParam ?? (typeof answerId === 'string' ? answerId : '-');
  return { type: /^[a-z]/.test(type) ? type : `x_${type}`.slice(0, 63), id: id.slice(0, 128) };
}

/**
 * Every write a signed-in operator makes through the API routes is recorded in the audit log: who (the operator),
 * what (method and route), when, the object before (a GET of it, taken before the write) and after (the answer).
 * Refused writes (4xx/5xx) change nothing and are not recorded; the access log has them.
 */
export function installOperatorAudit(app: FastifyInstance, pool: Pool, log: Logger): void {
  app.addHook('preHandler', async (request) => {
    if (!request.operator || SAFE_METHODS.has(request.method)) return;
    if (!request.url.startsWith('/v1/')) return;
    request.auditBefore = await readBefore(app, request);
  });
  // Recorded before the answer leaves (onSend, not onResponse): a client that goes away mid-write, as a browser
  // navigating on does, still leaves the write in the audit log.
  app.addHook('onSend', async (request, reply, payload) => {
    const operator = request.operator;
    if (!operator || SAFE_METHODS.has(request.method) || reply.statusCode >= 400) return payload;
    const route = request.routeOptions.url ?? request.url;
    // The dashboard's own writes (sign-in; operators and API keys) record themselves, in their transaction.
    if (route.startsWith('/dashboard/api/')) return payload;
    request.auditAfter = parsedOrUndefined(payload);
    const target = targetOf(request, request.auditAfter);
    try {
      await recordAudit(pool, {
        actor: operator.id,
        action: `${request.method} ${route}`,
        targetType: target.type,
        targetId: target.id,
        before: request.auditBefore,
        after: request.auditAfter,
        requestId: request.id,
      });
    } catch (error) {
      log.error({ err: error, requestId: request.id, operatorId: operator.id }, 'audit record failed');
    }
    return payload;
  });
}
