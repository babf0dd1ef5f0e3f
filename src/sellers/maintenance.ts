import type { Pool, PoolClient, Queryable } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { AppError } from '../errors.ts';
import { recordEvent } from '../events/index.ts';
import { sellerToWire } from './service.ts';
import { SELLER_COLUMNS, toSeller, type Seller, type SellerRow, type SellerStatus } from './store.ts';

/**
 * Seller maintenance (docs/api.md "Seller maintenance"): changing a seller's name and metadata, deactivating and
 * reactivating. Each change locks the seller's row, writes the change, an append-only audit row (who, what, when,
 * before, after) and the outgoing event, in one transaction. A change that changes nothing writes nothing.
 */

export const METADATA_MAX_KEYS = 50;
export const METADATA_KEY_MAX = 40;
export const METADATA_VALUE_MAX = 500;

export interface ProfileChange {
  name?: string | undefined;
  /** Merged into the seller's metadata; a key given an empty string is removed. */
  metadata?: Record<string, string> | undefined;
}

export type SellerAction = 'update' | 'deactivate' | 'reactivate';

function profileOf(seller: Seller): Record<string, unknown> {
  return { name: seller.name, metadata: seller.metadata, status: seller.status };
}

async function lockSeller(client: PoolClient, sellerAccount: string): Promise<Seller> {
  const result = await client.query<SellerRow>(
    `SELECT ${SELLER_COLUMNS} FROM sellers.sellers WHERE seller_account = $1 FOR UPDATE`,
    [sellerAccount],
  );
  const row = result.rows[0];
  if (row === undefined) throw new AppError('not_found', `no seller ${sellerAccount}`);
  return toSeller(row);
}

function mergedMetadata(
  current: Record<string, unknown>,
  change: Record<string, string>,
): Record<string, unknown> {
  const next: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(change)) {
    if (value === '') delete next[key];
    else next[key] = value;
  }
  if (Object.keys(next).length > METADATA_MAX_KEYS) {
    throw new AppError('validation_failed', `metadata: at most ${METADATA_MAX_KEYS} keys`, {
      field: 'metadata',
    });
  }
  return next;
}

async function writeChange(
  client: PoolClient,
  before: Seller,
  after: { name: string; metadata: Record<string, unknown>; status: SellerStatus },
  audit: { action: SellerAction; apiKeyId: string | null; reason?: string | undefined },
): Promise<Seller> {
  const updated = await client.query<SellerRow>(
    `UPDATE sellers.sellers SET name = $2, metadata = $3, status = $4, updated_at = now()
      WHERE seller_account = $1 RETURNING ${SELLER_COLUMNS}`,
    [before.sellerAccount, after.name, JSON.stringify(after.metadata), after.status],
  );
  const row = updated.rows[0];
  if (row === undefined) throw new Error(`seller ${before.sellerAccount} vanished under its lock`);
  const seller = toSeller(row);
  await client.query(
    `INSERT INTO sellers.seller_audit (seller_account, action, api_key_id, before, after, reason)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [
      seller.sellerAccount,
      audit.action,
      audit.apiKeyId,
      JSON.stringify(profileOf(before)),
      JSON.stringify(profileOf(seller)),
      audit.reason ?? null,
    ],
  );
  const type = audit.action === 'update' ? 'seller.updated' : `seller.${audit.action}d`;
  await recordEvent(client, type, { ...sellerToWire(seller) });
  return seller;
}

/** Changes the seller's name and/or metadata (audited, event `seller.updated`). */
export async function updateSellerProfile(
  pool: Pool,
  sellerAccount: string,
  change: ProfileChange,
  apiKeyId: string | null,
): Promise<Seller> {
  return withTransaction(pool, async (client) => {
    const before = await lockSeller(client, sellerAccount);
    const after = {
      name: change.name ?? before.name,
      metadata:
        change.metadata === undefined ? before.metadata : mergedMetadata(before.metadata, change.metadata),
      status: before.status,
    };
    if (after.name === before.name && JSON.stringify(after.metadata) === JSON.stringify(before.metadata)) {
      return before;
    }
    return writeChange(client, before, after, { action: 'update', apiKeyId });
  });
}

/**
 * Deactivates (`inactive`) or reactivates (`active`) the seller (audited; events `seller.deactivated` and
 * `seller.reactivated`). Deactivation stops new checkouts only: refunds, disputes and payouts of what is owed go on.
 */
export async function setSellerStatus(
  pool: Pool,
  sellerAccount: string,
  status: SellerStatus,
  actor: { apiKeyId: string | null; reason?: string | undefined },
): Promise<Seller> {
  return withTransaction(pool, async (client) => {
    const before = await lockSeller(client, sellerAccount);
    if (before.status === status) return before;
    const action = status === 'inactive' ? 'deactivate' : 'reactivate';
    return writeChange(client, before, { ...before, status }, { action, ...actor });
  });
}

export interface SellerAuditRow {
  id: bigint;
  action: SellerAction;
  apiKeyId: string | null;
  before: Record<string, unknown>;
  after: Record<string, unknown>;
  reason: string | null;
  changedAt: Date;
}

/** The seller's maintenance history, oldest first. */
export async function sellerAudit(db: Queryable, sellerAccount: string): Promise<SellerAuditRow[]> {
  const result = await db.query<{
    id: bigint;
    action: SellerAction;
    api_key_id: string | null;
    before: Record<string, unknown>;
    after: Record<string, unknown>;
    reason: string | null;
    changed_at: Date;
  }>(
    `SELECT id, action, api_key_id, before, after, reason, changed_at FROM sellers.seller_audit
      WHERE seller_account = $1 ORDER BY id`,
    [sellerAccount],
  );
  return result.rows.map((row) => ({
    id: row.id,
    action: row.action,
    apiKeyId: row.api_key_id,
    before: row.before,
    after: row.after,
    reason: row.reason,
    changedAt: row.changed_at,
  }));
}
