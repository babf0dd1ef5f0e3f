import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { App, RouteModule } from '../http/app.ts';
import { createdFilters, createdRangeOf, CreatedFilter, filters, listQuery } from '../http/list-query.ts';
import { pageOf, PageQuery, pageRequestOf } from '../http/pagination.ts';
import { errorResponses, listOf } from '../http/schemas.ts';
import { changeEndpoint, createEndpoint, rollEndpointSecret, type EndpointsDeps } from './endpoints.ts';
import {
  attemptsPage,
  deleteEndpoint,
  endpointsPage,
  eventsPage,
  getEndpoint,
  getEvent,
  redeliver,
} from './store.ts';
import {
  AttemptWire,
  attemptToWire,
  EndpointWire,
  EndpointWithSecretWire,
  endpointToWire,
  EventWire,
  eventToWire,
} from './wire.ts';

/** How far back the events API reaches. */
export const EVENTS_RETENTION_DAYS = 30;

const EventId = z.string().regex(/^evt_[A-Za-z0-9_]{1,60}$/, 'must be an event id (evt_…)');
const EndpointId = z.string().regex(/^we_[A-Za-z0-9_]{1,60}$/, 'must be a webhook endpoint id (we_…)');
const EventType = z
  .string()
  .max(100)
  .regex(/^[a-z_]+(\.([a-z_]+|\*))+$/, 'an event type such as refund.succeeded, or refund.* for a family');

const EventsQuery = listQuery({ type: EventType.optional(), ...CreatedFilter });
const EventList = listOf(EventWire);
const EndpointList = listOf(EndpointWire);
const AttemptList = listOf(AttemptWire);

const EnabledEvents = z
  .array(z.string().min(1).max(100))
  .min(1)
  .max(100)
  .describe('event types to send, such as ["payment_order.succeeded", "refund.*"]; ["*"] for all');

const CreateBody = z
  .object({
    url: z
      .string()
      .min(1)
      .max(2048)
      .describe('http(s); refused when it resolves to a private or loopback address'),
    enabled_events: EnabledEvents,
    description: z.string().max(500).optional(),
  })
  .strict()
  .meta({
    examples: [
      {
        url: 'https://marketplace.example.com/hooks/bursar',
        enabled_events: ['payment_order.succeeded', 'refund.*'],
        description: 'order fulfilment',
      },
    ],
  });

const UpdateBody = z
  .object({
    url: z.string().min(1).max(2048).optional(),
    enabled_events: EnabledEvents.optional(),
    description: z.string().max(500).nullable().optional(),
    disabled: z
      .boolean()
      .optional()
      .describe('true stops deliveries; false re-enables and resets the failure count'),
  })
  .strict();

const RollBody = z
  .object({
    expires_in_seconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600)
      .optional()
      .describe(
        'how long the old secret keeps signing beside the new one (default 24 h; 0 stops it at once)',
      ),
  })
  .strict();

const RedeliverBody = z
  .object({
    endpoint: EndpointId.optional().describe(
      'one endpoint; without it, every enabled endpoint that takes the type',
    ),
  })
  .strict();

const RedeliverResult = z.object({
  object: z.literal('redelivery'),
  event: z.string(),
  deliveries: z.array(z.object({ id: z.string(), endpoint: z.string() })),
});

const ADMIN = { scope: 'ops', operatorRole: 'admin' } as const;
/** Endpoints and their deliveries are read by every operator role (they carry no secret); managing them is admin's. */
const OPS_READ = { scope: 'ops' } as const;

/** Events and webhook endpoints (docs/events.md). */
export function eventsRoutes(deps: EndpointsDeps): RouteModule {
  return (app) => {
    eventReadRoutes(app, deps);
    redeliverRoute(app, deps);
    endpointWriteRoutes(app, deps);
    endpointDeleteAndRoll(app, deps);
    endpointReadRoutes(app, deps);
  };
}

function eventReadRoutes(app: App, deps: EndpointsDeps): void {
  app.get(
    '/v1/events',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: 'List events',
        description: `Events of the last ${EVENTS_RETENTION_DAYS} days, newest first; filter by type (refund.* for a family) and created[gte|lt]; cursor pagination. Delivery order to endpoints is not guaranteed: use created and the object's version or updated time to drop stale events.`,
        tags: ['events'],
        querystring: EventsQuery,
        response: { 200: EventList, ...errorResponses() },
      },
    },
    async (request) => {
      const q = request.query;
      const family = q.type?.endsWith('.*') === true ? `${q.type.slice(0, -1)}%` : undefined;
      const where = [
        ...filters(
          [family === undefined ? q.type : undefined, (p) => `e.type = ${p}`],
          [family, (p) => `e.type LIKE ${p}`],
          [EVENTS_RETENTION_DAYS, (p) => `e.created_at >= now() - make_interval(days => ${p}::int)`],
        ),
        ...createdFilters('e.created_at', createdRangeOf(q)),
      ];
      const request_ = pageRequestOf(q);
      const page = await eventsPage(deps.pool, where, request_);
      return pageOf(page.rows, request_, page.backwards, eventToWire);
    },
  );
  app.get(
    '/v1/events/:id',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: 'An event',
        description: `One event of the last ${EVENTS_RETENTION_DAYS} days, with its object as it was when the event happened.`,
        tags: ['events'],
        params: z.object({ id: EventId }),
        response: { 200: EventWire, ...errorResponses() },
      },
    },
    async (request) => {
      const event = await getEvent(deps.pool, request.params.id);
      const oldest = Date.now() - EVENTS_RETENTION_DAYS * 86_400_000;
      if (!event || event.created_at.getTime() < oldest) {
        throw new AppError('event_not_found', `no event ${request.params.id}`);
      }
      return eventToWire(event);
    },
  );
}

function redeliverRoute(app: App, deps: EndpointsDeps): void {
  app.post(
    '/v1/events/:id/redeliver',
    {
      // Operators redeliver (issue: an operator also redelivers webhooks); managing endpoints stays admin's.
      config: { auth: { scope: 'ops' } },
      schema: {
        summary: 'Send an event again',
        description:
          'Queues a new delivery of the event, due now, to one endpoint (even one whose filter does not take the type) or to every enabled endpoint that takes it. Moves no money: no Idempotency-Key.',
        tags: ['events'],
        params: z.object({ id: EventId }),
        body: RedeliverBody,
        response: { 200: RedeliverResult, ...errorResponses() },
      },
    },
    async (request) => {
      const event = await getEvent(deps.pool, request.params.id);
      if (!event) throw new AppError('event_not_found', `no event ${request.params.id}`);
      const endpoint = request.body.endpoint;
      if (endpoint !== undefined && !(await getEndpoint(deps.pool, endpoint))) {
        throw new AppError('webhook_endpoint_not_found', `no webhook endpoint ${endpoint}`);
      }
      const rows = await redeliver(deps.pool, event, endpoint);
      deps.log.info({ eventId: event.id, endpoint, deliveries: rows.length }, 'event redelivery queued');
      return {
        object: 'redelivery' as const,
        event: event.id,
        deliveries: rows.map((r) => ({ id: r.id, endpoint: r.endpoint_id })),
      };
    },
  );
}

function endpointWriteRoutes(app: App, deps: EndpointsDeps): void {
  app.post(
    '/v1/webhook_endpoints',
    {
      config: { auth: ADMIN },
      schema: {
        summary: 'Create a webhook endpoint',
        description:
          'Events of the enabled types are POSTed to url, signed with the endpoint’s own secret (Bursar-Signature: t=…,v1=…). The secret is in this answer only. Moves no money: no Idempotency-Key.',
        tags: ['webhook endpoints'],
        body: CreateBody,
        response: { 201: EndpointWithSecretWire, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { endpoint, secret } = await createEndpoint(deps, {
        url: request.body.url,
        enabledEvents: request.body.enabled_events,
        description: request.body.description,
      });
      return reply.code(201).send({ ...endpointToWire(endpoint), secret });
    },
  );
  app.patch(
    '/v1/webhook_endpoints/:id',
    {
      config: { auth: ADMIN },
      schema: {
        summary: 'Change a webhook endpoint',
        description: 'Changes its url, enabled_events or description, or disables / re-enables it.',
        tags: ['webhook endpoints'],
        params: z.object({ id: EndpointId }),
        body: UpdateBody,
        response: { 200: EndpointWire, ...errorResponses() },
      },
    },
    async (request) => {
      const b = request.body;
      const updated = await changeEndpoint(deps, request.params.id, {
        url: b.url,
        description: b.description,
        enabledEvents: b.enabled_events,
        disabled: b.disabled,
      });
      return endpointToWire(updated);
    },
  );
}

function endpointDeleteAndRoll(app: App, deps: EndpointsDeps): void {
  app.delete(
    '/v1/webhook_endpoints/:id',
    {
      config: { auth: ADMIN },
      schema: {
        summary: 'Delete a webhook endpoint',
        description: 'Stops its deliveries (pending ones are canceled); its delivery history is kept.',
        tags: ['webhook endpoints'],
        params: z.object({ id: EndpointId }),
        response: {
          200: z.object({ id: z.string(), object: z.literal('webhook_endpoint'), deleted: z.literal(true) }),
          ...errorResponses(),
        },
      },
    },
    async (request) => {
      if (!(await deleteEndpoint(deps.pool, request.params.id))) {
        throw new AppError('webhook_endpoint_not_found', `no webhook endpoint ${request.params.id}`);
      }
      deps.log.info({ endpointId: request.params.id }, 'webhook endpoint deleted');
      return { id: request.params.id, object: 'webhook_endpoint' as const, deleted: true as const };
    },
  );
  app.post(
    '/v1/webhook_endpoints/:id/roll_secret',
    {
      config: { auth: ADMIN },
      schema: {
        summary: 'Roll a webhook endpoint’s secret',
        description:
          'A new whsec_… secret, shown in this answer only. The old one keeps signing beside it (two v1= in Bursar-Signature) for expires_in_seconds.',
        tags: ['webhook endpoints'],
        params: z.object({ id: EndpointId }),
        body: RollBody,
        response: { 200: EndpointWithSecretWire, ...errorResponses() },
      },
    },
    async (request) => {
      const { endpoint, secret } = await rollEndpointSecret(
        deps,
        request.params.id,
        request.body.expires_in_seconds,
      );
      return { ...endpointToWire(endpoint), secret };
    },
  );
}

function endpointReadRoutes(app: App, deps: EndpointsDeps): void {
  app.get(
    '/v1/webhook_endpoints',
    {
      config: { auth: OPS_READ },
      schema: {
        summary: 'List webhook endpoints',
        description: 'Newest first; cursor pagination. Secrets are never shown.',
        tags: ['webhook endpoints'],
        querystring: PageQuery.strict(),
        response: { 200: EndpointList, ...errorResponses() },
      },
    },
    async (request) => {
      const req = pageRequestOf(request.query);
      const page = await endpointsPage(deps.pool, req);
      return pageOf(page.rows, req, page.backwards, endpointToWire);
    },
  );
  app.get(
    '/v1/webhook_endpoints/:id',
    {
      config: { auth: OPS_READ },
      schema: {
        summary: 'A webhook endpoint',
        description: 'Its url, filter, status and why it was disabled; never its secret.',
        tags: ['webhook endpoints'],
        params: z.object({ id: EndpointId }),
        response: { 200: EndpointWire, ...errorResponses() },
      },
    },
    async (request) => {
      const endpoint = await getEndpoint(deps.pool, request.params.id);
      if (!endpoint)
        throw new AppError('webhook_endpoint_not_found', `no webhook endpoint ${request.params.id}`);
      return endpointToWire(endpoint);
    },
  );
  app.get(
    '/v1/webhook_endpoints/:id/deliveries',
    {
      config: { auth: OPS_READ },
      schema: {
        summary: 'A webhook endpoint’s delivery attempts',
        description:
          'Every try, newest first, with its status code, error, latency and the delivery’s status; cursor pagination.',
        tags: ['webhook endpoints'],
        params: z.object({ id: EndpointId }),
        querystring: PageQuery.strict(),
        response: { 200: AttemptList, ...errorResponses() },
      },
    },
    async (request) => {
      const endpoint = await getEndpoint(deps.pool, request.params.id);
      if (!endpoint)
        throw new AppError('webhook_endpoint_not_found', `no webhook endpoint ${request.params.id}`);
      const req = pageRequestOf(request.query);
      const page = await attemptsPage(deps.pool, endpoint.id, req);
      return pageOf(page.rows, req, page.backwards, attemptToWire);
    },
  );
}
