import type { Queryable } from '../db/pool.ts';

/** One write, as the audit log keeps it: who, what, when, the object before and after. */
export interface AuditRecord {
  id: string;
  at: Date;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

export interface AuditInput {
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  before?: unknown;
  after?: unknown;
  requestId?: string | undefined;
}

/** Appends a record, in the caller's transaction when `db` is one (so the record exists exactly when the write does). */
export async function recordAudit(db: Queryable, input: AuditInput): Promise<void> {
  await db.query(
    `INSERT INTO operators.audit_log (actor, action, target_type, target_id, before, after, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      input.actor,
      input.action,
      input.targetType,
      input.targetId,
      input.before === undefined ? null : JSON.stringify(input.before),
      input.after === undefined ? null : JSON.stringify(input.after),
      input.requestId ?? null,
    ],
  );
}

export interface AuditFilter {
  actor?: string | undefined;
  action?: string | undefined;
  targetType?: string | undefined;
  targetId?: string | undefined;
  /** Records with an id below this one (the cursor of the previous page). */
  beforeId?: string | undefined;
  limit: number;
}

interface AuditRow {
  id: string;
  at: Date;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  before: unknown;
  after: unknown;
  request_id: string | null;
}

/** Newest first, filtered; `limit + 1` rows tell whether there is more. */
export async function listAudit(db: Queryable, filter: AuditFilter): Promise<AuditRecord[]> {
  const result = await db.query<AuditRow>(
    `SELECT id::text, at, actor, action, target_type, target_id, before, after, request_id
       FROM operators.audit_log
      WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR action = $2)
        AND ($3::text IS NULL OR target_type = $3) AND ($4::text IS NULL OR target_id = $4)
        AND ($5::bigint IS NULL OR id < $5)
      ORDER BY id DESC LIMIT $6`,
    [
      filter.actor ?? null,
      filter.action ?? null,
      filter.targetType ?? null,
      filter.targetId ?? null,
      filter.beforeId ?? null,
      filter.limit,
    ],
  );
  return result.rows.map((row) => ({
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    before: row.before,
    after: row.after,
    requestId: row.request_id,
  }));
}
