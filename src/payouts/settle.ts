import type { PoolClient } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import { payoutPaid, payoutReturned, postEntry } from '../ledger/index.ts';
import { flagNeedsBankDetails } from '../sellers/index.ts';
import { getPayout, setPayoutStatus } from './store.ts';
import type { PayoutStatus } from './types.ts';

/** What a provider webhook, a camt.053/054 entry or reconciliation says became of a payout. */
export interface SettlementOutcome {
  kind: 'paid' | 'returned';
  /** Why it came back (e.g. `AC04 closed account`); for returns. */
  reason?: string;
  /** Who says so: `sandbox_webhook`, `camt.053`, `camt.054`, `reconciliation`, … */
  source: string;
  /** The evidence: the event id, the statement entry reference. */
  reference: string;
  effectiveAt?: Date;
  /** Returned: ask the seller for new bank details (default). False when the cause is not theirs (a whole file refused). */
  flagSeller?: boolean;
}

export type SettlementResult =
  | { applied: true; payoutId: string; from: PayoutStatus; to: PayoutStatus; entryId: string }
  /** Nothing to do: already in that state (a replay), or a step that would go backwards (refused, logged by the caller). */
  | { applied: false; payoutId: string; status: PayoutStatus; why: 'already' | 'backwards' };

/**
 * Settles a payout, in the caller's open transaction (lock, ledger entry and status commit together). The one
 * code path for every source of truth: the sandbox provider's webhook, camt statements, reconciliation.
 *   paid:     in transit → bank (`payout.paid`); the status becomes `paid`.
 *   returned: before paid, in transit → available; after paid, bank → available (`payout.returned[_after_paid]`);
 *             the status becomes `returned` with the reason, and the seller's account of the payout's currency is
 *             flagged to need new bank details (that currency alone is not paid until they are given).
 * Idempotent: settling again with the same outcome changes nothing; a returned payout is never "paid" again.
 * Throws `payout_not_found` for an unknown id.
 */
export async function settlePayout(
  client: PoolClient,
  payoutId: string,
  outcome: SettlementOutcome,
): Promise<SettlementResult> {
  const payout = await getPayout(client, payoutId, { forUpdate: true });
  if (!payout) throw new AppError('payout_not_found', `no payout ${payoutId}`);
  const common = {
    currency: payout.currency,
    payoutId: payout.id,
    sellerId: payout.sellerAccount,
    amountMinor: payout.amountMinor,
    ...(outcome.effectiveAt === undefined ? {} : { effectiveAt: outcome.effectiveAt }),
    metadata: { source: outcome.source, reference: outcome.reference },
  };
  if (outcome.kind === 'paid') {
    if (payout.status === 'paid') return { applied: false, payoutId, status: payout.status, why: 'already' };
    if (payout.status === 'returned')
      return { applied: false, payoutId, status: payout.status, why: 'backwards' };
    const posted = await postEntry(client, payoutPaid(common));
    await setPayoutStatus(client, payout.id, payout.status, 'paid', {
      reason: 'confirmed paid',
      source: outcome.source,
      reference: outcome.reference,
    });
    return { applied: true, payoutId, from: payout.status, to: 'paid', entryId: posted.entryId };
  }
  if (payout.status === 'returned')
    return { applied: false, payoutId, status: payout.status, why: 'already' };
  const reason = outcome.reason ?? 'returned by the bank';
  const posted = await postEntry(
    client,
    payoutReturned({ ...common, wasPaid: payout.status === 'paid', reason }),
  );
  await setPayoutStatus(client, payout.id, payout.status, 'returned', {
    reason,
    source: outcome.source,
    reference: outcome.reference,
    returnReason: reason,
  });
  if (outcome.flagSeller !== false) {
    // Only the payout's currency stops: its account (the own currency's, or that currency's) needs new details.
    await flagNeedsBankDetails(
      client,
      payout.sellerAccount,
      payout.currency,
      `payout ${payout.id} returned: ${reason}`,
    );
  }
  return { applied: true, payoutId, from: payout.status, to: 'returned', entryId: posted.entryId };
}

/** Marks pending payouts as handed to the provider (in a file, or accepted by its API). */
export async function markInTransit(
  client: PoolClient,
  payoutId: string,
  step: { source: string; reference: string; providerReference?: string },
): Promise<boolean> {
  const payout = await getPayout(client, payoutId, { forUpdate: true });
  if (!payout || payout.status !== 'pending') return false;
  await setPayoutStatus(client, payoutId, 'pending', 'in_transit', {
    reason: 'handed to the payout provider',
    source: step.source,
    reference: step.reference,
    ...(step.providerReference === undefined ? {} : { providerReference: step.providerReference }),
  });
  return true;
}
