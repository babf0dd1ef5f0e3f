import type { Queryable } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import { assertCurrency } from '../money/index.ts';
import { findSeller, insertSeller, type Seller } from './store.ts';
import type { SellerCoreWire } from './http-schemas.ts';

export interface NewSeller {
  sellerAccount: string;
  name: string;
  currency: string;
  metadata: Record<string, string>;
}

function sameDetails(a: Seller, b: NewSeller): boolean {
  return (
    a.name === b.name &&
    a.currency === b.currency &&
    JSON.stringify(a.metadata) === JSON.stringify(b.metadata)
  );
}

/**
 * Registers a seller. Registering the same seller again with the same details is a no-op that returns it (so a
 * retried onboarding call is safe); with different details it is a conflict.
 */
export async function registerSeller(
  db: Queryable,
  input: NewSeller,
): Promise<{ seller: Seller; created: boolean }> {
  let currency: string;
  try {
    currency = assertCurrency(input.currency);
  } catch (error) {
    throw error instanceof AppError ? error.atField('currency') : error;
  }
  const wanted = { ...input, currency };
  const result = await insertSeller(db, wanted);
  if (!result.created && !sameDetails(result.seller, wanted)) {
    throw new AppError(
      'seller_exists',
      `seller ${input.sellerAccount} is already registered with other details`,
      {
        field: 'seller_account',
      },
    );
  }
  return result;
}

export async function getSellerOrThrow(db: Queryable, sellerAccount: string): Promise<Seller> {
  const seller = await findSeller(db, sellerAccount);
  if (!seller) throw new AppError('not_found', `no seller ${sellerAccount}`);
  return seller;
}

export function sellerToWire(seller: Seller): SellerCoreWire {
  return {
    object: 'seller',
    seller_account: seller.sellerAccount,
    name: seller.name,
    currency: seller.currency,
    metadata: seller.metadata,
    status: seller.status,
    created_at: seller.createdAt.toISOString(),
  };
}
