import { z } from 'zod';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/pool.ts';
import type { App } from '../http/app.ts';
import { errorResponses, listOf, Timestamp } from '../http/schemas.ts';

/** One change of a seller's bank details, masked, as the sellers module keeps it. */
export interface BankChange {
  id: bigint;
  apiKeyId: string | null;
  before: unknown;
  after: unknown;
  changedAt: Date;
}

export type BankHistorySource = (db: Queryable, sellerAccount: string) => Promise<BankChange[]>;

const BankChangeWire = z.object({
  id: z.string(),
  object: z.literal('bank_details_change'),
  api_key_id: z.string().nullable().describe('the key that made the change (null: a session or the CLI)'),
  before: z.unknown().describe('the masked bank details before'),
  after: z.unknown().describe('the masked bank details after'),
  changed_at: Timestamp,
});

/** `GET /dashboard/api/sellers/{seller_account}/bank_details_history`: every bank-detail change, oldest first. */
export function bankHistoryRoute(app: App, ctx: AppContext, history: BankHistorySource): void {
  app.get(
    '/dashboard/api/sellers/:seller_account/bank_details_history',
    {
      config: { auth: { operator: 'viewer' } },
      schema: {
        summary: 'A seller’s bank-detail changes',
        description: 'Every change of the seller’s payout bank details, masked, oldest first.',
        tags: ['dashboard'],
        params: z.object({ seller_account: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/) }),
        response: { 200: listOf(BankChangeWire), ...errorResponses() },
      },
    },
    async (request) => ({
      object: 'list' as const,
      has_more: false,
      data: (await history(ctx.pool, request.params.seller_account)).map((change) => ({
        id: change.id.toString(),
        object: 'bank_details_change' as const,
        api_key_id: change.apiKeyId,
        before: change.before,
        after: change.after,
        changed_at: change.changedAt.toISOString(),
      })),
    }),
  );
}
