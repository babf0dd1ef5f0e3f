import type { Queryable } from '../db/pool.ts';
import { randomHexId } from '../random-id.ts';
import { notifyAfterCommit } from '../db/notify.ts';

/** The API version every event is stamped with (the shape of `data.object`); bumped when a wire shape changes. */
export const API_VERSION = '2026-12-01';

/** The channel the sender LISTENs on: a NOTIFY is sent once the event's transaction has committed (db/notify.ts). */
export const EVENTS_CHANNEL = 'bursar_events';

/** How a new event id looks: `evt_` and 24 hex digits. */
export function newEventId(): string {
  return randomHexId('evt', 12);
}

/**
 * Records one event in the caller's transaction: the event row (Stripe's envelope), one pending delivery per
 * enabled webhook endpoint whose `enabled_events` takes the type (`*` takes all), and a NOTIFY that wakes the
 * sender once the transaction has committed (after it, not in it: db/notify.ts). A rolled-back transaction leaves no event, no delivery and no wake-up.
 * `object` is the resource as it is after the change, in its wire shape; it should carry its version or
 * updated time, so a receiver can drop a stale event (delivery order is not guaranteed).
 */
export async function recordEvent(
  db: Queryable,
  type: string,
  object: Record<string, unknown>,
): Promise<string> {
  const [id] = await recordEvents(db, [{ type, object }]);
  if (id === undefined) throw new Error('recordEvents returned no id for one event');
  return id;
}

/**
 * Records many events in the caller's transaction in one round trip (a payout run's `payout.created` for a whole
 * page): the same rows as `recordEvent` for each, written in the order given (their `seq` follows it), and one
 * NOTIFY for the batch. Returns the new ids, in the same order.
 */
export async function recordEvents(
  db: Queryable,
  events: Array<{ type: string; object: Record<string, unknown> }>,
): Promise<string[]> {
  if (events.length === 0) return [];
  const ids = events.map(() => newEventId());
  await db.query(
    `WITH ev AS (
       INSERT INTO events.events (id, type, api_version, data)
       SELECT x.id, x.type, $3, d.data
         FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x(id, type, n)
         JOIN jsonb_array_elements($4::jsonb) WITH ORDINALITY AS d(data, n) ON d.n = x.n
        ORDER BY x.n
       RETURNING id, type
     ), fan AS (
       INSERT INTO events.deliveries (id, event_id, endpoint_id)
       SELECT 'whd_' || translate(substr(md5(ev.id || e.id || random()::text), 1, 24), '0123456789', 'ghijklmnop'), ev.id, e.id
         FROM ev JOIN events.webhook_endpoints e
           ON e.deleted_at IS NULL AND e.status = 'enabled'
          AND events.takes(e.enabled_events, ev.type)
       RETURNING 1
     )
     SELECT count(*) FROM ev`,
    // The bodies as one JSON array: parsed once by the server, not escaped element by element into an array.
    [ids, events.map((e) => e.type), API_VERSION, JSON.stringify(events.map((e) => ({ object: e.object })))],
  );
  await notifyAfterCommit(db, EVENTS_CHANNEL);
  return ids;
}
