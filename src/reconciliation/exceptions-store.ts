import type { PoolClient, Queryable } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import { recordEvent } from '../events/index.ts';
import { classOf, jsonSafe, type ExceptionClass, type ExceptionKind, type Finding } from './domain/types.ts';
import { newExceptionId } from './ids.ts';

/** SQL of `recon.exceptions` and its append-only `recon.exception_events` (migrations/0060_reconciliation.sql). */

export type ExceptionStatus = 'open' | 'fixed' | 'resolved';

export interface ReconException {
  id: string;
  runId: string | null;
  class: ExceptionClass;
  kind: ExceptionKind;
  cause: string;
  evidence: Record<string, unknown>;
  status: ExceptionStatus;
  currency: string | null;
  amountMinor: bigint | null;
  fix: Record<string, unknown> | null;
  resolutionNote: string | null;
  resolvedBy: string | null;
  resolvedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  seq: bigint;
}

const COLUMNS = `id, run_id, class, kind, cause, evidence, status, currency, amount_minor, fix, resolution_note,
  resolved_by, resolved_at, created_at, updated_at, seq`;

interface Row {
  id: string;
  run_id: string | null;
  class: ExceptionClass;
  kind: ExceptionKind;
  cause: string;
  evidence: Record<string, unknown>;
  status: ExceptionStatus;
  currency: string | null;
  amount_minor: bigint | null;
  fix: Record<string, unknown> | null;
  resolution_note: string | null;
  resolved_by: string | null;
  resolved_at: Date | null;
  created_at: Date;
  updated_at: Date;
  seq: bigint;
}

function toException(row: Row): ReconException {
  return {
    id: row.id,
    runId: row.run_id,
    class: row.class,
    kind: row.kind,
    cause: row.cause,
    evidence: row.evidence,
    status: row.status,
    currency: row.currency,
    amountMinor: row.amount_minor,
    fix: row.fix,
    resolutionNote: row.resolution_note,
    resolvedBy: row.resolved_by,
    resolvedAt: row.resolved_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    seq: row.seq,
  };
}

/**
 * Files findings that need no cure (finance and investigation), in bulk, in the caller's transaction. A finding
 * whose dedupe key is filed already adds nothing. Returns the ids of the exceptions created.
 */
export async function fileFindings(
  client: Queryable,
  runId: string,
  findings: Finding[],
): Promise<Array<{ id: string; kind: ExceptionKind }>> {
  if (findings.length === 0) return [];
  const ids = findings.map(() => newExceptionId());
  const inserted = await client.query<{ id: string; kind: ExceptionKind }>(
    `WITH rows AS (
       SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::text[], $8::bigint[], $9::text[])
         AS t(id, class, kind, cause, evidence, currency, amount_minor, dedupe_key)
     ), ins AS (
       INSERT INTO recon.exceptions (id, run_id, class, kind, cause, evidence, status, currency, amount_minor, dedupe_key)
       SELECT id, $1, class, kind, cause, evidence, 'open', currency, amount_minor, dedupe_key FROM rows
       ON CONFLICT (dedupe_key) DO NOTHING
       RETURNING id, kind
     ), ev AS (
       INSERT INTO recon.exception_events (exception_id, action, actor) SELECT id, 'created', 'reconciliation' FROM ins
     )
     SELECT id, kind FROM ins`,
    [
      runId,
      ids,
      findings.map((f) => classOf(f.kind)),
      findings.map((f) => f.kind),
      findings.map((f) => f.cause.slice(0, 2000)),
      findings.map((f) => JSON.stringify(jsonSafe(f.evidence))),
      findings.map((f) => f.currency ?? null),
      findings.map((f) => (f.amountMinor === undefined ? null : f.amountMinor.toString())),
      findings.map((f) => f.dedupeKey),
    ],
  );
  for (const row of inserted.rows) await recordExceptionCreated(client, row.id);
  return inserted.rows;
}

/** `reconciliation.exception_created`, carrying the exception as filed (its evidence stays behind the API). */
async function recordExceptionCreated(db: Queryable, id: string): Promise<void> {
  const exception = await getException(db, id);
  if (!exception) return;
  await recordEvent(db, 'reconciliation.exception_created', {
    object: 'reconciliation_exception',
    id: exception.id,
    run_id: exception.runId,
    class: exception.class,
    kind: exception.kind,
    cause: exception.cause,
    status: exception.status,
    currency: exception.currency,
    created_at: exception.createdAt.toISOString(),
  });
}

/**
 * Files one finding with its own status and class (an auto-fix, or a failed one), in the caller's transaction.
 * Returns undefined when the dedupe key is filed already: the difference was handled before.
 */
export async function fileOne(
  client: PoolClient,
  runId: string,
  finding: Finding,
  options: { class: ExceptionClass; status: ExceptionStatus; fix: unknown; cause?: string },
): Promise<string | undefined> {
  const id = newExceptionId();
  const inserted = await client.query<{ id: string }>(
    `INSERT INTO recon.exceptions (id, run_id, class, kind, cause, evidence, status, currency, amount_minor, dedupe_key, fix)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
    [
      id,
      runId,
      options.class,
      finding.kind,
      (options.cause ?? finding.cause).slice(0, 2000),
      JSON.stringify(jsonSafe(finding.evidence)),
      options.status,
      finding.currency ?? null,
      finding.amountMinor ?? null,
      finding.dedupeKey,
      options.fix === undefined ? null : JSON.stringify(jsonSafe(options.fix)),
    ],
  );
  if (inserted.rows[0] === undefined) return undefined;
  await client.query(
    `INSERT INTO recon.exception_events (exception_id, action, actor) VALUES ($1, 'created', 'reconciliation')`,
    [id],
  );
  await recordExceptionCreated(client, id);
  return id;
}

export async function getException(db: Queryable, id: string): Promise<ReconException | undefined> {
  const found = await db.query<Row>(`SELECT ${COLUMNS} FROM recon.exceptions WHERE id = $1`, [id]);
  const row = found.rows[0];
  return row === undefined ? undefined : toException(row);
}

export interface ExceptionFilter {
  status?: ExceptionStatus | undefined;
  class?: ExceptionClass | undefined;
  kind?: ExceptionKind | undefined;
  runId?: string | undefined;
  since?: Date | undefined;
  /** The `seq` of the last exception of the previous page (newest first). */
  afterSeq?: bigint | undefined;
  limit: number;
}

export async function listExceptions(db: Queryable, filter: ExceptionFilter): Promise<ReconException[]> {
  const found = await db.query<Row>(
    `SELECT ${COLUMNS} FROM recon.exceptions
      WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR class = $2) AND ($3::text IS NULL OR kind = $3)
        AND ($4::text IS NULL OR run_id = $4) AND ($5::timestamptz IS NULL OR created_at >= $5)
        AND ($6::bigint IS NULL OR seq < $6)
      ORDER BY seq DESC LIMIT $7`,
    [
      filter.status ?? null,
      filter.class ?? null,
      filter.kind ?? null,
      filter.runId ?? null,
      filter.since ?? null,
      filter.afterSeq ?? null,
      filter.limit,
    ],
  );
  return found.rows.map(toException);
}

export async function countOpenByClass(
  db: Queryable,
): Promise<Array<{ class: string; kind: string; n: bigint }>> {
  const found = await db.query<{ class: string; kind: string; n: bigint }>(
    `SELECT class, kind, count(*) AS n FROM recon.exceptions WHERE status = 'open' GROUP BY 1, 2`,
  );
  return found.rows;
}

/**
 * Moves an exception to `resolved` or back to `open` under a row lock, with its history row and an audit row
 * naming the actor, all in the caller's transaction.
 */
async function changeStatus(
  client: PoolClient,
  id: string,
  change: { to: 'resolved' | 'open'; note: string | null; actor: string },
): Promise<ReconException> {
  const current = await client.query<{ status: ExceptionStatus }>(
    'SELECT status FROM recon.exceptions WHERE id = $1 FOR UPDATE',
    [id],
  );
  const row = current.rows[0];
  if (row === undefined) throw new AppError('reconciliation_exception_not_found', `no exception ${id}`);
  if (row.status === change.to) {
    throw new AppError('reconciliation_exception_state', `exception ${id} is ${change.to} already`);
  }
  const action = change.to === 'resolved' ? 'resolved' : 'reopened';
  if (change.to === 'resolved') {
    await client.query(
      `UPDATE recon.exceptions SET status = 'resolved', resolution_note = $2, resolved_by = $3, resolved_at = now(),
         updated_at = now() WHERE id = $1`,
      [id, change.note, change.actor],
    );
  } else {
    await client.query(
      `UPDATE recon.exceptions SET status = 'open', resolution_note = NULL, resolved_by = NULL, resolved_at = NULL,
         updated_at = now() WHERE id = $1`,
      [id],
    );
  }
  await client.query(
    'INSERT INTO recon.exception_events (exception_id, action, actor, note) VALUES ($1, $2, $3, $4)',
    [id, action, change.actor, change.note],
  );
  await client.query('INSERT INTO core.audit_log (actor, action, subject, details) VALUES ($1, $2, $3, $4)', [
    change.actor,
    `reconciliation.exception.${action}`,
    id,
    JSON.stringify({ note: change.note, previous_status: row.status }),
  ]);
  const after = await getException(client, id);
  if (after === undefined) throw new Error(`exception ${id} vanished under its lock`);
  return after;
}

/** Resolves an open exception with a note, naming the API key (or CLI user) that resolved it; audited. */
export async function resolveException(
  client: PoolClient,
  id: string,
  note: string,
  actor: string,
): Promise<ReconException> {
  return await changeStatus(client, id, { to: 'resolved', note, actor });
}

/** Which open exceptions a bulk resolution takes; at least one field is given. */
export interface BulkFilter {
  kind?: string | undefined;
  class?: string | undefined;
  runId?: string | undefined;
  createdBefore?: Date | undefined;
}

/** At most this many exceptions are resolved by one bulk call; `remaining` says how many more match. */
export const BULK_RESOLVE_MAX = 1000;

/**
 * Resolves every open exception matching `filter` (oldest first, at most BULK_RESOLVE_MAX) with one note, each
 * with its own history and audit rows, in the caller's transaction. Returns their ids and how many still match.
 */
export async function resolveMatching(
  client: PoolClient,
  filter: BulkFilter,
  note: string,
  actor: string,
): Promise<{ ids: string[]; remaining: number }> {
  const where = `status = 'open' AND ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR class = $2)
    AND ($3::text IS NULL OR run_id = $3) AND ($4::timestamptz IS NULL OR created_at < $4)`;
  const params = [
    filter.kind ?? null,
    filter.class ?? null,
    filter.runId ?? null,
    filter.createdBefore ?? null,
  ];
  const found = await client.query<{ id: string }>(
    `SELECT id FROM recon.exceptions WHERE ${where} ORDER BY seq LIMIT ${BULK_RESOLVE_MAX} FOR UPDATE`,
    params,
  );
  const ids = found.rows.map((row) => row.id);
  for (const id of ids) await changeStatus(client, id, { to: 'resolved', note, actor });
  const rest = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM recon.exceptions WHERE ${where}`,
    params,
  );
  return { ids, remaining: Number(rest.rows[0]?.n ?? 0) };
}

/** Reopens a resolved (or auto-fixed) exception; audited. */
export async function reopenException(
  client: PoolClient,
  id: string,
  note: string | undefined,
  actor: string,
): Promise<ReconException> {
  return await changeStatus(client, id, { to: 'open', note: note ?? null, actor });
}

export async function exceptionHistory(
  db: Queryable,
  id: string,
): Promise<Array<{ at: Date; action: string; actor: string; note: string | null }>> {
  const found = await db.query<{ at: Date; action: string; actor: string; note: string | null }>(
    'SELECT at, action, actor, note FROM recon.exception_events WHERE exception_id = $1 ORDER BY id',
    [id],
  );
  return found.rows;
}
