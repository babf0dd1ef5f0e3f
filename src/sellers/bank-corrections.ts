import { randomBytes } from 'node:crypto';
import type { Pool, Queryable } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { AppError } from '../errors.ts';
import { normaliseAccountNumber, normaliseRoutingNumber, type BankDetails } from './bank.ts';
import { findPayoutSettings, savePayoutSettings } from './payout-settings-store.ts';

/**
 * Notifications of change (ACH addenda 98, docs/payouts.md "NACHA ACH"): a receiving bank says a payout went
 * through but the seller's details should be corrected. Bursar never changes bank details silently: the
 * correction is kept here, open, and the seller is left out of scheduled payout runs until an operator confirms
 * it (the corrected details become the seller's, audited like any change) or dismisses it.
 */

export interface CorrectedFields {
  accountNumber?: string;
  routingNumber?: string;
  accountType?: 'checking' | 'savings';
  text?: string;
}

export interface BankCorrection {
  id: string;
  sellerAccount: string;
  payoutId: string;
  changeCode: string;
  correctedData: string;
  corrected: CorrectedFields;
  source: string;
  status: 'open' | 'confirmed' | 'dismissed';
  note: string | null;
  resolvedBy: string | null;
  createdAt: Date;
  resolvedAt: Date | null;
}

interface Row {
  id: string;
  seller_account: string;
  payout_id: string;
  change_code: string;
  corrected_data: string;
  corrected: CorrectedFields;
  source: string;
  status: BankCorrection['status'];
  note: string | null;
  resolved_by: string | null;
  created_at: Date;
  resolved_at: Date | null;
}

const COLUMNS = `id, seller_account, payout_id, change_code, corrected_data, corrected, source, status, note,
  resolved_by, created_at, resolved_at`;

function toCorrection(row: Row): BankCorrection {
  return {
    id: row.id,
    sellerAccount: row.seller_account,
    payoutId: row.payout_id,
    changeCode: row.change_code,
    correctedData: row.corrected_data,
    corrected: row.corrected,
    source: row.source,
    status: row.status,
    note: row.note,
    resolvedBy: row.resolved_by,
    createdAt: row.created_at,
    resolvedAt: row.resolved_at,
  };
}

function newCorrectionId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz';
  return `bc_${[...randomBytes(20)].map((byte) => alphabet[byte % 26] ?? 'a').join('')}`;
}

/** Records a NOC for the seller, in the caller's transaction; the same NOC again (a replayed file) is a no-op. */
export async function recordBankCorrection(
  db: Queryable,
  noc: {
    sellerAccount: string;
    payoutId: string;
    changeCode: string;
    correctedData: string;
    corrected: CorrectedFields;
    source: string;
  },
): Promise<{ id: string; created: boolean }> {
  const inserted = await db.query<{ id: string }>(
    `INSERT INTO sellers.bank_corrections (id, seller_account, payout_id, change_code, corrected_data, corrected, source)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (payout_id, change_code, corrected_data) DO NOTHING RETURNING id`,
    [
      newCorrectionId(),
      noc.sellerAccount,
      noc.payoutId,
      noc.changeCode,
      noc.correctedData,
      JSON.stringify(noc.corrected),
      noc.source,
    ],
  );
  const id = inserted.rows[0]?.id;
  if (id !== undefined) return { id, created: true };
  const existing = await db.query<{ id: string }>(
    'SELECT id FROM sellers.bank_corrections WHERE payout_id = $1 AND change_code = $2 AND corrected_data = $3',
    [noc.payoutId, noc.changeCode, noc.correctedData],
  );
  return { id: existing.rows[0]?.id ?? '', created: false };
}

export async function listBankCorrections(
  db: Queryable,
  sellerAccount: string,
  status?: BankCorrection['status'],
): Promise<BankCorrection[]> {
  const result = await db.query<Row>(
    `SELECT ${COLUMNS} FROM sellers.bank_corrections
     WHERE seller_account = $1 AND ($2::text IS NULL OR status = $2) ORDER BY created_at, id`,
    [sellerAccount, status ?? null],
  );
  return result.rows.map(toCorrection);
}

/** The seller's ACH details with the corrected fields applied (each checked as a new one would be). */
export function correctedBank(bank: BankDetails | null, corrected: CorrectedFields): BankDetails | null {
  const changes = corrected.accountNumber ?? corrected.routingNumber ?? corrected.accountType;
  if (changes === undefined) return bank;
  if (bank?.kind !== 'ach') {
    throw new AppError(
      'bank_correction_resolved',
      'the seller no longer has ACH bank details to correct; dismiss the notification',
    );
  }
  return {
    ...bank,
    ...(corrected.accountNumber === undefined
      ? {}
      : { accountNumber: normaliseAccountNumber(corrected.accountNumber, 'corrected.account_number') }),
    ...(corrected.routingNumber === undefined
      ? {}
      : { routingNumber: normaliseRoutingNumber(corrected.routingNumber, 'corrected.routing_number') }),
    ...(corrected.accountType === undefined ? {} : { accountType: corrected.accountType }),
  };
}

/**
 * Confirms (the corrected account, routing number or account type become the seller's, audited with the API key)
 * or dismisses an open correction, with the operator's note. Text-only corrections (a name, an identification)
 * change nothing stored when confirmed: they record that the operator acted on them.
 */
export async function resolveBankCorrection(
  pool: Pool,
  request: {
    sellerAccount: string;
    id: string;
    action: 'confirm' | 'dismiss';
    note: string | null;
    apiKeyId: string | null;
  },
): Promise<BankCorrection> {
  return await withTransaction(pool, async (client) => {
    const found = await client.query<Row>(
      `SELECT ${COLUMNS} FROM sellers.bank_corrections WHERE id = $1 AND seller_account = $2 FOR UPDATE`,
      [request.id, request.sellerAccount],
    );
    const row = found.rows[0];
    if (!row) throw new AppError('bank_correction_not_found', `no bank correction ${request.id}`);
    if (row.status !== 'open') {
      throw new AppError('bank_correction_resolved', `bank correction ${row.id} is ${row.status} already`);
    }
    if (request.action === 'confirm') {
      const previous = await findPayoutSettings(client, request.sellerAccount, { forUpdate: true });
      const bank = correctedBank(previous.bank, row.corrected);
      await savePayoutSettings(
        client,
        request.sellerAccount,
        { ...previous, bank },
        previous,
        request.apiKeyId,
      );
    }
    const updated = await client.query<Row>(
      `UPDATE sellers.bank_corrections SET status = $2, note = $3, resolved_by = $4, resolved_at = now()
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [row.id, request.action === 'confirm' ? 'confirmed' : 'dismissed', request.note, request.apiKeyId],
    );
    const done = updated.rows[0];
    if (!done) throw new Error(`bank correction ${row.id} vanished`);
    return toCorrection(done);
  });
}
