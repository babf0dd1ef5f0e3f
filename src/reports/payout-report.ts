import type { Queryable } from '../db/pool.ts';
import { debitTotalsByReference, entriesSincePrevious, sellerAvailable } from '../ledger/index.ts';
import { categoryOf, referencesOf, type MovementCategory } from './classify.ts';

/**
 * A payout's reconciliation report (docs/reports.md), like Stripe's: the ledger entries that moved the seller's
 * available balance since the previous payout, up to and including this payout's start, each with its references;
 * a hold release (a sale becoming payable) also shows the sale's gross and platform fee. carried in + Σ lines −
 * payout = carried forward (what stayed in available: a reserve, a minimum, a part payout).
 */

export interface PayoutFacts {
  id: string;
  sellerAccount: string;
  currency: string;
  amountMinor: bigint;
  status: string;
  runDate: string | null;
  createdAt: Date;
}

export interface PayoutLine {
  entryId: string;
  postedAt: Date;
  kind: string;
  category: MovementCategory;
  reference: string;
  references: Record<string, string>;
  description: string;
  /** For a released sale: the buyer's gross and the platform fee kept. */
  grossMinor: bigint | null;
  feeMinor: bigint | null;
  /** What the line did to the seller's available balance. */
  netMinor: bigint;
}

export interface PayoutReport {
  payout: PayoutFacts;
  carriedInMinor: bigint;
  lines: PayoutLine[];
  carriedForwardMinor: bigint;
}

export async function payoutReport(db: Queryable, payout: PayoutFacts): Promise<PayoutReport | undefined> {
  const available = sellerAvailable(payout.sellerAccount, payout.currency).code;
  const own = `payout:${payout.id}:started`;
  const window = await entriesSincePrevious(db, available, 'payout.started', own);
  if (window === undefined) return undefined;
  const lines: PayoutLine[] = window.entries
    .filter((entry) => entry.reference !== own)
    .map((entry) => ({
      entryId: entry.entryId,
      postedAt: entry.postedAt,
      kind: entry.kind,
      category: categoryOf(entry.kind),
      reference: entry.reference,
      references: referencesOf(entry.metadata),
      description: entry.description,
      grossMinor: null,
      feeMinor: null,
      netMinor: entry.postings
        .filter((p) => p.accountCode === available)
        .reduce((sum, p) => sum + p.deltaMinor, 0n),
    }));
  await addSaleDetails(db, lines);
  const moved = lines.reduce((sum, line) => sum + line.netMinor, 0n);
  return {
    payout,
    carriedInMinor: window.carriedInMinor,
    lines,
    carriedForwardMinor: window.carriedInMinor + moved - payout.amountMinor,
  };
}

/** A released sale's gross (what the sale entry took into clearing) and fee (gross − what the seller got). */
async function addSaleDetails(db: Queryable, lines: PayoutLine[]): Promise<void> {
  const sales = lines.filter((line) => line.category === 'hold_release' && line.references.release_id);
  const references = sales.map((line) => `payin:${line.references.release_id ?? ''}:succeeded`);
  const gross = await debitTotalsByReference(db, references);
  for (const line of sales) {
    const orderId = line.references.release_id ?? '';
    const total = gross.get(`payin:${orderId}:succeeded`);
    if (total === undefined) continue;
    line.references.payment_order_id = orderId;
    line.grossMinor = total;
    line.feeMinor = total - line.netMinor;
  }
}
