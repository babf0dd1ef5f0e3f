import type { FastifyInstance } from 'fastify';
import { acceptDispute, lockedDispute, updateDisputeEvidence } from './disputes.ts';
import { missingResource } from './errors.ts';
import { apiRoute, type SandboxRuntime } from './http.ts';
import { listEnvelope } from './objects.ts';
import { PAGE_PARAMS, Params } from './params.ts';
import { getObject, listObjects } from './store.ts';

/** Stripe's evidence fields that take text (the file fields are not emulated). */
const EVIDENCE_TEXT_FIELDS = [
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

/** Disputes: retrieve, list, update (evidence, submit) and close (accept), as Stripe's API has them. */
export function registerDisputeRoutes(app: FastifyInstance, runtime: SandboxRuntime): void {
  apiRoute(app, runtime, 'GET', '/v1/disputes/:id', async ({ ctx, params }) => {
    const dispute = await getObject(ctx.db, params.id ?? '', { kind: 'dispute' });
    if (dispute === undefined) throw missingResource('dispute', params.id ?? '');
    return { body: dispute.data };
  });

  apiRoute(app, runtime, 'GET', '/v1/disputes', async ({ ctx, input }) => {
    const params = new Params(input, [...PAGE_PARAMS, 'created', 'charge', 'payment_intent']);
    const created = params.range('created');
    const equals: Record<string, string> = {};
    const charge = params.string('charge');
    const intent = params.string('payment_intent');
    if (charge !== undefined) equals.charge = charge;
    if (intent !== undefined) equals.payment_intent = intent;
    const found = await listObjects(ctx.db, {
      kind: 'dispute',
      ...params.page(),
      ...(created === undefined ? {} : { created }),
      equals,
    });
    return {
      body: listEnvelope(
        '/v1/disputes',
        found.rows.map((row) => row.data),
        found.hasMore,
      ),
    };
  });

  apiRoute(app, runtime, 'POST', '/v1/disputes/:id', async ({ ctx, params: path, input }) => {
    const params = new Params(input, ['evidence', 'submit', 'metadata']);
    const given = params.object('evidence', EVIDENCE_TEXT_FIELDS);
    const evidence: Record<string, string> = {};
    for (const field of EVIDENCE_TEXT_FIELDS) {
      const value = given?.string(field, { maxLength: 150_000 });
      if (value !== undefined) evidence[field] = value;
    }
    const dispute = await lockedDispute(ctx, path.id ?? '');
    const updated = await updateDisputeEvidence(ctx, dispute, {
      evidence,
      submit: params.bool('submit') ?? false,
      metadata: params.metadata(),
    });
    return { body: updated.data };
  });

  apiRoute(app, runtime, 'POST', '/v1/disputes/:id/close', async ({ ctx, params: path, input }) => {
    new Params(input, []);
    const dispute = await lockedDispute(ctx, path.id ?? '');
    return { body: (await acceptDispute(ctx, dispute)).data };
  });
}
