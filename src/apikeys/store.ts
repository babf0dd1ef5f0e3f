import { preparedQuery, type Queryable } from '../db/pool.ts';
import type { Scope } from './scopes.ts';
import { isScope } from './scopes.ts';

export interface ApiKeyRecord {
  id: string;
  name: string;
  hint: string;
  scopes: Scope[];
  createdAt: Date;
  revokedAt: Date | null;
}

interface Row {
  id: string;
  name: string;
  hint: string;
  scopes: string[];
  created_at: Date;
  revoked_at: Date | null;
}

function toRecord(row: Row): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    hint: row.hint,
    scopes: row.scopes.filter(isScope),
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

export async function insertKey(
  db: Queryable,
  key: { id: string; name: string; secretHash: Buffer; hint: string; scopes: Scope[] },
): Promise<boolean> {
  const result = await db.query(
    `INSERT INTO core.api_keys (id, name, secret_hash, hint, scopes) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (secret_hash) DO NOTHING`,
    [key.id, key.name, key.secretHash, key.hint, key.scopes],
  );
  return result.rowCount === 1;
}

export async function findActiveByHash(db: Queryable, secretHash: Buffer): Promise<ApiKeyRecord | undefined> {
  // Every authenticated request runs it: prepared, so each connection plans it once.
  const result = await preparedQuery<Row>(
    db,
    'apikeys_find_active',
    'SELECT id, name, hint, scopes, created_at, revoked_at FROM core.api_keys WHERE secret_hash = $1 AND revoked_at IS NULL',
    [secretHash],
  );
  const row = result.rows[0];
  return row ? toRecord(row) : undefined;
}

export async function findByHash(db: Queryable, secretHash: Buffer): Promise<ApiKeyRecord | undefined> {
  const result = await db.query<Row>(
    'SELECT id, name, hint, scopes, created_at, revoked_at FROM core.api_keys WHERE secret_hash = $1',
    [secretHash],
  );
  const row = result.rows[0];
  return row ? toRecord(row) : undefined;
}

export async function revokeKey(
  db: Queryable,
  id: string,
): Promise<'revoked' | 'already_revoked' | 'not_found'> {
  const result = await db.query<{ was_revoked: boolean }>(
    `UPDATE core.api_keys k SET revoked_at = COALESCE(k.revoked_at, now())
     FROM (SELECT id, revoked_at IS NOT NULL AS was_revoked FROM core.api_keys WHERE id = $1 FOR UPDATE) old
     WHERE k.id = old.id RETURNING old.was_revoked`,
    [id],
  );
  const row = result.rows[0];
  if (!row) return 'not_found';
  return row.was_revoked ? 'already_revoked' : 'revoked';
}

export async function listKeys(db: Queryable): Promise<ApiKeyRecord[]> {
  const result = await db.query<Row>(
    'SELECT id, name, hint, scopes, created_at, revoked_at FROM core.api_keys ORDER BY created_at, id',
  );
  return result.rows.map(toRecord);
}

export async function countKeys(db: Queryable): Promise<number> {
  const result = await db.query<{ n: bigint }>('SELECT count(*)::int8 AS n FROM core.api_keys');
  return Number(result.rows[0]?.n ?? 0n);
}
