import type { Queryable } from '../db/pool.ts';
import { listAccountsByOwner, paidOutTotal, sellerDebt, type AccountBalance } from '../ledger/index.ts';
import { formatAmount, type CurrencyCode, assertCurrency } from '../money/index.ts';
import type { Seller } from './store.ts';
import type { BalanceWire, CurrencyBalanceWire } from './http-schemas.ts';

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
  /** The same, per currency the seller holds money in (the seller's own first); the fields above are its first. */
  balances: CurrencyWallet[];
}

/** A seller's balances in one currency. */
export type CurrencyWallet = Omit<Wallet, 'sellerAccount' | 'balances'>;

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

/** The currencies of the seller's wallet accounts (`seller:<id>:<bucket>:<CUR>`), the seller's own first. */
function walletCurrencies(
  accounts: readonly AccountBalance[],
  sellerAccount: string,
  own: CurrencyCode,
): CurrencyCode[] {
  const found = new Set<string>();
  for (const account of accounts) {
    const parts = account.code.split(':');
    const currency = parts[parts.length - 1];
    if (parts[0] === 'seller' && parts[1] === sellerAccount && currency !== undefined) found.add(currency);
  }
  found.delete(own);
  return [own, ...[...found].sort().map((code) => assertCurrency(code))];
}

async function currencyWallet(
  db: Queryable,
  sellerAccount: string,
  accounts: readonly AccountBalance[],
  currency: CurrencyCode,
): Promise<CurrencyWallet> {
  const totals: Record<Bucket, bigint> = { pending: 0n, available: 0n, reserved: 0n, in_transit: 0n };
  for (const account of accounts) {
    const bucket = bucketOf(account.code, sellerAccount, currency);
    if (bucket !== undefined) totals[bucket] += account.balanceMinor;
  }
  return {
    currency,
    pendingMinor: totals.pending,
    availableMinor: totals.available,
    reservedMinor: totals.reserved,
    inTransitMinor: totals.in_transit,
    paidOutMinor: await paidOutTotal(db, sellerAccount, currency),
    ...(await owedOf(db, sellerAccount, currency)),
  };
}

/** The seller's wallet in every currency it holds money in (docs/payouts.md "Several currencies"). */
export async function getWallet(db: Queryable, seller: Seller): Promise<Wallet> {
  const own = assertCurrency(seller.currency);
  const accounts = await listAccountsByOwner(db, seller.sellerAccount);
  const balances: CurrencyWallet[] = [];
  for (const currency of walletCurrencies(accounts, seller.sellerAccount, own)) {
    balances.push(await currencyWallet(db, seller.sellerAccount, accounts, currency));
  }
  const first = balances[0] ?? (await currencyWallet(db, seller.sellerAccount, accounts, own));
  return { sellerAccount: seller.sellerAccount, ...first, balances };
}

function bucketsToWire(wallet: CurrencyWallet, asOf: Date): CurrencyBalanceWire {
  const fmt = (minor: bigint) => formatAmount(minor, wallet.currency);
  return {
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
  };
}

export function walletToWire(wallet: Wallet, asOf: Date): BalanceWire {
  return {
    object: 'balance',
    seller_account: wallet.sellerAccount,
    ...bucketsToWire(wallet, asOf),
    balances: wallet.balances.map((balance) => bucketsToWire(balance, asOf)),
    as_of: asOf.toISOString(),
  };
}
