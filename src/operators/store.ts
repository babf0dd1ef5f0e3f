import type { Queryable } from '../db/pool.ts';

export type OperatorRole = 'viewer' | 'operator' | 'admin';
export const OPERATOR_ROLES: readonly OperatorRole[] = ['viewer', 'operator', 'admin'];

export interface Operator {
  id: string;
  email: string;
  role: OperatorRole;
  createdAt: Date;
  disabledAt: Date | null;
}

interface OperatorRow {
  id: string;
  email: string;
  role: OperatorRole;
  password_hash: string;
  created_at: Date;
  disabled_at: Date | null;
}

function toOperator(row: OperatorRow): Operator {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    createdAt: row.created_at,
    disabledAt: row.disabled_at,
  };
}

export async function insertOperator(
  db: Queryable,
  input: { id: string; email: string; role: OperatorRole; passwordHash: string },
): Promise<Operator | undefined> {
  const result = await db.query<OperatorRow>(
    `INSERT INTO operators.operators (id, email, role, password_hash) VALUES ($1, $2, $3, $4)
     ON CONFLICT (email) DO NOTHING RETURNING *`,
    [input.id, input.email, input.role, input.passwordHash],
  );
  const row = result.rows[0];
  return row ? toOperator(row) : undefined;
}

export async function findOperatorByEmail(
  db: Queryable,
  email: string,
): Promise<(Operator & { passwordHash: string }) | undefined> {
  const result = await db.query<OperatorRow>('SELECT * FROM operators.operators WHERE email = $1', [email]);
  const row = result.rows[0];
  return row ? { ...toOperator(row), passwordHash: row.password_hash } : undefined;
}

export async function findOperatorById(db: Queryable, id: string): Promise<Operator | undefined> {
  const result = await db.query<OperatorRow>('SELECT * FROM operators.operators WHERE id = $1 FOR UPDATE', [
    id,
  ]);
  const row = result.rows[0];
  return row ? toOperator(row) : undefined;
}

export async function listOperators(db: Queryable): Promise<Operator[]> {
  const result = await db.query<OperatorRow>('SELECT * FROM operators.operators ORDER BY created_at, id');
  return result.rows.map(toOperator);
}

export async function setOperatorDisabled(db: Queryable, email: string, disabled: boolean): Promise<boolean> {
  const result = await db.query(
    `UPDATE operators.operators SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) END
     WHERE email = $1`,
    [email, disabled],
  );
  if (disabled) {
    await db.query(
      `UPDATE operators.sessions s SET revoked_at = now() FROM operators.operators o
       WHERE o.id = s.operator_id AND o.email = $1 AND s.revoked_at IS NULL`,
      [email],
    );
  }
  return result.rowCount === 1;
}

export async function insertSession(
  db: Queryable,
  input: { tokenHash: Buffer; operatorId: string; csrfHash: Buffer; ttlSeconds: number },
): Promise<Date> {
  const result = await db.query<{ expires_at: Date }>(
    `INSERT INTO operators.sessions (token_hash, operator_id, csrf_hash, expires_at)
     VALUES ($1, $2, $3, now() + make_interval(secs => $4)) RETURNING expires_at`,
    [input.tokenHash, input.operatorId, input.csrfHash, input.ttlSeconds],
  );
  const row = result.rows[0];
  if (!row) throw new Error('session insert returned no row');
  return row.expires_at;
}

export interface SessionRecord {
  operator: Operator;
  csrfHash: Buffer;
  expiresAt: Date;
}

/** The live session of `tokenHash`: not expired, not revoked, its operator not disabled. */
export async function findLiveSession(db: Queryable, tokenHash: Buffer): Promise<SessionRecord | undefined> {
  const result = await db.query<OperatorRow & { csrf_hash: Buffer; expires_at: Date }>(
    `SELECT o.*, s.csrf_hash, s.expires_at FROM operators.sessions s
       JOIN operators.operators o ON o.id = s.operator_id
      WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now() AND o.disabled_at IS NULL`,
    [tokenHash],
  );
  const row = result.rows[0];
  return row ? { operator: toOperator(row), csrfHash: row.csrf_hash, expiresAt: row.expires_at } : undefined;
}

export async function revokeSession(db: Queryable, tokenHash: Buffer): Promise<void> {
  await db.query(
    'UPDATE operators.sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL',
    [tokenHash],
  );
}

export async function recordSignInFailure(db: Queryable, email: string, clientIp: string): Promise<void> {
  await db.query('INSERT INTO operators.sign_in_failures (email, client_ip) VALUES ($1, $2)', [
    email,
    clientIp,
  ]);
}

/** Failed sign-ins in the last `windowSeconds`, for the address tried and for the client address. */
export async function recentFailures(
  db: Queryable,
  email: string,
  clientIp: string,
  windowSeconds: number,
): Promise<{ byEmail: number; byIp: number; oldest: Date | null }> {
  const result = await db.query<{ by_email: number; by_ip: number; oldest: Date | null }>(
    `SELECT count(*) FILTER (WHERE email = $1)::int AS by_email, count(*) FILTER (WHERE client_ip = $2)::int AS by_ip,
            min(at) AS oldest
       FROM operators.sign_in_failures
      WHERE (email = $1 OR client_ip = $2) AND at > now() - make_interval(secs => $3)`,
    [email, clientIp, windowSeconds],
  );
  const row = result.rows[0];
  return { byEmail: row?.by_email ?? 0, byIp: row?.by_ip ?? 0, oldest: row?.oldest ?? null };
}

export async function clearFailures(db: Queryable, email: string): Promise<void> {
  await db.query('DELETE FROM operators.sign_in_failures WHERE email = $1', [email]);
}

/** Expired sessions and old failures: kept a day past their use for investigation, then removed. */
export async function purgeOperatorState(db: Queryable): Promise<void> {
  await db.query(`DELETE FROM operators.sessions WHERE expires_at < now() - interval '1 day'`);
  await db.query(`DELETE FROM operators.sign_in_failures WHERE at < now() - interval '1 day'`);
}
