import { z } from 'zod';
import type { Queryable } from '../db/pool.ts';

/**
 * A seller's dispute policy (docs/disputes.md): who bears the PSP's dispute fee, the seller or the platform. No
 * policy of their own: the platform's default (BURSAR_DISPUTE_FEE_BEARER) applies. Stored in
 * `sellers.dispute_policy` (migrations/0150_disputes.sql).
 */

export type DisputeFeeBearer = 'seller' | 'platform';

export interface DisputePolicy {
  fee: DisputeFeeBearer;
}

/** The `dispute_policy` object of `POST /v1/sellers` and `PATCH /v1/sellers/{id}`; null removes the seller's own. */
export const DisputePolicyBody = z
  .object({ fee: z.enum(['seller', 'platform']).describe('who bears the PSP dispute fee') })
  .strict()
  .nullable();
export type DisputePolicyInput = z.infer<typeof DisputePolicyBody>;

export const DisputePolicyWire = z
  .object({ fee: z.enum(['seller', 'platform']) })
  .nullable()
  .describe("the seller's own dispute policy; null when the platform's default applies");

export async function findDisputePolicy(
  db: Queryable,
  sellerAccount: string,
): Promise<DisputePolicy | undefined> {
  const result = await db.query<{ fee_bearer: DisputeFeeBearer }>(
    'SELECT fee_bearer FROM sellers.dispute_policy WHERE seller_account = $1',
    [sellerAccount],
  );
  const row = result.rows[0];
  return row ? { fee: row.fee_bearer } : undefined;
}

/** Sets (or, with null, removes) the seller's own dispute policy; undefined leaves it as it is. */
export async function saveDisputePolicy(
  db: Queryable,
  sellerAccount: string,
  input: DisputePolicyInput | undefined,
): Promise<void> {
  if (input === undefined) return;
  if (input === null) {
    await db.query('DELETE FROM sellers.dispute_policy WHERE seller_account = $1', [sellerAccount]);
    return;
  }
  await db.query(
    `INSERT INTO sellers.dispute_policy (seller_account, fee_bearer) VALUES ($1, $2)
     ON CONFLICT (seller_account) DO UPDATE SET fee_bearer = EXCLUDED.fee_bearer, updated_at = now()`,
    [sellerAccount, input.fee],
  );
}

export async function disputePolicyToWire(
  db: Queryable,
  sellerAccount: string,
): Promise<{ dispute_policy: DisputePolicy | null }> {
  return { dispute_policy: (await findDisputePolicy(db, sellerAccount)) ?? null };
}
