import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Pool } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { AppError } from '../errors.ts';
import type { App } from '../http/app.ts';
import { errorResponses, Timestamp } from '../http/schemas.ts';
import { recordAudit } from './audit.ts';
import { createOperator } from './service.ts';
import { findOperatorById, setOperatorDisabled, type Operator } from './store.ts';

export const OperatorWire = z.object({
  id: z.string(),
  object: z.literal('operator'),
  email: z.string(),
  role: z.enum(['viewer', 'operator', 'admin']),
  created_at: Timestamp,
  disabled: z.boolean(),
});

export function operatorToWire(operator: Operator): z.infer<typeof OperatorWire> {
  return {
    id: operator.id,
    object: 'operator',
    email: operator.email,
    role: operator.role,
    created_at: operator.createdAt.toISOString(),
    disabled: operator.disabledAt !== null,
  };
}

const admin = { auth: { operator: 'admin' as const } };
const Params = z.object({ id: z.string().regex(/^op_[a-f0-9]{1,64}$/) });

/** `POST /dashboard/api/operators`: an admin creates an operator; the generated password is shown once. */
function createRoute(app: App, pool: Pool): void {
  app.post(
    '/dashboard/api/operators',
    {
      config: admin,
      schema: {
        summary: 'Create an operator',
        description:
          'Admins only. The password is generated and shown once in the answer; the audit record is written in the same transaction as the operator.',
        tags: ['dashboard'],
        body: z.object({ email: z.string().max(254), role: z.enum(['viewer', 'operator', 'admin']) }),
        response: {
          201: OperatorWire.extend({ password: z.string().describe('shown once') }),
          ...errorResponses(),
        },
      },
    },
    async (request, reply) => {
      const password = randomBytes(18).toString('base64url');
      const actor = request.operator?.id ?? 'unknown';
      const created = await createOperator(pool, { ...request.body, password, actor });
      return reply.code(201).send({ ...operatorToWire(created), password });
    },
  );
}

/** `POST /dashboard/api/operators/{id}/disable|enable`: disabling ends the operator's sessions at once. */
function disableRoutes(app: App, pool: Pool): void {
  for (const action of ['disable', 'enable'] as const) {
    app.post(
      `/dashboard/api/operators/:id/${action}`,
      {
        config: admin,
        schema: {
          summary: action === 'disable' ? 'Disable an operator' : 'Enable an operator',
          description:
            'Admins only; an admin cannot disable themselves. Recorded in the audit log in the same transaction.',
          tags: ['dashboard'],
          params: Params,
          response: { 200: OperatorWire, ...errorResponses() },
        },
      },
      async (request) => {
        const actor = request.operator?.id ?? 'unknown';
        if (action === 'disable' && request.params.id === actor)
          throw new AppError('validation_failed', 'an admin cannot disable themselves', { field: 'id' });
        return await withTransaction(pool, async (client) => {
          const before = await findOperatorById(client, request.params.id);
          if (!before) throw new AppError('not_found', `no operator ${request.params.id}`);
          await setOperatorDisabled(client, before.email, action === 'disable');
          const after = await findOperatorById(client, request.params.id);
          if (!after) throw new AppError('not_found', `no operator ${request.params.id}`);
          await recordAudit(client, {
            actor,
            action: `operator.${action}d`,
            targetType: 'operator',
            targetId: before.id,
            before: operatorToWire(before),
            after: operatorToWire(after),
            requestId: request.id,
          });
          return operatorToWire(after);
        });
      },
    );
  }
}

/** The admins' operator management routes (the list is in http.ts). */
export function operatorAdminRoutes(app: App, pool: Pool): void {
  createRoute(app, pool);
  disableRoutes(app, pool);
}
