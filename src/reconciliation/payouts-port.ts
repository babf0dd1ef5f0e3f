import type { Pool, PoolClient, Queryable } from '../db/pool.ts';
import type { PayoutFacts } from './domain/types.ts';

/**
 * Our payouts as reconciliation needs them: looked up by the EndToEndId of a bank line (our payout id), and settled
 * paid or returned through the payouts module's own `settlePayout`, the code path every other source of truth
 * (provider webhooks, camt statements) uses. Behind this small interface so a deployment without the payouts
 * module, or a test, can pass another.
 */
export interface PayoutSide {
  findByEndToEndIds(db: Queryable, ids: string[]): Promise<Map<string, PayoutFacts>>;
  /** Payouts in id order after `after`, with their statuses (the internal check against postings). */
  payoutStatusesPage(
    db: Queryable,
    after: string,
    limit: number,
  ): Promise<Array<{ id: string; status: string }>>;
  settle(
    client: PoolClient,
    payoutId: string,
    outcome: { kind: 'paid' | 'returned'; reason: string | undefined; reference: string; effectiveAt?: Date },
  ): Promise<{ applied: boolean; already: boolean; detail: string }>;
  /** Applies a pain.002 status report (the payouts module's settleFromStatusReport); absent: refused. */
  applyStatusReport?(pool: Pool, text: string, name: string): Promise<StatusReportOutcome>;
  /** Applies an ACH return/NOC file (the payouts module's settleFromAch); absent: refused. */
  applyAchReturns?(pool: Pool, text: string, name: string): Promise<AchReturnsOutcome>;
  /** Payout batches (a pain.001 file, an ACH batch) a bank line's references name; absent: none. */
  findBatches?(
    db: Queryable,
    references: string[],
  ): Promise<
    Array<{ reference: string; kind: string; amountMinor: bigint; currency: string; payoutIds: string[] }>
  >;
}

/** What applying a pain.002 report did, and what it named that Bursar never sent (filed for investigation). */
export interface StatusReportOutcome {
  duplicate: boolean;
  originalMessageId: string;
  payoutFileId: string | undefined;
  groupStatus: string | undefined;
  accepted: number;
  returned: number;
  recorded: number;
  unchanged: number;
  unknown: Array<{
    kind: 'file' | 'payout';
    reference: string;
    status: string | undefined;
    reason: string | undefined;
  }>;
}

/** What applying an ACH return/NOC file did, and the lines that settled nothing (filed for investigation). */
export interface AchReturnsOutcome {
  sha256: string;
  entries: number;
  returned: number;
  corrections: number;
  unchanged: number;
  unmatched: Array<{
    line: number;
    reason: string;
    kind: 'return' | 'noc' | 'entry';
    code?: string;
    originalTrace?: string;
    traceNumber?: string;
    amountMinor?: bigint;
  }>;
}

/** The payouts module's functions a `PayoutSide` is made of (its index.ts exports them). */
export interface PayoutsFunctions {
  findPayoutsByIds(db: Queryable, ids: string[]): Promise<Map<string, PayoutFacts>>;
  payoutStatusesPage(
    db: Queryable,
    after: string,
    limit: number,
  ): Promise<Array<{ id: string; status: string }>>;
  settlePayout(
    client: PoolClient,
    payoutId: string,
    outcome: {
      kind: 'paid' | 'returned';
      reason?: string;
      source: string;
      reference: string;
      effectiveAt?: Date;
    },
  ): Promise<
    | { applied: true; from: string; to: string; entryId: string }
    | { applied: false; status: string; why: string }
  >;
  settleFromStatusReport?(pool: Pool, text: string, name: string): Promise<StatusReportOutcome>;
  settleFromAch?(pool: Pool, text: string, name: string): Promise<AchReturnsOutcome>;
  findPayoutBatches?: PayoutSide['findBatches'];
}

/** Reconciliation's view of payouts, made of the payouts module's own functions (wired in src/compose.ts). */
export function payoutSideOf(payouts: PayoutsFunctions): PayoutSide {
  return {
    findByEndToEndIds: (db, ids) => payouts.findPayoutsByIds(db, ids),
    payoutStatusesPage: (db, after, limit) => payouts.payoutStatusesPage(db, after, limit),
    async settle(client, payoutId, outcome) {
      const result = await payouts.settlePayout(client, payoutId, {
        kind: outcome.kind,
        ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
        source: 'reconciliation',
        reference: outcome.reference,
        ...(outcome.effectiveAt === undefined ? {} : { effectiveAt: outcome.effectiveAt }),
      });
      return result.applied
        ? { applied: true, already: false, detail: `${result.from} -> ${result.to} (${result.entryId})` }
        : { applied: false, already: result.why === 'already', detail: `${result.status}: ${result.why}` };
    },
    ...(payouts.settleFromStatusReport === undefined
      ? {}
      : { applyStatusReport: payouts.settleFromStatusReport }),
    ...(payouts.settleFromAch === undefined ? {} : { applyAchReturns: payouts.settleFromAch }),
    ...(payouts.findPayoutBatches === undefined ? {} : { findBatches: payouts.findPayoutBatches }),
  };
}
