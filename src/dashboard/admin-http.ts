import { z } from 'zod';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { AppError } from '../errors.ts';
import type { App } from '../http/app.ts';
import { errorResponses, listOf, Timestamp } from '../http/schemas.ts';

/** An API key as the admins see it: never its secret (shown once, at creation). */
export interface ApiKeyView {
  id: string;
  name: string;
  hint: string;
  scopes: string[];
  createdAt: Date;
  revokedAt: Date | null;
}

/** What the API-key pages read and write, through the apikeys module (wired in src/compose.ts). */
export interface ApiKeySources {
  list(db: Queryable): Promise<ApiKeyView[]>;
  create(db: Queryable, name: string, scopes: string[]): Promise<{ id: string; secret: string }>;
  revoke(db: Queryable, id: string): Promise<'revoked' | 'already_revoked' | 'not_found'>;
  scopes: readonly string[];
}

/** Appends an audit record in the caller's transaction (the operators module's recordAudit). */
export type AuditWriter = (
  db: Queryable,
  record: {
    actor: string;
    action: string;
    targetType: string;
    targetId: string;
    before?: unknown;
    after?: unknown;
    requestId?: string;
  },
) => Promise<void>;

const ApiKeyWire = z.object({
  id: z.string(),
  object: z.literal('api_key'),
  name: z.string(),
  hint: z.string().describe('the last characters of the secret'),
  scopes: z.array(z.string()),
  created_at: Timestamp,
  revoked_at: Timestamp.nullable(),
});

function keyToWire(key: ApiKeyView): z.infer<typeof ApiKeyWire> {
  return {
    id: key.id,
    object: 'api_key',
    name: key.name,
    hint: key.hint,
    scopes: key.scopes,
    created_at: key.createdAt.toISOString(),
    revoked_at: key.revokedAt?.toISOString() ?? null,
  };
}

const admin = { auth: { operator: 'admin' as const } };

async function keyById(keys: ApiKeySources, db: Queryable, id: string): Promise<ApiKeyView | undefined> {
  return (await keys.list(db)).find((key) => key.id === id);
}

function createKeyRoute(app: App, ctx: AppContext, keys: ApiKeySources, audit: AuditWriter): void {
  app.post(
    '/dashboard/api/api_keys',
    {
      config: admin,
      schema: {
        summary: 'Create an API key',
        description:
          'Admins only. The secret is shown once in the answer; only its hash is kept. Audited in the same transaction.',
        tags: ['dashboard'],
        body: z.object({
          name: z.string().trim().min(1).max(100),
          scopes: z.array(z.enum(keys.scopes as [string, ...string[]])).min(1),
        }),
        response: {
          201: ApiKeyWire.extend({ secret: z.string().describe('shown once') }),
          ...errorResponses(),
        },
      },
    },
    async (request, reply) => {
      const actor = request.operator?.id ?? 'unknown';
      const answer = await withTransaction(ctx.pool, async (client) => {
        const created = await keys.create(client, request.body.name, [...new Set(request.body.scopes)]);
        const key = await keyById(keys, client, created.id);
        if (!key) throw new Error(`API key ${created.id} vanished in its own transaction`);
        const after = keyToWire(key);
        await audit(client, {
          actor,
          action: 'api_key.created',
          targetType: 'api_key',
          targetId: key.id,
          after,
          requestId: request.id,
        });
        return { ...after, secret: created.secret };
      });
      return reply.code(201).send(answer);
    },
  );
}

function revokeKeyRoute(app: App, ctx: AppContext, keys: ApiKeySources, audit: AuditWriter): void {
  app.post(
    '/dashboard/api/api_keys/:id/revoke',
    {
      config: admin,
      schema: {
        summary: 'Revoke an API key',
        description:
          'Admins only; the key is refused from the next request on. Revoking twice changes nothing.',
        tags: ['dashboard'],
        params: z.object({ id: z.string().regex(/^key_[a-f0-9]{1,64}$/) }),
        response: { 200: ApiKeyWire, ...errorResponses() },
      },
    },
    async (request) => {
      const actor = request.operator?.id ?? 'unknown';
      return await withTransaction(ctx.pool, async (client) => {
        const before = await keyById(keys, client, request.params.id);
        if (!before) throw new AppError('not_found', `no API key ${request.params.id}`);
        await keys.revoke(client, request.params.id);
        const after = await keyById(keys, client, request.params.id);
        if (!after) throw new AppError('not_found', `no API key ${request.params.id}`);
        if (before.revokedAt === null)
          await audit(client, {
            actor,
            action: 'api_key.revoked',
            targetType: 'api_key',
            targetId: after.id,
            before: keyToWire(before),
            after: keyToWire(after),
            requestId: request.id,
          });
        return keyToWire(after);
      });
    },
  );
}

/** The admins' API-key routes: list, create (secret shown once), revoke. */
export function apiKeyRoutes(app: App, ctx: AppContext, keys: ApiKeySources, audit: AuditWriter): void {
  app.get(
    '/dashboard/api/api_keys',
    {
      config: admin,
      schema: {
        summary: 'List API keys',
        description: 'Admins only. Every key with its scopes and hint, oldest first; never a secret.',
        tags: ['dashboard'],
        response: { 200: listOf(ApiKeyWire), ...errorResponses() },
      },
    },
    async () => ({
      object: 'list' as const,
      has_more: false,
      data: (await keys.list(ctx.pool)).map(keyToWire),
    }),
  );
  createKeyRoute(app, ctx, keys, audit);
  revokeKeyRoute(app, ctx, keys, audit);
}
