import type { Queryable } from '../db/pool.ts';
import { listAccountsByOwner, paidOutTotal } from '../ledger/index.ts';
import { formatAmount, type CurrencyCode, assertCurrency } from '../money/index.ts';
import type { Seller } from './store.ts';
import type { BalanceWire } from './http-schemas.ts';

/** A seller's wallet: a view over the seller's ledger accounts, never a second truth. */
export interface Wallet {
  sellerAccount: string;
  currency: CurrencyCode;
  pendingMinor: bigint;
  availableMinor: bigint;
  reservedMinor: bigint;
  inTransitMinor: bigint;
  paidOutMinor: bigint;
}

const BUCKETS = ['pending', 'available', 'reserved', 'in_transit'] as const;
type Bucket = (typeof BUCKETS)[number];

/** Seller account codes are `seller:<id>:<bucket>:<CUR>` (src/ledger/chart.ts). */
function bucketOf(code: string, sellerAccount: string, currency: string): Bucket | undefined {
  const prefix = `seller:${sellerAccount}:`;
  const suffix = `:${currency}`;
  if (!code.startsWith(prefix) || !code.endsWith(suffix)) return undefined;
  const bucket = code.slice(prefix.length, code.length - suffix.length);
  return (BUCKETS as readonly string[]).includes(bucket) ? (bucket as Bucket) : undefined;
}

export async function getWallet(db: Queryable, seller: Seller): Promise<Wallet> {
  const currency = assertCurrency(seller.currency);
  const totals: Record<Bucket, bigint> = { pending: 0n, available: 0n, reserved: 0n, in_transit: 0n };
  for (const account of await listAccountsByOwner(db, seller.sellerAccount)) {
    const bucket = bucketOf(account.code, seller.sellerAccount, currency);
    if (bucket !== undefined) totals[bucket] += account.balanceMinor;
  }
  return {
    sellerAccount: seller.sellerAccount,
    currency,
    pendingMinor: totals.pending,
    availableMinor: totals.available,
    reservedMinor: totals.reserved,
    inTransitMinor: totals.in_transit,
    paidOutMinor: await paidOutTotal(db, seller.sellerAccount, currency),
  };
}

export function walletToWire(wallet: Wallet, asOf: Date): BalanceWire {
  const fmt = (minor: bigint) => formatAmount(minor, wallet.currency);
  return {
    object: 'balance',
    seller_account: wallet.sellerAccount,
    currency: wallet.currency,
    pending: fmt(wallet.pendingMinor),
    available: fmt(wallet.availableMinor),
    reserved: fmt(wallet.reservedMinor),
    in_transit: fmt(wallet.inTransitMinor),
    paid_out: fmt(wallet.paidOutMinor),
    as_of: asOf.toISOString(),
  };
}
