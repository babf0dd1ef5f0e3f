import type { Queryable } from '../db/pool.ts';
import { keysetPage, type PageRequest } from '../http/pagination.ts';
import type { PspDispute } from '../psp/index.ts';
import { randomHexId } from '../random-id.ts';
import { isDisputeStatus, type DisputeStatus, type StoredAllocation } from './domain.ts';

/** SQL of the `disputes` schema (migrations/0150_disputes.sql). */

export interface Dispute {
  id: string;
  psp: string;
  pspDisputeId: string;
  pspChargeId: string | null;
  pspPaymentId: string | null;
  amountMinor: bigint;
  currency: string;
  status: DisputeStatus;
  reason: string | null;
  evidenceDueBy: Date | null;
  feeBearer: 'seller' | 'platform' | 'mixed' | null;
  withdrawnMinor: bigint | null;
  feeMinor: bigint | null;
  /** The currency the PSP charged (and returns) the fee in, when not the dispute's (a converted charge). */
  feeCurrency: string | null;
  withdrawalTxn: string | null;
  reinstatedMinor: bigint | null;
  feeReturnedMinor: bigint | null;
  reinstatementTxn: string | null;
  unattributed: boolean;
  createdAt: Date;
  updatedAt: Date;
  closedAt: Date | null;
}

export interface HistoryRow {
  from: string | null;
  to: string;
  source: 'webhook' | 'poll' | 'api';
  pspEventId: string | null;
  details: Record<string, unknown>;
  at: Date;
}

interface DisputeRow {
  id: string;
  psp: string;
  psp_dispute_id: string;
  psp_charge_id: string | null;
  psp_payment_id: string | null;
  amount_minor: bigint;
  currency: string;
  status: string;
  reason: string | null;
  evidence_due_by: Date | null;
  fee_bearer: 'seller' | 'platform' | 'mixed' | null;
  withdrawn_minor: bigint | null;
  fee_minor: bigint | null;
  fee_currency: string | null;
  withdrawal_txn: string | null;
  reinstated_minor: bigint | null;
  fee_returned_minor: bigint | null;
  reinstatement_txn: string | null;
  unattributed: boolean;
  created_at: Date;
  updated_at: Date;
  closed_at: Date | null;
}

const COLUMNS = `id, psp, psp_dispute_id, psp_charge_id, psp_payment_id, amount_minor, currency, status, reason,
  evidence_due_by, fee_bearer, withdrawn_minor, fee_minor, fee_currency, withdrawal_txn, reinstated_minor, fee_returned_minor,
  reinstatement_txn, unattributed, created_at, updated_at, closed_at`;

function toDispute(row: DisputeRow): Dispute {
  if (!isDisputeStatus(row.status)) throw new Error(`unknown dispute status ${row.status} in the database`);
  return {
    id: row.id,
    psp: row.psp,
    pspDisputeId: row.psp_dispute_id,
    pspChargeId: row.psp_charge_id,
    pspPaymentId: row.psp_payment_id,
    amountMinor: row.amount_minor,
    currency: row.currency,
    status: row.status,
    reason: row.reason,
    evidenceDueBy: row.evidence_due_by,
    feeBearer: row.fee_bearer,
    withdrawnMinor: row.withdrawn_minor,
    feeMinor: row.fee_minor,
    feeCurrency: row.fee_currency,
    withdrawalTxn: row.withdrawal_txn,
    reinstatedMinor: row.reinstated_minor,
    feeReturnedMinor: row.fee_returned_minor,
    reinstatementTxn: row.reinstatement_txn,
    unattributed: row.unattributed,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    closedAt: row.closed_at,
  };
}

export function newDisputeId(): string {
  return randomHexId('dsp', 12);
}

/**
 * The dispute row for a PSP dispute, locked for this transaction: inserted as first seen (its status as the PSP
 * says) when there is none. `created` says this call inserted it.
 */
export async function lockOrInsertDispute(
  db: Queryable,
  psp: string,
  snapshot: PspDispute,
  firstStatus: DisputeStatus,
  nextPollAt: Date,
): Promise<{ dispute: Dispute; created: boolean }> {
  const inserted = await db.query<DisputeRow>(
    `INSERT INTO disputes.disputes (id, psp, psp_dispute_id, psp_charge_id, psp_payment_id, amount_minor, currency,
       status, reason, evidence_due_by, next_poll_at, closed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, CASE WHEN disputes.status_rank($8) = 3 THEN now() END)
     ON CONFLICT (psp, psp_dispute_id) DO NOTHING RETURNING ${COLUMNS}`,
    [
      newDisputeId(),
      psp,
      snapshot.disputeId,
      snapshot.chargeId ?? null,
      snapshot.paymentId ?? null,
      snapshot.amountMinor,
      snapshot.currency,
      firstStatus,
      snapshot.reason ?? null,
      snapshot.evidenceDueBy ?? null,
      nextPollAt,
    ],
  );
  const row = inserted.rows[0];
  if (row) return { dispute: toDispute(row), created: true };
  const found = await db.query<DisputeRow>(
    `SELECT ${COLUMNS} FROM disputes.disputes WHERE psp = $1 AND psp_dispute_id = $2 FOR UPDATE`,
    [psp, snapshot.disputeId],
  );
  const existing = found.rows[0];
  if (!existing) throw new Error(`dispute ${snapshot.disputeId} vanished under its lock`);
  return { dispute: toDispute(existing), created: false };
}

export async function getDispute(
  db: Queryable,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<Dispute | undefined> {
  const result = await db.query<DisputeRow>(
    `SELECT ${COLUMNS} FROM disputes.disputes WHERE id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  const row = result.rows[0];
  return row ? toDispute(row) : undefined;
}

/** Moves the status (the trigger refuses a step backwards) and the PSP's details that may change. */
export async function updateDisputeStatus(
  db: Queryable,
  id: string,
  status: DisputeStatus,
  snapshot: Pick<PspDispute, 'reason' | 'evidenceDueBy'>,
): Promise<void> {
  await db.query(
    `UPDATE disputes.disputes SET status = $2, reason = coalesce($3, reason),
       evidence_due_by = coalesce($4, evidence_due_by), updated_at = now(),
       closed_at = CASE WHEN disputes.status_rank($2) = 3 THEN coalesce(closed_at, now()) END,
       next_poll_at = CASE WHEN disputes.status_rank($2) = 3 THEN NULL ELSE next_poll_at END
     WHERE id = $1`,
    [id, status, snapshot.reason ?? null, snapshot.evidenceDueBy ?? null],
  );
}

export async function recordWithdrawal(
  db: Queryable,
  id: string,
  withdrawal: {
    amountMinor: bigint;
    feeMinor: bigint;
    txn: string;
    feeBearer: 'seller' | 'platform' | 'mixed';
    /** When the PSP charged the fee in another currency than the dispute's. */
    feeCurrency?: string | undefined;
  },
): Promise<void> {
  await db.query(
    `UPDATE disputes.disputes SET withdrawn_minor = $2, fee_minor = $3, withdrawal_txn = $4, fee_bearer = $5,
       fee_currency = $6, unattributed = false, updated_at = now() WHERE id = $1`,
    [
      id,
      withdrawal.amountMinor,
      withdrawal.feeMinor,
      withdrawal.txn,
      withdrawal.feeBearer,
      withdrawal.feeCurrency ?? null,
    ],
  );
}

export async function markUnattributed(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE disputes.disputes SET unattributed = true, updated_at = now() WHERE id = $1', [id]);
}

export async function recordReinstatement(
  db: Queryable,
  id: string,
  reinstatement: { amountMinor: bigint; feeReturnedMinor: bigint; txn: string },
): Promise<void> {
  await db.query(
    `UPDATE disputes.disputes SET reinstated_minor = $2, fee_returned_minor = $3, reinstatement_txn = $4,
       updated_at = now() WHERE id = $1`,
    [id, reinstatement.amountMinor, reinstatement.feeReturnedMinor, reinstatement.txn],
  );
}

export async function insertAllocations(
  db: Queryable,
  disputeId: string,
  allocations: StoredAllocation[],
): Promise<void> {
  for (const a of allocations) {
    await db.query(
      `INSERT INTO disputes.allocations (dispute_id, payment_order_id, seller_account, amount_minor, seller_fee_minor,
         from_pending, from_available, from_reserved, from_receivable, currency, booked_minor)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        disputeId,
        a.paymentOrderId,
        a.sellerAccount,
        a.amountMinor,
        a.sellerFeeMinor,
        a.fromPending,
        a.fromAvailable,
        a.fromReserved,
        a.fromReceivable,
        a.converted?.currency ?? null,
        a.converted?.bookedMinor ?? null,
      ],
    );
  }
}

interface AllocationRow {
  dispute_id: string;
  payment_order_id: string;
  seller_account: string;
  amount_minor: bigint;
  seller_fee_minor: bigint;
  from_pending: bigint;
  from_available: bigint;
  from_reserved: bigint;
  from_receivable: bigint;
  currency: string | null;
  booked_minor: bigint | null;
}

function toAllocation(row: AllocationRow): StoredAllocation {
  return {
    ...(row.currency === null || row.booked_minor === null
      ? {}
      : { converted: { currency: row.currency, bookedMinor: row.booked_minor } }),
    paymentOrderId: row.payment_order_id,
    sellerAccount: row.seller_account,
    amountMinor: row.amount_minor,
    sellerFeeMinor: row.seller_fee_minor,
    fromPending: row.from_pending,
    fromAvailable: row.from_available,
    fromReserved: row.from_reserved,
    fromReceivable: row.from_receivable,
  };
}

/** The allocations of several disputes at once (a list page), by dispute id. */
export async function getAllocationsOf(
  db: Queryable,
  disputeIds: string[],
): Promise<Map<string, StoredAllocation[]>> {
  const out = new Map<string, StoredAllocation[]>(disputeIds.map((id) => [id, []]));
  if (disputeIds.length === 0) return out;
  const result = await db.query<AllocationRow>(
    `SELECT dispute_id, payment_order_id, seller_account, amount_minor, seller_fee_minor, from_pending,
       from_available, from_reserved, from_receivable, currency, booked_minor
       FROM disputes.allocations WHERE dispute_id = ANY($1::text[]) ORDER BY dispute_id, payment_order_id`,
    [disputeIds],
  );
  for (const row of result.rows) out.get(row.dispute_id)?.push(toAllocation(row));
  return out;
}

export async function getAllocations(db: Queryable, disputeId: string): Promise<StoredAllocation[]> {
  return (await getAllocationsOf(db, [disputeId])).get(disputeId) ?? [];
}

export async function insertHistory(
  db: Queryable,
  disputeId: string,
  change: Omit<HistoryRow, 'at'>,
): Promise<void> {
  await db.query(
    `INSERT INTO disputes.status_history (dispute_id, from_status, to_status, source, psp_event_id, details)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [disputeId, change.from, change.to, change.source, change.pspEventId, JSON.stringify(change.details)],
  );
}

export async function getHistory(db: Queryable, disputeId: string): Promise<HistoryRow[]> {
  const result = await db.query<{
    from_status: string | null;
    to_status: string;
    source: 'webhook' | 'poll' | 'api';
    psp_event_id: string | null;
    details: Record<string, unknown>;
    at: Date;
  }>(
    `SELECT from_status, to_status, source, psp_event_id, details, at FROM disputes.status_history
      WHERE dispute_id = $1 ORDER BY id`,
    [disputeId],
  );
  return result.rows.map((row) => ({
    from: row.from_status,
    to: row.to_status,
    source: row.source,
    pspEventId: row.psp_event_id,
    details: row.details,
    at: row.at,
  }));
}

export interface DisputeFilters {
  status?: DisputeStatus | undefined;
  sellerAccount?: string | undefined;
  createdGte?: Date | undefined;
  createdLt?: Date | undefined;
}

/** One page of disputes, newest first (keyset on created_at, id; each filter has its index). */
export async function listDisputes(
  db: Queryable,
  filters: DisputeFilters,
  request: PageRequest,
): Promise<{ rows: Dispute[]; backwards: boolean }> {
  const params: unknown[] = [];
  const where: string[] = [];
  const add = (sql: (n: number) => string, value: unknown) => {
    params.push(value);
    where.push(sql(params.length));
  };
  if (filters.status !== undefined) add((n) => `d.status = $${n}`, filters.status);
  if (filters.sellerAccount !== undefined)
    add(
      (n) =>
        `EXISTS (SELECT 1 FROM disputes.allocations a WHERE a.dispute_id = d.id AND a.seller_account = $${n})`,
      filters.sellerAccount,
    );
  if (filters.createdGte !== undefined) add((n) => `d.created_at >= $${n}`, filters.createdGte);
  if (filters.createdLt !== undefined) add((n) => `d.created_at < $${n}`, filters.createdLt);
  const page = keysetPage(request, { name: 'disputes.disputes', alias: 'd' }, params);
  const result = await db.query<DisputeRow>(
    `SELECT ${COLUMNS.replace(/(^|,\s*)(\w+)/g, '$1d.$2')} FROM disputes.disputes d
      WHERE ${[...where, page.where].join(' AND ')} ORDER BY ${page.orderBy} LIMIT ${page.limit}`,
    params,
  );
  return { rows: result.rows.map(toDispute), backwards: page.backwards };
}

/** Open disputes due for a look at the PSP (the poller), oldest due first. */
export async function disputesDueForPoll(db: Queryable, limit: number): Promise<Dispute[]> {
  const result = await db.query<DisputeRow>(
    `SELECT ${COLUMNS} FROM disputes.disputes
      WHERE closed_at IS NULL AND next_poll_at <= now() ORDER BY next_poll_at LIMIT $1`,
    [limit],
  );
  return result.rows.map(toDispute);
}

export async function schedulePoll(db: Queryable, id: string, at: Date): Promise<void> {
  await db.query(
    `UPDATE disputes.disputes SET next_poll_at = $2, poll_count = poll_count + 1 WHERE id = $1 AND closed_at IS NULL`,
    [id, at],
  );
}

/** Disputes by the PSP's balance transaction of their withdrawal or reinstatement (reconciliation). */
export async function disputesByTxn(db: Queryable, txns: string[]): Promise<Dispute[]> {
  if (txns.length === 0) return [];
  const result = await db.query<DisputeRow>(
    `SELECT ${COLUMNS} FROM disputes.disputes WHERE withdrawal_txn = ANY($1::text[]) OR reinstatement_txn = ANY($1::text[])`,
    [txns],
  );
  return result.rows.map(toDispute);
}

/** Disputes by the PSP's dispute id (reconciliation's look-up of a report line's source). */
export async function disputesByPspId(db: Queryable, pspDisputeIds: string[]): Promise<Dispute[]> {
  if (pspDisputeIds.length === 0) return [];
  const result = await db.query<DisputeRow>(
    `SELECT ${COLUMNS} FROM disputes.disputes WHERE psp_dispute_id = ANY($1::text[])`,
    [pspDisputeIds],
  );
  return result.rows.map(toDispute);
}

/** Which of these PSP dispute ids Bursar already holds. */
export async function knownPspDisputes(db: Queryable, pspDisputeIds: string[]): Promise<Set<string>> {
  if (pspDisputeIds.length === 0) return new Set();
  const found = await db.query<{ psp_dispute_id: string }>(
    'SELECT psp_dispute_id FROM disputes.disputes WHERE psp_dispute_id = ANY($1::text[])',
    [pspDisputeIds],
  );
  return new Set(found.rows.map((row) => row.psp_dispute_id));
}
