import { newId } from './ids.ts';
import type { SandboxCtx } from './context.ts';
import { SANDBOX_API_VERSION } from './context.ts';
import { unixSeconds, type Json } from './objects.ts';
import { BufferedWrites, insertObject, listObjects } from './store.ts';
import type { Faults } from './faults.ts';

/** No webhook fault is configured: every destination gets one delivery, due at once. */
function noWebhookFaults(faults: Faults): boolean {
  const hooks = faults.webhooks;
  return (
    !(hooks.dropRate ?? 0) && !(hooks.duplicateRate ?? 0) && !(hooks.delayMs ?? 0) && hooks.reorder !== true
  );
}

interface Destination {
  id: string;
  url: string;
  secret: string;
}

/** The endpoints created through the API that want `type`, plus the configured targets that take it. */
async function destinationsFor(ctx: SandboxCtx, type: string): Promise<Destination[]> {
  const endpoints = await listObjects(ctx.db, {
    kind: 'webhook_endpoint',
    equals: { status: 'enabled' },
    limit: 1000,
  });
  const fromApi = endpoints.rows
    .filter((row) => {
      const enabled = row.data.enabled_events;
      return Array.isArray(enabled) && (enabled.includes('*') || enabled.includes(type));
    })
    .map((row) => ({ id: row.id, url: String(row.data.url), secret: String(row.internal.secret) }));
  const fromConfig = ctx.config.webhookTargets.flatMap((target, index) =>
    target.enabledEvents === undefined || target.enabledEvents.includes(type)
      ? [{ id: `config:${index}`, url: target.url, secret: target.secret }]
      : [],
  );
  return [...fromApi, ...fromConfig];
}

/**
 * Records an event about `object` (a snapshot, as Stripe's events carry) and queues one delivery per destination in
 * the same transaction. Webhook faults decide here whether a delivery is dropped, doubled or delayed.
 */
export async function emitEvent(
  ctx: SandboxCtx,
  type: string,
  object: Json,
  previousAttributes?: Json,
): Promise<string> {
  const id = newId('evt');
  const created = unixSeconds(ctx.now);
  if (ctx.db instanceof BufferedWrites && noWebhookFaults(ctx.faults.current())) {
    // Written at the end of the request with its deliveries, which that statement finds (and counts in
    // `pending_webhooks`): one delivery per destination, due at once, as below without faults.
    const data = eventData(id, created, type, object, previousAttributes, 0);
    ctx.db.insert({ id, object: 'event', created, data, internal: {} }, type);
    return id;
  }
  const destinations = await destinationsFor(ctx, type);
  const data = eventData(id, created, type, object, previousAttributes, destinations.length);
  await insertObject(ctx.db, { id, object: 'event', created, data, internal: {} });
  const wallNowMs = Date.now();
  for (const destination of destinations) {
    const fate = ctx.faults.decideWebhook();
    if (ctx.db instanceof BufferedWrites) {
      const base = { eventId: id, eventType: type, destination: destination.id, url: destination.url };
      if (fate.copies === 0)
        ctx.db.deliver({
          ...base,
          secret: destination.secret,
          status: 'dropped',
          nextAttemptAt: new Date(wallNowMs),
        });
      for (const delayMs of fate.copies === 0 ? [] : fate.delaysMs)
        ctx.db.deliver({
          ...base,
          secret: destination.secret,
          status: 'pending',
          nextAttemptAt: new Date(wallNowMs + delayMs),
        });
      continue;
    }
    if (fate.copies === 0) {
      await ctx.db.query(
        `INSERT INTO sandbox.webhook_deliveries (event_id, event_type, destination, url, secret, status, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, 'dropped', $6)`,
        [id, type, destination.id, destination.url, destination.secret, new Date(wallNowMs)],
      );
      continue;
    }
    for (const delayMs of fate.delaysMs) {
      await ctx.db.query(
        `INSERT INTO sandbox.webhook_deliveries (event_id, event_type, destination, url, secret, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [id, type, destination.id, destination.url, destination.secret, new Date(wallNowMs + delayMs)],
      );
    }
  }
  return id;
}

/** The event object Stripe sends: `object` as it is now, and how many destinations it goes to. */
function eventData(
  id: string,
  created: number,
  type: string,
  object: Json,
  previousAttributes: Json | undefined,
  pendingWebhooks: number,
): Json {
  return {
    id,
    object: 'event',
    api_version: SANDBOX_API_VERSION,
    created,
    data: previousAttributes === undefined ? { object } : { object, previous_attributes: previousAttributes },
    livemode: false,
    pending_webhooks: pendingWebhooks,
    request: { id: null, idempotency_key: null },
    type,
  };
}
