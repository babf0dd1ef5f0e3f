import type pg from 'pg';
import { preparedQuery, type Queryable } from '../src/db/pool.ts';
import type { WebhookTarget } from './config.ts';

/** A Stripe object as the sandbox keeps it: the public JSON plus what only the sandbox knows. */
export interface StoredObject {
  id: string;
  object: string;
  created: number;
  data: Record<string, unknown>;
  internal: Record<string, unknown>;
}

interface ObjectRow {
  id: string;
  object: string;
  created: bigint;
  data: Record<string, unknown>;
  internal: Record<string, unknown>;
}

function fromRow(row: ObjectRow): StoredObject {
  return {
    id: row.id,
    object: row.object,
    created: Number(row.created),
    data: row.data,
    internal: row.internal,
  };
}

/** A row as it will be written: the object's JSON taken when it was inserted or saved. */
interface PendingRow {
  id: string;
  object: string;
  created: number;
  data: string;
  internal: string;
  /** For an event whose destinations the flush finds (no webhook faults): its type. */
  autoEvent: string | null;
}

/** A webhook delivery decided in JS (under webhook faults), written with the next flush. */
export interface PendingDelivery {
  eventId: string;
  eventType: string;
  destination: string;
  url: string;
  secret: string;
  status: 'pending' | 'dropped';
  nextAttemptAt: Date;
}

/**
 * What a request ends with besides its objects: its Idempotency-Key with the answer to replay. The key is
 * inserted by the same statement as the request's writes, and they are written only if it was (a key used
 * before, or by a request still running, is waited for and then leaves everything unwritten).
 */
export interface FinalWrite {
  idempotency?: {
    apiKeyHash: string;
    key: string;
    method: string;
    path: string;
    fingerprint: string;
    status: number;
    body: string;
  };
}

/**
 * One API request's writes to `sandbox.objects` and its webhook deliveries, held in memory and sent in ONE
 * statement at the end of the request (or earlier, before any other statement that could see them: every
 * `query` through this object flushes first), instead of a round trip per insert, update and event. Reads of a
 * row written here are answered from memory. Each object's JSON is taken when it is inserted or saved, as the
 * immediate writes did, so a later change to the JS object that was not saved is not written either.
 *
 * Events whose destinations need no JS decision (no webhook faults configured) are written with their
 * deliveries by the same statement: the webhook endpoints are read inside it, and `pending_webhooks` set from
 * them, so the result is the one `emitEvent`'s row-by-row writes gave.
 */
export class BufferedWrites implements Queryable {
  private inserts = new Map<string, PendingRow>();
  private updates = new Map<string, PendingRow>();
  private deliveries: PendingDelivery[] = [];
  private autoAt: Date | undefined;
  private began = false;

  /**
   * `inner` is a connection with no transaction open: one is begun (`BEGIN`) only when the request needs one —
   * before any other statement that could write or lock (`query`), a locking read, or writes sent before the
   * end. A request whose only writes are its final flush needs none: that one statement is atomic by itself.
   */
  constructor(
    readonly inner: Queryable,
    private readonly configTargets: ReadonlyArray<WebhookTarget>,
  ) {}

  /** Whether a transaction was begun (the caller ends it: `COMMIT` or `ROLLBACK`). */
  inTransaction(): boolean {
    return this.began;
  }

  /** Begins the request's transaction, if not yet. */
  async begin(): Promise<void> {
    if (this.began) return;
    await this.inner.query('BEGIN');
    this.began = true;
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    await this.begin();
    await this.flush();
    return await this.inner.query<R>(text, values);
  }

  insert(object: StoredObject, autoEvent: string | null = null): void {
    if (autoEvent !== null) this.autoAt ??= new Date();
    this.inserts.set(object.id, {
      id: object.id,
      object: object.object,
      created: object.created,
      data: JSON.stringify(object.data),
      internal: JSON.stringify(object.internal),
      autoEvent,
    });
  }

  save(object: StoredObject): void {
    const inserted = this.inserts.get(object.id);
    const row = {
      id: object.id,
      object: object.object,
      created: object.created,
      data: JSON.stringify(object.data),
      internal: JSON.stringify(object.internal),
      autoEvent: inserted?.autoEvent ?? null,
    };
    // A row inserted by this request is still only in memory: its insert carries the new JSON.
    if (inserted !== undefined) this.inserts.set(object.id, row);
    else this.updates.set(object.id, row);
  }

  deliver(delivery: PendingDelivery): void {
    this.deliveries.push(delivery);
  }

  /** The row as this request wrote it, when it did; `locking` reads of an updated (not inserted) row go to the database. */
  pending(id: string, locking: boolean): PendingRow | 'flush' | undefined {
    const inserted = this.inserts.get(id);
    if (inserted !== undefined) return inserted;
    const updated = this.updates.get(id);
    if (updated === undefined) return undefined;
    return locking ? 'flush' : updated;
  }

  /**
   * Writes everything held (and `final`) in one statement; false when `final`'s Idempotency-Key was taken, and
   * nothing was written. Held writes sent before the end go in the request's transaction (begun here).
   */
  async flush(final: FinalWrite = {}): Promise<boolean> {
    if (
      this.inserts.size === 0 &&
      this.updates.size === 0 &&
      this.deliveries.length === 0 &&
      final.idempotency === undefined
    )
      return true;
    if (final.idempotency === undefined) await this.begin();
    const inserts = [...this.inserts.values()];
    const updates = [...this.updates.values()];
    const deliveries = this.deliveries;
    const autoAt = this.autoAt ?? new Date();
    this.inserts = new Map();
    this.updates = new Map();
    this.deliveries = [];
    this.autoAt = undefined;
    const idem = final.idempotency;
    const written = await preparedQuery<{ ok: boolean }>(this.inner, 'sandbox_flush_writes', FLUSH_SQL, [
      inserts.map((row) => row.id),
      inserts.map((row) => row.object),
      inserts.map((row) => row.created),
      inserts.map((row) => row.data),
      inserts.map((row) => row.internal),
      inserts.map((row) => row.autoEvent),
      this.configTargets.map((target) => target.url),
      this.configTargets.map((target) => target.secret),
      autoAt,
      deliveries.map((d) => d.eventId),
      deliveries.map((d) => d.eventType),
      deliveries.map((d) => d.destination),
      deliveries.map((d) => d.url),
      deliveries.map((d) => d.secret),
      deliveries.map((d) => d.status),
      deliveries.map((d) => d.nextAttemptAt),
      updates.map((row) => row.id),
      updates.map((row) => row.data),
      updates.map((row) => row.internal),
      idem?.apiKeyHash ?? null,
      idem?.key ?? null,
      idem?.status ?? null,
      idem?.body ?? null,
      idem?.method ?? null,
      idem?.path ?? null,
      idem?.fingerprint ?? null,
      this.configTargets.map((target) => target.enabledEvents?.join(',') ?? null),
    ]);
    return written.rows[0]?.ok === true;
  }
}

/**
 * The flush of `BufferedWrites`: the objects in the order they were made (their `seq`), the automatic events'
 * deliveries (API endpoints that want the type, newest first, then the configured targets, per event in order)
 * with `pending_webhooks` counted from them, the deliveries decided in JS, the updates, and the saved response.
 */
const FLUSH_SQL = `
WITH claim AS (
  INSERT INTO sandbox.idempotency_keys (api_key_hash, key, method, path, fingerprint, status, body)
  SELECT $20, $21, $24, $25, $26, $22, $23 WHERE $21::text IS NOT NULL
  ON CONFLICT DO NOTHING RETURNING 1
),
gate AS (SELECT $21::text IS NULL OR EXISTS (SELECT 1 FROM claim) AS ok),
src AS (
  SELECT s.* FROM unnest($1::text[], $2::text[], $3::int8[], $4::jsonb[], $5::jsonb[], $6::text[])
    WITH ORDINALITY AS s(id, object, created, data, internal, auto_event, n)
   WHERE (SELECT ok FROM gate)
),
dest AS (
  SELECT o.id, o.data ->> 'url' AS url, o.internal ->> 'secret' AS secret, o.data -> 'enabled_events' AS wanted,
         row_number() OVER (ORDER BY o.created DESC, o.seq DESC) AS k
    FROM sandbox.objects o
   WHERE o.object = 'webhook_endpoint' AND o.data ->> 'status' = 'enabled'
     AND EXISTS (SELECT 1 FROM src WHERE src.auto_event IS NOT NULL)
   ORDER BY o.created DESC, o.seq DESC
   LIMIT 1000
),
targets AS (
  SELECT s.n AS event_n, s.id AS event_id, s.auto_event AS event_type, d.id AS destination, d.url, d.secret, d.k
    FROM src s JOIN dest d
      ON jsonb_typeof(d.wanted) = 'array' AND (d.wanted ? '*' OR d.wanted ? s.auto_event)
   WHERE s.auto_event IS NOT NULL
  UNION ALL
  SELECT s.n, s.id, s.auto_event, 'config:' || (c.n - 1), c.url, c.secret, 1000000 + c.n
    FROM src s CROSS JOIN unnest($7::text[], $8::text[], $27::text[]) WITH ORDINALITY AS c(url, secret, wanted, n)
   WHERE s.auto_event IS NOT NULL
     AND (c.wanted IS NULL OR s.auto_event = ANY (string_to_array(c.wanted, ',')))
),
ins AS (
  INSERT INTO sandbox.objects (id, object, created, data, internal)
  SELECT s.id, s.object, s.created,
         CASE WHEN s.auto_event IS NULL THEN s.data
              ELSE jsonb_set(s.data, '{pending_webhooks}', to_jsonb((SELECT count(*) FROM targets t WHERE t.event_n = s.n)))
         END,
         s.internal
    FROM src s ORDER BY s.n
),
dlv AS (
  INSERT INTO sandbox.webhook_deliveries (event_id, event_type, destination, url, secret, status, next_attempt_at)
  SELECT event_id, event_type, destination, url, secret, status, at FROM (
    SELECT t.event_id, t.event_type, t.destination, t.url, t.secret, 'pending' AS status, $9::timestamptz AS at,
           t.event_n AS n, t.k
      FROM targets t
    UNION ALL
    SELECT x.event_id, x.event_type, x.destination, x.url, x.secret, x.status, x.at, 1000000 + x.n, 0
      FROM unnest($10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::timestamptz[])
        WITH ORDINALITY AS x(event_id, event_type, destination, url, secret, status, at, n)
     WHERE (SELECT ok FROM gate)
  ) d ORDER BY n, k
),
upd AS (
  UPDATE sandbox.objects o SET data = u.data, internal = u.internal
    FROM unnest($17::text[], $18::jsonb[], $19::jsonb[]) AS u(id, data, internal)
   WHERE o.id = u.id AND (SELECT ok FROM gate)
)
SELECT ok FROM gate`;

export async function insertObject(db: Queryable, object: StoredObject): Promise<void> {
  if (db instanceof BufferedWrites) {
    db.insert(object);
    return;
  }
  await db.query(
    'INSERT INTO sandbox.objects (id, object, created, data, internal) VALUES ($1, $2, $3, $4, $5)',
    [object.id, object.object, object.created, JSON.stringify(object.data), JSON.stringify(object.internal)],
  );
}

/**
 * Inserts the object unless its id exists, and returns the stored one of that kind (one statement, two when a
 * concurrent first use raced it): Stripe's fixed test PaymentMethods (`pm_card_visa`…) are made on first use.
 */
export async function ensureObject(db: Queryable, object: StoredObject): Promise<StoredObject | undefined> {
  const result = await preparedQuery<ObjectRow>(
    db instanceof BufferedWrites ? db.inner : db,
    'sandbox_ensure_object',
    `WITH ins AS (
       INSERT INTO sandbox.objects (id, object, created, data, internal) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO NOTHING RETURNING id, object, created, data, internal)
     SELECT id, object, created, data, internal FROM ins
     UNION ALL
     SELECT id, object, created, data, internal FROM sandbox.objects
      WHERE id = $1 AND object = $2 AND NOT EXISTS (SELECT 1 FROM ins)`,
    [object.id, object.object, object.created, JSON.stringify(object.data), JSON.stringify(object.internal)],
  );
  const row = result.rows[0];
  if (row !== undefined) return fromRow(row);
  // Another connection inserted the same id while this statement ran: the INSERT waited for it and did nothing,
  // and the SELECT's snapshot, taken before, cannot see its row. A new statement sees it.
  return getObject(db, object.id, { kind: object.object });
}

export async function getObject(
  db: Queryable,
  id: string,
  options: { kind?: string; forUpdate?: boolean } = {},
): Promise<StoredObject | undefined> {
  if (db instanceof BufferedWrites) {
    // A lock is held only inside a transaction.
    if (options.forUpdate === true) await db.begin();
    const pending = db.pending(id, options.forUpdate === true);
    if (pending === 'flush') await db.flush();
    else if (pending !== undefined) {
      if (options.kind !== undefined && pending.object !== options.kind) return undefined;
      return {
        id: pending.id,
        object: pending.object,
        created: pending.created,
        data: JSON.parse(pending.data) as Record<string, unknown>,
        internal: JSON.parse(pending.internal) as Record<string, unknown>,
      };
    }
    // A row this request did not write: reading it needs nothing written first.
    return await getObject(db.inner, id, options);
  }
  const result = await db.query<ObjectRow>(
    `SELECT id, object, created, data, internal FROM sandbox.objects WHERE id = $1${options.kind ? ' AND object = $2' : ''}${
      options.forUpdate ? ' FOR UPDATE' : ''
    }`,
    options.kind ? [id, options.kind] : [id],
  );
  const row = result.rows[0];
  return row === undefined ? undefined : fromRow(row);
}

export async function saveObject(db: Queryable, object: StoredObject): Promise<void> {
  if (db instanceof BufferedWrites) {
    db.save(object);
    return;
  }
  await db.query('UPDATE sandbox.objects SET data = $2, internal = $3 WHERE id = $1', [
    object.id,
    JSON.stringify(object.data),
    JSON.stringify(object.internal),
  ]);
}

export interface ListQuery {
  kind: string;
  /** Equality on top-level fields of `data` (string comparison of the JSON scalar). */
  equals?: Record<string, string>;
  /** Equality on fields of `internal`. */
  internalEquals?: Record<string, string>;
  /** `data.field` must be one of these. */
  anyOf?: { field: string; values: string[] };
  /** Equality on metadata keys. */
  metadata?: Record<string, string>;
  created?: { gt?: number; gte?: number; lt?: number; lte?: number };
  /** Range on a numeric top-level field of `data` (e.g. `arrival_date`). */
  numericRanges?: Array<{ field: string; gt?: number; gte?: number; lt?: number; lte?: number }>;
  limit: number;
  startingAfter?: string;
  endingBefore?: string;
}

/** Lists newest first (created, then insertion order), with Stripe's cursor pagination. */
export async function listObjects(
  db: Queryable,
  query: ListQuery,
): Promise<{ rows: StoredObject[]; hasMore: boolean }> {
  const where: string[] = ['object = $1'];
  const values: unknown[] = [query.kind];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  for (const [field, value] of Object.entries(query.equals ?? {}))
    where.push(`data ->> ${param(field)} = ${param(value)}`);
  for (const [field, value] of Object.entries(query.internalEquals ?? {}))
    where.push(`internal ->> ${param(field)} = ${param(value)}`);
  if (query.anyOf)
    where.push(`data ->> ${param(query.anyOf.field)} = ANY(${param(query.anyOf.values)}::text[])`);
  if (query.metadata && Object.keys(query.metadata).length > 0) {
    where.push(`data -> 'metadata' @> ${param(JSON.stringify(query.metadata))}::jsonb`);
  }
  const range = (column: string, bounds: { gt?: number; gte?: number; lt?: number; lte?: number }) => {
    if (bounds.gt !== undefined) where.push(`${column} > ${param(bounds.gt)}`);
    if (bounds.gte !== undefined) where.push(`${column} >= ${param(bounds.gte)}`);
    if (bounds.lt !== undefined) where.push(`${column} < ${param(bounds.lt)}`);
    if (bounds.lte !== undefined) where.push(`${column} <= ${param(bounds.lte)}`);
  };
  if (query.created) range('created', query.created);
  for (const numeric of query.numericRanges ?? [])
    range(`(data ->> ${param(numeric.field)})::bigint`, numeric);
  let order = 'DESC';
  if (query.startingAfter !== undefined) {
    where.push(
      `(created, seq) < (SELECT created, seq FROM sandbox.objects WHERE id = ${param(query.startingAfter)})`,
    );
  } else if (query.endingBefore !== undefined) {
    where.push(
      `(created, seq) > (SELECT created, seq FROM sandbox.objects WHERE id = ${param(query.endingBefore)})`,
    );
    order = 'ASC';
  }
  const result = await db.query<ObjectRow>(
    `SELECT id, object, created, data, internal FROM sandbox.objects WHERE ${where.join(' AND ')}
      ORDER BY created ${order}, seq ${order} LIMIT ${param(query.limit + 1)}`,
    values,
  );
  const rows = result.rows.slice(0, query.limit).map(fromRow);
  // `ending_before` walks backwards; the page is still shown newest first.
  if (order === 'ASC') rows.reverse();
  return { rows, hasMore: result.rows.length > query.limit };
}

export async function objectExists(db: Queryable, id: string): Promise<boolean> {
  const result = await db.query('SELECT 1 FROM sandbox.objects WHERE id = $1', [id]);
  return result.rows.length > 0;
}

// Idempotency keys.

export interface SavedResponse {
  method: string;
  path: string;
  fingerprint: string;
  status: number;
  body: string;
}

/** The answer saved under an idempotency key, when the key was used. */
export async function savedResponse(
  db: Queryable,
  apiKeyHash: string,
  key: string,
): Promise<SavedResponse | undefined> {
  const saved = await db.query<SavedResponse>(
    'SELECT method, path, fingerprint, status, body FROM sandbox.idempotency_keys WHERE api_key_hash = $1 AND key = $2',
    [apiKeyHash, key],
  );
  return saved.rows[0];
}

/** Stripe forgets idempotency keys after 24 hours. */
export async function pruneIdempotencyKeys(db: Queryable, olderThan: Date): Promise<void> {
  await db.query('DELETE FROM sandbox.idempotency_keys WHERE created_at < $1', [olderThan]);
}

// Small named state.

export async function readState<T>(db: Queryable, key: string): Promise<T | undefined> {
  const result = await db.query<{ value: T }>('SELECT value FROM sandbox.state WHERE key = $1', [key]);
  return result.rows[0]?.value;
}

export async function writeState(db: Queryable, key: string, value: unknown): Promise<void> {
  await db.query(
    'INSERT INTO sandbox.state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value',
    [key, JSON.stringify(value)],
  );
}
