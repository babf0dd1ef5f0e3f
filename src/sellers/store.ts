import { preparedQuery, type Queryable } from '../db/pool.ts';

export interface Seller {
  sellerAccount: string;
  name: string;
  currency: string;
  metadata: Record<string, unknown>;
  /** `inactive`: deactivated, takes no new checkouts (docs/api.md "Seller maintenance"). */
  status: SellerStatus;
  createdAt: Date;
}

export type SellerStatus = 'active' | 'inactive';

/** The columns every seller read selects. */
export const SELLER_COLUMNS = 'seller_account, name, currency, metadata, status, created_at';

export interface SellerRow {
  seller_account: string;
  name: string;
  currency: string;
  metadata: Record<string, unknown>;
  status: SellerStatus;
  created_at: Date;
}

export function toSeller(row: SellerRow): Seller {
  return {
    sellerAccount: row.seller_account,
    name: row.name,
    currency: row.currency,
    metadata: row.metadata,
    status: row.status,
    createdAt: row.created_at,
  };
}

/** Inserts the seller; returns the stored row, which is the earlier one when the id existed already. */
export async function insertSeller(
  db: Queryable,
  seller: { sellerAccount: string; name: string; currency: string; metadata: Record<string, unknown> },
): Promise<{ seller: Seller; created: boolean }> {
  const inserted = await db.query<SellerRow>(
    `INSERT INTO sellers.sellers (seller_account, name, currency, metadata) VALUES ($1, $2, $3, $4)
     ON CONFLICT (seller_account) DO NOTHING
     RETURNING ${SELLER_COLUMNS}`,
    [seller.sellerAccount, seller.name, seller.currency, JSON.stringify(seller.metadata)],
  );
  const row = inserted.rows[0];
  if (row) return { seller: toSeller(row), created: true };
  const existing = await findSeller(db, seller.sellerAccount);
  if (!existing) throw new Error(`seller ${seller.sellerAccount} vanished between insert and read`);
  return { seller: existing, created: false };
}

export async function findSeller(db: Queryable, sellerAccount: string): Promise<Seller | undefined> {
  const result = await db.query<SellerRow>(
    `SELECT ${SELLER_COLUMNS} FROM sellers.sellers WHERE seller_account = $1`,
    [sellerAccount],
  );
  const row = result.rows[0];
  return row ? toSeller(row) : undefined;
}

/**
 * Locks the sellers' rows (in seller order, so concurrent lockers queue and never deadlock): the per-seller lock
 * every payout (a run's or a manual one) takes before it decides on a balance. Returns the ids that exist.
 */
export async function lockSellers(db: Queryable, ids: string[]): Promise<Set<string>> {
  const result = await db.query<{ seller_account: string }>(
    'SELECT seller_account FROM sellers.sellers WHERE seller_account = ANY($1::text[]) ORDER BY seller_account FOR UPDATE',
    [ids],
  );
  return new Set(result.rows.map((row) => row.seller_account));
}

/** The names of the sellers among `ids`, by id (a payout file names the creditor). */
export async function sellerNames(db: Queryable, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const result = await db.query<{ seller_account: string; name: string }>(
    'SELECT seller_account, name FROM sellers.sellers WHERE seller_account = ANY($1::text[])',
    [[...new Set(ids)]],
  );
  return new Map(result.rows.map((row) => [row.seller_account, row.name]));
}

/** What a checkout needs of each of its sellers. */
export interface CheckoutSeller {
  status: SellerStatus;
  /** The seller's own currency (an order in another one may need converting). */
  currency: string;
}

/**
 * The registered sellers among `ids`, by id, in one read. The rows are share-locked in seller order, so a
 * deactivation waits for the checkout that read the seller as active to commit (and a checkout waits for a
 * deactivation in progress), and concurrent checkouts never deadlock on them.
 */
export async function checkoutSellers(db: Queryable, ids: string[]): Promise<Map<string, CheckoutSeller>> {
  const result = await preparedQuery<{ seller_account: string; status: SellerStatus; currency: string }>(
    db,
    'sellers_checkout_sellers',
    `SELECT seller_account, status, currency FROM sellers.sellers WHERE seller_account = ANY($1::text[])
      ORDER BY seller_account FOR SHARE`,
    [[...new Set(ids)]],
  );
  return new Map(
    result.rows.map((row) => [row.seller_account, { status: row.status, currency: row.currency }]),
  );
}
