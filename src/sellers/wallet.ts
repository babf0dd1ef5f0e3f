import type { Queryable } from '../db/pool.ts';
import { listAccountsByOwner, paidOutTotal, sellerDebt } from '../ledger/index.ts';
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
  /** What the seller owes the platform (the receivable), ≥ 0; the wire shows it negated as `balance_due`. */
  owedMinor: bigint;
  /** When the debt began (null when nothing is owed). */
  owedSince: Date | null;
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

/** The seller's debt in the currency (docs/payouts.md "Seller debt"), from the ledger's receivable account. */
async function owedOf(
  db: Queryable,
  sellerAccount: string,
  currency: string,
): Promise<{ owedMinor: bigint; owedSince: Date | null }> {
  const debt = await sellerDebt(db, sellerAccount, currency);
  return { owedMinor: debt.balanceMinor, owedSince: debt.since };
}

const DAY_MS = 24 * 60 * 60 * 1000;

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
    ...(await owedOf(db, seller.sellerAccount, currency)),
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
    balance_due: fmt(-wallet.owedMinor),
    balance_due_since: wallet.owedSince?.toISOString() ?? null,
    balance_due_age_days:
      wallet.owedSince === null
        ? null
        : Math.max(0, Math.floor((asOf.getTime() - wallet.owedSince.getTime()) / DAY_MS)),
    as_of: asOf.toISOString(),
  };
}
