import type { Queryable } from '../db/pool.ts';
import { keysetRows, type Filter } from '../http/list-query.ts';
import type { PageRequest } from '../http/pagination.ts';
import { notifyAfterCommit } from '../db/notify.ts';
import { EVENTS_CHANNEL } from './record.ts';

export interface EventRow {
  id: string;
  type: string;
  api_version: string;
  data: { object: Record<string, unknown> };
  created_at: Date;
}

export interface EndpointRow {
  id: string;
  url: string;
  description: string | null;
  enabled_events: string[];
  status: 'enabled' | 'disabled';
  disabled_reason: string | null;
  source: 'api' | 'env';
  secret_enc: string;
  previous_secret_enc: string | null;
  previous_secret_until: Date | null;
  consecutive_failures: number;
  created_at: Date;
  updated_at: Date;
}

export interface AttemptRow {
  id: string;
  delivery_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  succeeded: boolean;
  status_code: number | null;
  error: string | null;
  latency_ms: number;
  created_at: Date;
  delivery_status: string;
}

const EVENT_COLUMNS = 'e.id, e.type, e.api_version, e.data, e.created_at';
const ENDPOINT_COLUMNS = `w.id, w.url, w.description, w.enabled_events, w.status, w.disabled_reason, w.source,
  w.secret_enc, w.previous_secret_enc, w.previous_secret_until, w.consecutive_failures, w.created_at, w.updated_at`;

export async function getEvent(db: Queryable, id: string): Promise<EventRow | undefined> {
  const result = await db.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events.events e WHERE e.id = $1`, [
    id,
  ]);
  return result.rows[0];
}

export function eventsPage(db: Queryable, where: Filter[], request: PageRequest) {
  return keysetRows<EventRow>(db, {
    table: { name: 'events.events', alias: 'e', id: 'id', created: 'created_at' },
    columns: EVENT_COLUMNS,
    where,
    request,
  });
}

export async function getEndpoint(
  db: Queryable,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<EndpointRow | undefined> {
  const result = await db.query<EndpointRow>(
    `SELECT ${ENDPOINT_COLUMNS} FROM events.webhook_endpoints w WHERE w.id = $1 AND w.deleted_at IS NULL
     ${options.forUpdate === true ? 'FOR UPDATE' : ''}`,
    [id],
  );
  return result.rows[0];
}

export function endpointsPage(db: Queryable, request: PageRequest) {
  return keysetRows<EndpointRow>(db, {
    table: { name: 'events.webhook_endpoints', alias: 'w', id: 'id', created: 'created_at' },
    columns: ENDPOINT_COLUMNS,
    where: [{ sql: (p) => `(w.deleted_at IS NULL) = ${p}::boolean`, value: true }],
    request,
  });
}

export async function insertEndpoint(
  db: Queryable,
  row: {
    id: string;
    url: string;
    description: string | null;
    enabledEvents: string[];
    secretEnc: string;
    source: 'api' | 'env';
  },
): Promise<EndpointRow> {
  const result = await db.query<EndpointRow>(
    `INSERT INTO events.webhook_endpoints AS w (id, url, description, enabled_events, secret_enc, source)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${ENDPOINT_COLUMNS}`,
    [row.id, row.url, row.description, row.enabledEvents, row.secretEnc, row.source],
  );
  const inserted = result.rows[0];
  if (inserted === undefined) throw new Error('insert returned no row');
  return inserted;
}

export interface EndpointChange {
  url?: string | undefined;
  description?: string | null | undefined;
  enabledEvents?: string[] | undefined;
  status?: 'enabled' | 'disabled' | undefined;
  disabledReason?: string | null | undefined;
}

export async function updateEndpoint(
  db: Queryable,
  id: string,
  change: EndpointChange,
): Promise<EndpointRow | undefined> {
  const result = await db.query<EndpointRow>(
    `UPDATE events.webhook_endpoints w
        SET url = COALESCE($2, url),
            description = CASE WHEN $3::boolean THEN $4 ELSE description END,
            enabled_events = COALESCE($5, enabled_events),
            status = COALESCE($6, status),
            disabled_reason = CASE WHEN $6 IS NULL THEN disabled_reason ELSE $7 END,
            consecutive_failures = CASE WHEN $6 = 'enabled' THEN 0 ELSE consecutive_failures END,
            updated_at = now()
      WHERE id = $1 AND deleted_at IS NULL
      RETURNING ${ENDPOINT_COLUMNS}`,
    [
      id,
      change.url ?? null,
      change.description !== undefined,
      change.description ?? null,
      change.enabledEvents ?? null,
      change.status ?? null,
      change.disabledReason ?? null,
    ],
  );
  return result.rows[0];
}

/** Deletes an endpoint (kept as a tombstone for its delivery history) and cancels its pending deliveries. */
export async function deleteEndpoint(db: Queryable, id: string): Promise<boolean> {
  const result = await db.query(
    `WITH gone AS (
       UPDATE events.webhook_endpoints SET deleted_at = now(), status = 'disabled', updated_at = now()
        WHERE id = $1 AND deleted_at IS NULL RETURNING id
     )
     UPDATE events.deliveries d SET status = 'canceled', finished_at = now(), last_error = 'endpoint deleted'
       FROM gone WHERE d.endpoint_id = gone.id AND d.status = 'pending'`,
    [id],
  );
  if ((result.rowCount ?? 0) > 0) return true;
  const check = await db.query(
    'SELECT 1 FROM events.webhook_endpoints WHERE id = $1 AND deleted_at IS NOT NULL',
    [id],
  );
  return (check.rowCount ?? 0) > 0;
}

export async function rollSecret(
  db: Queryable,
  id: string,
  secretEnc: string,
  graceSeconds: number,
): Promise<EndpointRow | undefined> {
  const result = await db.query<EndpointRow>(
    `UPDATE events.webhook_endpoints w
        SET previous_secret_enc = CASE WHEN $3::float8 > 0 THEN secret_enc END,
            previous_secret_until = CASE WHEN $3::float8 > 0 THEN now() + make_interval(secs => $3::float8) END,
            secret_enc = $2, updated_at = now()
      WHERE id = $1 AND deleted_at IS NULL
      RETURNING ${ENDPOINT_COLUMNS}`,
    [id, secretEnc, graceSeconds],
  );
  return result.rows[0];
}

export function attemptsPage(db: Queryable, endpointId: string, request: PageRequest) {
  return keysetRows<AttemptRow>(db, {
    table: { name: 'events.delivery_attempts', alias: 'a', id: 'id', created: 'created_at' },
    columns: `a.id, a.delivery_id, a.endpoint_id, a.event_id, ev.type AS event_type, a.attempt, a.succeeded,
      a.status_code, a.error, a.latency_ms, a.created_at, d.status AS delivery_status`,
    from: `events.delivery_attempts a JOIN events.events ev ON ev.id = a.event_id
           JOIN events.deliveries d ON d.id = a.delivery_id`,
    where: [{ sql: (p) => `a.endpoint_id = ${p}`, value: endpointId }],
    request,
  });
}

/**
 * New deliveries of an event, due now: to `endpointId`, or to every enabled endpoint whose filter takes the
 * event's type. Returns their ids and endpoints.
 */
export async function redeliver(
  db: Queryable,
  event: { id: string; type: string },
  endpointId: string | undefined,
): Promise<Array<{ id: string; endpoint_id: string }>> {
  const result = await db.query<{ id: string; endpoint_id: string }>(
    `INSERT INTO events.deliveries (id, event_id, endpoint_id)
     SELECT 'whd_' || translate(substr(md5($1 || e.id || random()::text || clock_timestamp()::text), 1, 24),
                               '0123456789', 'ghijklmnop'), $1, e.id
       FROM events.webhook_endpoints e
      WHERE e.deleted_at IS NULL
        AND (CASE WHEN $3::text IS NULL
                  THEN e.status = 'enabled' AND events.takes(e.enabled_events, $2)
                  ELSE e.id = $3 END)
     RETURNING id, endpoint_id`,
    [event.id, event.type, endpointId ?? null],
  );
  await notifyAfterCommit(db, EVENTS_CHANNEL);
  return result.rows;
}
