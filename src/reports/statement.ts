import type { Queryable } from '../db/pool.ts';
import {
  balancesAt,
  entriesTouching,
  feeRevenue,
  sellerAvailable,
  sellerInTransit,
  sellerPending,
  sellerReceivable,
  sellerReserved,
  type HistoryEntry,
} from '../ledger/index.ts';
import { categoryOf, referencesOf, type MovementCategory } from './classify.ts';

/**
 * A seller's statement, from the ledger alone (docs/reports.md): the opening balance of each bucket, every movement
 * of the window (one per ledger entry that touched the seller's accounts; a sale with a platform fee shows as a sale
 * and a fee line), and the closing balance. Window (from, to] in recording time, so opening + movements = closing =
 * the ledger's balance-at, bucket by bucket.
 */

export const BUCKETS = ['pending', 'available', 'reserved', 'in_transit', 'due'] as const;
export type Bucket = (typeof BUCKETS)[number];
export type Buckets = Record<Bucket, bigint>;

export interface StatementMovement {
  postedAt: Date;
  effectiveAt: Date;
  entryId: string;
  reference: string;
  kind: string;
  category: MovementCategory;
  description: string;
  references: Record<string, string>;
  /** Change of each bucket (due: what the seller owes us, so a rise in due lowers the seller's net). */
  deltas: Buckets;
  /** What the movement did to the seller's net position: Σ money buckets − due. */
  netMinor: bigint;
}

export interface Statement {
  sellerAccount: string;
  currency: string;
  from: Date;
  to: Date;
  opening: Buckets;
  closing: Buckets;
  movements: StatementMovement[];
}

export function zeroBuckets(): Buckets {
  return { pending: 0n, available: 0n, reserved: 0n, in_transit: 0n, due: 0n };
}

export function netOf(buckets: Buckets): bigint {
  return buckets.pending + buckets.available + buckets.reserved + buckets.in_transit - buckets.due;
}

/** The seller's ledger account code of each bucket. */
export function bucketCodes(sellerAccount: string, currency: string): Record<Bucket, string> {
  return {
    pending: sellerPending(sellerAccount, currency).code,
    available: sellerAvailable(sellerAccount, currency).code,
    reserved: sellerReserved(sellerAccount, currency).code,
    in_transit: sellerInTransit(sellerAccount, currency).code,
    due: sellerReceivable(sellerAccount, currency).code,
  };
}

function bucketsFrom(balances: Map<string, bigint>, codes: Record<Bucket, string>): Buckets {
  const buckets = zeroBuckets();
  for (const bucket of BUCKETS) buckets[bucket] = balances.get(codes[bucket]) ?? 0n;
  return buckets;
}

function movement(entry: HistoryEntry, category: MovementCategory, deltas: Buckets): StatementMovement {
  return {
    postedAt: entry.postedAt,
    effectiveAt: entry.effectiveAt,
    entryId: entry.entryId,
    reference: entry.reference,
    kind: entry.kind,
    category,
    description: entry.description,
    references: referencesOf(entry.metadata),
    deltas,
    netMinor: netOf(deltas),
  };
}

/** One entry's movements: its deltas on the seller's buckets; a sale's platform fee as a line of its own. */
export function movementsOf(
  entry: HistoryEntry,
  codes: Record<Bucket, string>,
  currency: string,
): StatementMovement[] {
  const deltas = zeroBuckets();
  for (const posting of entry.postings) {
    for (const bucket of BUCKETS)
      if (posting.accountCode === codes[bucket]) deltas[bucket] += posting.deltaMinor;
  }
  const category = categoryOf(entry.kind);
  if (category !== 'sale') return [movement(entry, category, deltas)];
  const feeCode = feeRevenue(currency).code;
  const fee = entry.postings
    .filter((posting) => posting.accountCode === feeCode)
    .reduce((sum, posting) => sum + posting.deltaMinor, 0n);
  if (fee === 0n) return [movement(entry, 'sale', deltas)];
  // The fee was kept from the pending credit: the sale line shows the gross, the fee line takes the fee back.
  const feeDeltas = { ...zeroBuckets(), pending: -fee };
  const saleDeltas = { ...deltas, pending: deltas.pending + fee };
  return [movement(entry, 'sale', saleDeltas), movement(entry, 'platform_fee', feeDeltas)];
}

export async function sellerStatement(
  db: Queryable,
  input: { sellerAccount: string; currency: string; from: Date; to: Date },
): Promise<Statement> {
  const codes = bucketCodes(input.sellerAccount, input.currency);
  const list = Object.values(codes);
  const [opening, closing, entries] = await Promise.all([
    balancesAt(db, list, input.from),
    balancesAt(db, list, input.to),
    entriesTouching(db, list, input.from, input.to),
  ]);
  return {
    ...input,
    opening: bucketsFrom(opening, codes),
    closing: bucketsFrom(closing, codes),
    movements: entries.flatMap((entry) => movementsOf(entry, codes, input.currency)),
  };
}

/** Opening plus every movement, bucket by bucket (equals `closing` for a statement the ledger produced). */
export function rolledForward(statement: Statement): Buckets {
  const sum = { ...statement.opening };
  for (const m of statement.movements) for (const bucket of BUCKETS) sum[bucket] += m.deltas[bucket];
  return sum;
}
