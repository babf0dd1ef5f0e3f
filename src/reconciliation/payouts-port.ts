import type { PoolClient, Queryable } from '../db/pool.ts';
import { settlePayout } from '../payouts/settle.ts';
import type { PayoutFacts } from './domain/types.ts';

/**
 * Our payouts as reconciliation needs them: looked up by the EndToEndId of a bank line (our payout id), and settled
 * paid or returned through the payouts module's own `settlePayout`, the code path every other source of truth
 * (provider webhooks, camt statements) uses. Behind this small interface so a deployment without the payouts
 * module, or a test, can pass another.
 */
export interface PayoutSide {
  findByEndToEndIds(db: Queryable, ids: string[]): Promise<Map<string, PayoutFacts>>;
  settle(
    client: PoolClient,
    payoutId: string,
    outcome: { kind: 'paid' | 'returned'; reason: string | undefined; reference: string; effectiveAt?: Date },
  ): Promise<{ applied: boolean; already: boolean; detail: string }>;
}

export const defaultPayoutSide: PayoutSide = {
  async findByEndToEndIds(db, ids) {
    const found = new Map<string, PayoutFacts>();
    if (ids.length === 0) return found;
    const rows = await db.query<{
      id: string;
      amount_minor: bigint;
      currency: string;
      status: PayoutFacts['status'];
    }>('SELECT id, amount_minor, currency, status FROM payouts.payouts WHERE id = ANY($1::text[])', [ids]);
    for (const row of rows.rows) {
      found.set(row.id, {
        id: row.id,
        amountMinor: row.amount_minor,
        currency: row.currency,
        status: row.status,
      });
    }
    return found;
  },
  async settle(client, payoutId, outcome) {
    const result = await settlePayout(client, payoutId, {
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
};
