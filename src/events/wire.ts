import { z } from 'zod';
import type { AttemptRow, EndpointRow, EventRow } from './store.ts';

const unix = (at: Date) => Math.floor(at.getTime() / 1000);

export const EventWire = z.object({
  id: z.string().describe('evt_…; stable across redeliveries, so a receiver can drop duplicates'),
  object: z.literal('event'),
  type: z.string().describe('such as payment_order.succeeded, refund.succeeded, payout.paid'),
  api_version: z.string().describe('the version of the shape of data.object'),
  created: z.number().int().describe('Unix seconds: when the change was made'),
  data: z.object({
    object: z
      .record(z.string(), z.unknown())
      .describe('the resource as it was after the change, in its wire shape (amounts as decimal strings)'),
  }),
});

export function eventToWire(row: EventRow): z.infer<typeof EventWire> {
  return {
    id: row.id,
    object: 'event',
    type: row.type,
    api_version: row.api_version,
    created: unix(row.created_at),
    data: { object: row.data.object },
  };
}

export const EndpointWire = z.object({
  id: z.string().describe('we_…'),
  object: z.literal('webhook_endpoint'),
  url: z.string(),
  description: z.string().nullable(),
  enabled_events: z.array(z.string()).describe('event types sent to this endpoint; ["*"] for all'),
  status: z.enum(['enabled', 'disabled']),
  disabled_reason: z.string().nullable(),
  source: z.enum(['api', 'env']).describe('env: the endpoint of BURSAR_WEBHOOK_URL'),
  previous_secret_expires_at: z
    .number()
    .int()
    .nullable()
    .describe('Unix seconds until which the secret before the last roll still signs'),
  created: z.number().int(),
});

export function endpointToWire(row: EndpointRow): z.infer<typeof EndpointWire> {
  const until = row.previous_secret_until;
  return {
    id: row.id,
    object: 'webhook_endpoint',
    url: row.url,
    description: row.description,
    enabled_events: row.enabled_events,
    status: row.status,
    disabled_reason: row.disabled_reason,
    source: row.source,
    previous_secret_expires_at: until !== null && until.getTime() > Date.now() ? unix(until) : null,
    created: unix(row.created_at),
  };
}

export const EndpointWithSecretWire = EndpointWire.extend({
  secret: z.string().describe('whsec_…: shown here once, never again'),
});

export const AttemptWire = z.object({
  id: z.string().describe('wha_…'),
  object: z.literal('webhook_delivery_attempt'),
  delivery: z.string().describe('whd_…: the delivery this try belongs to'),
  event: z.string(),
  event_type: z.string(),
  attempt: z.number().int().describe('1 for the first try of the delivery'),
  succeeded: z.boolean(),
  status_code: z.number().int().nullable().describe("the endpoint's HTTP status; null when none came"),
  error: z.string().nullable(),
  latency_ms: z.number().int(),
  delivery_status: z.enum(['pending', 'succeeded', 'failed', 'canceled']),
  created: z.number().int().describe('Unix seconds: when the try started'),
});

export function attemptToWire(row: AttemptRow): z.infer<typeof AttemptWire> {
  return {
    id: row.id,
    object: 'webhook_delivery_attempt',
    delivery: row.delivery_id,
    event: row.event_id,
    event_type: row.event_type,
    attempt: row.attempt,
    succeeded: row.succeeded,
    status_code: row.status_code,
    error: row.error,
    latency_ms: row.latency_ms,
    delivery_status: row.delivery_status as z.infer<typeof AttemptWire>['delivery_status'],
    created: unix(row.created_at),
  };
}
