import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { withTransaction } from '../src/db/tx.ts';
import type { SandboxCtx } from './context.ts';
import { StripeApiError, errorResponse, invalidRequest, missingResource } from './errors.ts';
import { parseFaults, type Faults } from './faults.ts';
import { authenticate, authenticateAdmin, present, type SandboxRuntime } from './http.ts';
import { lockedDispute, resolveDispute } from './disputes.ts';
import { createDispute, settleReview } from './payments.ts';
import { runPayouts } from './payouts.ts';
import { balanceChangeReport, REPORT_TYPE } from './report.ts';
import { runScheduledWork } from './scheduler.ts';
import { getObject } from './store.ts';

/**
 * Admin endpoints under `/v1/sandbox/…` (not part of Stripe's API; documented in docs/sandbox.md). They take and
 * return JSON (form bodies work too), need the sandbox's own admin key (SandboxConfig.adminKey), not a secret
 * key, and are never subject to faults. The balance report alone also takes the secret key, as Stripe's reports
 * do: Bursar's reconciliation downloads it with the key it calls the API with.
 */
export interface AdminControls {
  setFaults(faults: Faults): void;
  resetFaults(): void;
  currentFaults(): Faults;
  advanceClock(ms: number): Promise<number>;
  clockOffsetMs(): number;
}

function bodyOf(request: FastifyRequest): Record<string, unknown> {
  const body = request.body;
  return typeof body === 'object' && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : {};
}

export function registerAdminRoutes(
  app: FastifyInstance,
  runtime: SandboxRuntime,
  controls: AdminControls,
): void {
  const admin = (
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    work: (request: FastifyRequest, ctx: SandboxCtx) => Promise<unknown>,
    options: { raw?: boolean; secretKeyToo?: boolean } = {},
  ) => {
    app.route({
      method,
      url,
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        try {
          if (
            options.secretKeyToo === true &&
            !request.headers.authorization?.startsWith('Bearer sbx_admin_')
          )
            authenticate(request, runtime.config);
          else authenticateAdmin(request, runtime.config);
          const now = runtime.now();
          const result = await withTransaction(runtime.pool, (client) =>
            work(request, {
              db: client,
              now,
              config: runtime.config,
              baseUrl: runtime.baseUrl(),
              faults: runtime.faults,
            }),
          );
          runtime.onCommit();
          if (options.raw) return reply.code(200).type('text/csv; charset=utf-8').send(result);
          return reply
            .code(200)
            .type('application/json')
            .send(JSON.stringify(present(result, Math.floor(now.getTime() / 1000)), null, 2));
        } catch (error) {
          const stripeError =
            error instanceof StripeApiError
              ? error
              : error instanceof Error && error.message.startsWith('faults')
                ? invalidRequest(error.message)
                : undefined;
          if (stripeError === undefined) throw error;
          const { status, body } = errorResponse(stripeError);
          return reply.code(status).type('application/json').send(JSON.stringify(body));
        }
      },
    });
  };

  admin('GET', '/v1/sandbox/faults', async () => controls.currentFaults());
  admin('PUT', '/v1/sandbox/faults', async (request) => {
    controls.setFaults(parseFaults(bodyOf(request)));
    return controls.currentFaults();
  });
  admin('DELETE', '/v1/sandbox/faults', async () => {
    controls.resetFaults();
    return controls.currentFaults();
  });

  admin('POST', '/v1/sandbox/payment_intents/:id/settle', async (request, ctx) => {
    const outcome = bodyOf(request).outcome ?? 'succeed';
    if (outcome !== 'succeed' && outcome !== 'fail')
      throw invalidRequest('outcome must be "succeed" or "fail"', 'outcome');
    const intent = await settleReview(ctx, (request.params as { id: string }).id, outcome);
    return intent.data;
  });

  admin('POST', '/v1/sandbox/charges/:id/dispute', async (request, ctx) => {
    let id = (request.params as { id: string }).id;
    if (id.startsWith('pi_')) {
      const intent = await getObject(ctx.db, id, { kind: 'payment_intent' });
      if (intent === undefined) throw missingResource('payment_intent', id);
      id = String(intent.data.latest_charge);
    }
    const charge = await getObject(ctx.db, id, { kind: 'charge', forUpdate: true });
    if (charge === undefined) throw missingResource('charge', id);
    return (await createDispute(ctx, charge)).data;
  });

  admin('POST', '/v1/sandbox/disputes/:id/close', async (request, ctx) => {
    const outcome = bodyOf(request).outcome;
    if (outcome !== 'won' && outcome !== 'lost')
      throw invalidRequest('outcome must be "won" or "lost"', 'outcome');
    const dispute = await lockedDispute(ctx, (request.params as { id: string }).id);
    return (await resolveDispute(ctx, dispute, outcome)).data;
  });

  admin('POST', '/v1/sandbox/payouts/run', async (_request, ctx) => ({
    object: 'list',
    data: (await runPayouts(ctx)).map((payout) => payout.data),
  }));

  admin('POST', '/v1/sandbox/tick', async (_request, ctx) => runScheduledWork(ctx));

  admin('GET', '/v1/sandbox/clock', async () => ({
    now: runtime.now().toISOString(),
    offset_ms: controls.clockOffsetMs(),
  }));
  admin('POST', '/v1/sandbox/clock/advance', async (request) => {
    const raw = bodyOf(request).ms;
    const ms = typeof raw === 'string' ? Number.parseInt(raw, 10) : raw;
    if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0)
      throw invalidRequest('ms must be a non-negative integer', 'ms');
    const offset = await controls.advanceClock(ms);
    return { now: runtime.now().toISOString(), offset_ms: offset };
  });

  admin('GET', '/v1/sandbox/webhook_deliveries', async (request, ctx) => {
    const query = request.query as Record<string, unknown>;
    const eventId = typeof query.event_id === 'string' ? query.event_id : null;
    const rows = await ctx.db.query(
      `SELECT id::text, event_id, event_type, destination, url, status, attempts, next_attempt_at, last_status, last_error, delivered_at
         FROM sandbox.webhook_deliveries WHERE ($1::text IS NULL OR event_id = $1) ORDER BY id DESC LIMIT 500`,
      [eventId],
    );
    return { object: 'list', data: rows.rows };
  });

  admin(
    'GET',
    `/v1/sandbox/reports/${REPORT_TYPE}.csv`,
    async (request, ctx) => {
      const query = request.query as Record<string, unknown>;
      const start = Number.parseInt(String(query.interval_start ?? ''), 10);
      const end = Number.parseInt(String(query.interval_end ?? ''), 10);
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end <= start) {
        throw invalidRequest(
          'interval_start and interval_end must be unix seconds with interval_start < interval_end',
          'interval_start',
        );
      }
      const columns =
        typeof query.columns === 'string'
          ? query.columns.split(',').filter((c) => c !== '')
          : Array.isArray(query.columns)
            ? query.columns.map(String)
            : undefined;
      const currency = typeof query.currency === 'string' ? query.currency.toLowerCase() : undefined;
      return balanceChangeReport(ctx.db, {
        intervalStart: start,
        intervalEnd: end,
        ...(currency === undefined ? {} : { currency }),
        ...(columns === undefined ? {} : { columns }),
      });
    },
    { raw: true, secretKeyToo: true },
  );
}
