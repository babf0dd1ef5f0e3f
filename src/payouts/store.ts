import { recordEvent, recordEvents } from '../events/index.ts';
import { payoutToWire } from './wire.ts';
import type { Queryable } from '../db/pool.ts';
import type { BankDetails } from './bank.ts';
import { isoDateOf } from './settings.ts';
import type { Payout, PayoutStatus, PayoutStatusStep } from './types.ts';

/** SQL of `payouts.payouts` and `payouts.status_history` (migrations/0050_payouts.sql). */

export const PAYOUT_COLUMNS = `id, seller_account, currency, amount_minor, status, source, run_date::text AS run_date,
  provider, provider_reference, payout_file_id, destination, return_reason, ledger_entry_id, created_at, updated_at`;

export interface PayoutRow {
  id: string;
  seller_account: string;
  currency: string;
  amount_minor: bigint;
  status: PayoutStatus;
  source: 'scheduled' | 'manual';
  run_date: string | null;
  provider: string;
  provider_reference: string | null;
  payout_file_id: string | null;
  destination: BankDetails;
  return_reason: string | null;
  ledger_entry_id: string;
  created_at: Date;
  updated_at: Date;
}

export function toPayout(row: PayoutRow): Payout {
  return {
    id: row.id,
    sellerAccount: row.seller_account,
    currency: row.currency,
    amountMinor: row.amount_minor,
    status: row.status,
    source: row.source,
    runDate: row.run_date,
    provider: row.provider,
    providerReference: row.provider_reference,
    payoutFileId: row.payout_file_id,
    destination: row.destination,
    returnReason: row.return_reason,
    ledgerEntryId: row.ledger_entry_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface NewPayout {
  id: string;
  sellerAccount: string;
  currency: string;
  amountMinor: bigint;
  source: 'scheduled' | 'manual';
  runDate: string | null;
  provider: string;
  destination: BankDetails;
  ledgerEntryId: string;
  apiKeyId?: string | null;
  idempotencyKey?: string | null;
  reason: string;
  historySource: string;
}

/**
 * Inserts payouts (status pending), their first history step and their `payout.created` events, in the caller's
 * transaction. The events carry the rows as the insert returned them (no second read of what was just written).
 */
export async function insertPayouts(db: Queryable, payouts: NewPayout[]): Promise<void> {
  if (payouts.length === 0) return;
  // The payouts and their first history step in one statement (the history's rows from the insert's output).
  const inserted = await db.query<PayoutRow>(
    `WITH x AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::date[], $7::text[],
         $8::jsonb[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
         AS x(id, seller, currency, amount, source, run_date, provider, destination, entry, api_key, idem, reason,
           history_source)
     ), p AS (
       INSERT INTO payouts.payouts (id, seller_account, currency, amount_minor, status, source, run_date, provider,
         destination, ledger_entry_id, api_key_id, idempotency_key)
       SELECT x.id, x.seller, x.currency, x.amount, 'pending', x.source, x.run_date, x.provider, x.destination,
         x.entry, x.api_key, x.idem
       FROM x
       RETURNING ${PAYOUT_COLUMNS}
     ), h AS (
       INSERT INTO payouts.status_history (payout_id, from_status, to_status, reason, source)
       SELECT x.id, NULL, 'pending', x.reason, x.history_source FROM x JOIN p ON p.id = x.id
     )
     SELECT * FROM p`,
    [
      payouts.map((p) => p.id),
      payouts.map((p) => p.sellerAccount),
      payouts.map((p) => p.currency),
      payouts.map((p) => p.amountMinor),
      payouts.map((p) => p.source),
      payouts.map((p) => p.runDate),
      payouts.map((p) => p.provider),
      payouts.map((p) => JSON.stringify(p.destination)),
      payouts.map((p) => p.ledgerEntryId),
      payouts.map((p) => p.apiKeyId ?? null),
      payouts.map((p) => p.idempotencyKey ?? null),
      payouts.map((p) => p.reason),
      payouts.map((p) => p.historySource),
    ],
  );
  await recordCreatedEvents(
    db,
    payouts.map((p) => p.id),
    inserted.rows,
  );
}

/** The `payout.created` events of new payouts, in the order of `ids`, recorded in one insert. */
async function recordCreatedEvents(db: Queryable, ids: string[], rows: PayoutRow[]): Promise<void> {
  const byId = new Map(rows.map((row) => [row.id, toPayout(row)]));
  const events = ids.flatMap((id) => {
    const payout = byId.get(id);
    return payout ? [{ type: 'payout.created', object: { ...payoutToWire(payout) } }] : [];
  });
  await recordEvents(db, events);
}

/** The event of a payout's change, carrying the payout as it is now (its `updated_at` orders stale events). */
async function recordPayoutEvent(db: Queryable, id: string, type: string): Promise<void> {
  const payout = await getPayout(db, id);
  if (payout) await recordEvent(db, type, { ...payoutToWire(payout) });
}

export async function getPayout(
  db: Queryable,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<Payout | undefined> {
  const result = await db.query<PayoutRow>(
    `SELECT ${PAYOUT_COLUMNS} FROM payouts.payouts WHERE id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  const row = result.rows[0];
  return row ? toPayout(row) : undefined;
}

/** Moves a payout to `to` and appends the step to its history. */
export async function setPayoutStatus(
  db: Queryable,
  id: string,
  from: PayoutStatus,
  to: PayoutStatus,
  step: {
    reason: string | null;
    source: string;
    reference: string | null;
    returnReason?: string | null;
    providerReference?: string | null;
  },
): Promise<void> {
  await db.query(
    `UPDATE payouts.payouts SET status = $2, return_reason = COALESCE($3, return_reason),
       provider_reference = COALESCE($4, provider_reference), updated_at = now() WHERE id = $1`,
    [id, to, step.returnReason ?? null, step.providerReference ?? null],
  );
  await db.query(
    `INSERT INTO payouts.status_history (payout_id, from_status, to_status, reason, source, reference)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [id, from, to, step.reason, step.source, step.reference],
  );
  if (to === 'paid' || to === 'returned') await recordPayoutEvent(db, id, `payout.${to}`);
}

export async function getHistory(db: Queryable, id: string): Promise<PayoutStatusStep[]> {
  const result = await db.query<{
    from_status: PayoutStatus | null;
    to_status: PayoutStatus;
    reason: string | null;
    source: string;
    reference: string | null;
    at: Date;
  }>(
    'SELECT from_status, to_status, reason, source, reference, at FROM payouts.status_history WHERE payout_id = $1 ORDER BY id',
    [id],
  );
  return result.rows.map((row) => ({
    from: row.from_status,
    to: row.to_status,
    reason: row.reason,
    source: row.source,
    reference: row.reference,
    at: row.at,
  }));
}

/** A seller's payouts, newest first, `limit` at a time after the cursor (a payout id). */
export async function listSellerPayouts(
  db: Queryable,
  sellerAccount: string,
  options: { limit: number; startingAfter?: string },
): Promise<Payout[]> {
  const result = await db.query<PayoutRow>(
    `SELECT ${PAYOUT_COLUMNS} FROM payouts.payouts p
     WHERE seller_account = $1
       AND ($2::text IS NULL OR (created_at, id) < (SELECT created_at, id FROM payouts.payouts WHERE id = $2))
     ORDER BY created_at DESC, id DESC LIMIT $3`,
    [sellerAccount, options.startingAfter ?? null, options.limit],
  );
  return result.rows.map(toPayout);
}

export function runDateOf(at: Date): string {
  return isoDateOf(at);
}

/** Payouts by id (a bank line's EndToEndId is our payout id): what reconciliation compares with the bank. */
export async function findPayoutsByIds(
  db: Queryable,
  ids: string[],
): Promise<Map<string, { id: string; amountMinor: bigint; currency: string; status: PayoutRow['status'] }>> {
  const found = new Map<
    string,
    { id: string; amountMinor: bigint; currency: string; status: PayoutRow['status'] }
  >();
  if (ids.length === 0) return found;
  const rows = await db.query<{
    id: string;
    amount_minor: bigint;
    currency: string;
    status: PayoutRow['status'];
  }>('SELECT id, amount_minor, currency, status FROM payouts.payouts WHERE id = ANY($1::text[])', [ids]);
  for (const row of rows.rows) {
    found.set(row.id, {
      id: row.id,
      amountMinor: row.amount_minor,
      currency: row.currency,
      status: row.status,
    });
  }
  return found;
}

/** Payouts with their statuses, in id order after `after` (reconciliation's check of statuses against postings). */
export async function payoutStatusesPage(
  db: Queryable,
  after: string,
  limit: number,
): Promise<Array<{ id: string; status: PayoutRow['status'] }>> {
  const result = await db.query<{ id: string; status: PayoutRow['status'] }>(
    'SELECT id, status FROM payouts.payouts WHERE id > $1 ORDER BY id LIMIT $2',
    [after, limit],
  );
  return result.rows;
}
