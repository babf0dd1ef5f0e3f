import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { App, RouteModule } from '../http/app.ts';
import { moneyPostIdentity } from '../http/money-post.ts';
import { PageQuery, pageOf, pageRequestOf } from '../http/pagination.ts';
import { errorResponses, listOf } from '../http/schemas.ts';
import { DISPUTE_STATUSES } from './domain.ts';
import { respondToDispute, type DisputeAction } from './respond.ts';
import type { DisputesRuntime } from './runtime.ts';
import { getAllocations, getAllocationsOf, getDispute, getHistory, listDisputes } from './store.ts';
import { DisputeWire, disputeToWire } from './wire.ts';

const DisputeId = z.string().regex(/^dsp_[a-f0-9]{8,64}$/, 'must be a dispute id (dsp_…)');
const Params = z.object({ id: DisputeId });
const TAGS = ['disputes'];

/** Stripe's evidence text fields (files are not sent through Bursar). */
const EVIDENCE_FIELDS = [
  'access_activity_log',
  'billing_address',
  'cancellation_policy_disclosure',
  'cancellation_rebuttal',
  'customer_email_address',
  'customer_name',
  'customer_purchase_ip',
  'duplicate_charge_explanation',
  'duplicate_charge_id',
  'product_description',
  'refund_policy_disclosure',
  'refund_refusal_explanation',
  'service_date',
  'shipping_address',
  'shipping_carrier',
  'shipping_date',
  'shipping_tracking_number',
  'uncategorized_text',
] as const;

const Evidence = z
  .object(
    Object.fromEntries(EVIDENCE_FIELDS.map((field) => [field, z.string().min(1).max(20_000).optional()])),
  )
  .strict()
  .refine((evidence) => Object.keys(evidence).length > 0, { message: 'give at least one evidence field' });

const EvidenceBody = z
  .object({
    evidence: Evidence.describe("evidence fields by the PSP's names (text only)"),
    submit: z.boolean().default(true).describe('submit now (default), or only save the evidence'),
  })
  .strict();

const CloseBody = z.object({}).strict().optional();

const ListQuery = PageQuery.extend({
  status: z.enum(DISPUTE_STATUSES).optional(),
  seller_account: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
  'created[gte]': z.iso.datetime({ offset: true }).optional(),
  'created[lt]': z.iso.datetime({ offset: true }).optional(),
});

/** Dispute routes (docs/disputes.md): list, read with history, send evidence, accept. */
export function disputeRoutes(runtime: DisputesRuntime): RouteModule {
  return (app) => {
    readRoutes(app, runtime);
    respondRoute(app, runtime, 'evidence');
    respondRoute(app, runtime, 'close');
  };
}

function readRoutes(app: App, runtime: DisputesRuntime): void {
  const { pool } = runtime.ctx;
  app.get(
    '/v1/disputes',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: 'List disputes',
        description:
          'Disputes (chargebacks), newest first, filtered by status, seller and creation time; cursor pagination.',
        tags: TAGS,
        querystring: ListQuery,
        response: { 200: listOf(DisputeWire), ...errorResponses() },
      },
    },
    async (request) => {
      const query = request.query;
      const page = pageRequestOf(query);
      const gte = query['created[gte]'];
      const lt = query['created[lt]'];
      const { rows, backwards } = await listDisputes(
        pool,
        {
          status: query.status,
          sellerAccount: query.seller_account,
          createdGte: gte === undefined ? undefined : new Date(gte),
          createdLt: lt === undefined ? undefined : new Date(lt),
        },
        page,
      );
      const allocations = await getAllocationsOf(
        pool,
        rows.map((row) => row.id),
      );
      return pageOf(rows, page, backwards, (row) => disputeToWire(row, allocations.get(row.id) ?? []));
    },
  );

  app.get(
    '/v1/disputes/:id',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: 'Retrieve a dispute',
        description:
          'A dispute with its sellers’ shares, the money withdrawn and reinstated, and its status history.',
        tags: TAGS,
        params: Params,
        response: { 200: DisputeWire, ...errorResponses() },
      },
    },
    async (request) => {
      const dispute = await getDispute(pool, request.params.id);
      if (!dispute) throw new AppError('dispute_not_found', `no dispute ${request.params.id}`);
      return disputeToWire(
        dispute,
        await getAllocations(pool, dispute.id),
        await getHistory(pool, dispute.id),
      );
    },
  );
}

function respondRoute(app: App, runtime: DisputesRuntime, kind: 'evidence' | 'close'): void {
  app.post(
    `/v1/disputes/:id/${kind}`,
    {
      config: { auth: { scope: 'payments:write', moneyMoving: true } },
      schema: {
        summary: kind === 'evidence' ? 'Send evidence for a dispute' : 'Accept a dispute as lost',
        description:
          kind === 'evidence'
            ? 'Sends the evidence text fields to the PSP and submits them (unless submit is false). Requires Idempotency-Key.'
            : 'Tells the PSP the dispute is accepted: it closes as lost and the withdrawal is final. Requires Idempotency-Key.',
        tags: TAGS,
        params: Params,
        body: kind === 'evidence' ? EvidenceBody : CloseBody,
        response: { 200: DisputeWire, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { apiKey, idempotencyKey } = moneyPostIdentity(request);
      const body = request.body as z.infer<typeof EvidenceBody> | undefined;
      const action: DisputeAction =
        kind === 'close' || body === undefined
          ? { kind: 'close' }
          : {
              kind: 'evidence',
              evidence: Object.fromEntries(
                Object.entries(body.evidence).filter(
                  (entry): entry is [string, string] => typeof entry[1] === 'string',
                ),
              ),
              submit: body.submit,
            };
      const result = await respondToDispute(runtime, {
        apiKeyId: apiKey.id,
        idempotencyKey,
        disputeId: request.params.id,
        path: `/v1/disputes/${request.params.id}/${kind}`,
        body: request.body ?? {},
        action,
      });
      if (result.replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(200).send(result.body as DisputeWire);
    },
  );
}
