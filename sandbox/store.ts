import type { Queryable } from '../src/db/pool.ts';

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

export async function insertObject(db: Queryable, object: StoredObject): Promise<void> {
  await db.query(
    'INSERT INTO sandbox.objects (id, object, created, data, internal) VALUES ($1, $2, $3, $4, $5)',
    [object.id, object.object, object.created, JSON.stringify(object.data), JSON.stringify(object.internal)],
  );
}

/** Inserts unless the id exists (Stripe's fixed test ids such as `pm_card_visa` are made on first use). */
export async function insertObjectIfAbsent(db: Queryable, object: StoredObject): Promise<void> {
  await db.query(
    'INSERT INTO sandbox.objects (id, object, created, data, internal) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING',
    [object.id, object.object, object.created, JSON.stringify(object.data), JSON.stringify(object.internal)],
  );
}

export async function getObject(
  db: Queryable,
  id: string,
  options: { kind?: string; forUpdate?: boolean } = {},
): Promise<StoredObject | undefined> {
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

/**
 * Claims an idempotency key inside the caller's transaction. A concurrent request with the same key blocks on
 * the unique index until the first commits (then it finds the saved response) or rolls back (then it claims the key).
 * Returns the saved response when the key was used before, undefined when this request now owns it.
 */
export async function claimIdempotencyKey(
  db: Queryable,
  apiKeyHash: string,
  key: string,
  request: { method: string; path: string; fingerprint: string },
): Promise<SavedResponse | undefined> {
  const inserted = await db.query(
    `INSERT INTO sandbox.idempotency_keys (api_key_hash, key, method, path, fingerprint, status, body)
     VALUES ($1, $2, $3, $4, $5, 0, '') ON CONFLICT DO NOTHING RETURNING key`,
    [apiKeyHash, key, request.method, request.path, request.fingerprint],
  );
  if (inserted.rows.length > 0) return undefined;
  const saved = await db.query<SavedResponse>(
    'SELECT method, path, fingerprint, status, body FROM sandbox.idempotency_keys WHERE api_key_hash = $1 AND key = $2',
    [apiKeyHash, key],
  );
  return saved.rows[0];
}

export async function saveIdempotentResponse(
  db: Queryable,
  apiKeyHash: string,
  key: string,
  status: number,
  body: string,
): Promise<void> {
  await db.query(
    'UPDATE sandbox.idempotency_keys SET status = $3, body = $4 WHERE api_key_hash = $1 AND key = $2',
    [apiKeyHash, key, status, body],
  );
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
