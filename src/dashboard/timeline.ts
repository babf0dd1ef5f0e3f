import { z } from 'zod';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import type { App } from '../http/app.ts';
import { errorResponses, Timestamp } from '../http/schemas.ts';
import type { JournalEntry } from '../ledger/index.ts';
import type { PspEventSummary } from '../payins/index.ts';

/** What a payment's timeline is read from, each by the module that owns it (wired in src/compose.ts). */
export interface TimelineSources {
  /** The order's PSP ids (payment, charge, session); undefined when there is no such order. */
  pspIdsOf(db: Queryable, paymentOrderId: string): Promise<string[] | undefined>;
  pspEvents(db: Queryable, pspIds: string[]): Promise<PspEventSummary[]>;
  ledgerEntries(db: Queryable, paymentOrderId: string): Promise<JournalEntry[]>;
}

const PostingWire = z.object({
  account: z.string(),
  direction: z.enum(['debit', 'credit']),
  amount_minor: z.string().describe('minor units of the posting currency'),
  currency: z.string(),
});

const TimelineWire = z.object({
  object: z.literal('payment_timeline'),
  payment_order_id: z.string(),
  psp_events: z.array(
    z.object({
      id: z.string(),
      type: z.string(),
      received_at: Timestamp,
      processed_at: Timestamp.nullable(),
      outcome: z.string().nullable(),
    }),
  ),
  ledger_entries: z.array(
    z.object({
      id: z.string(),
      kind: z.string(),
      reference: z.string(),
      description: z.string(),
      created_at: Timestamp,
      postings: z.array(PostingWire),
    }),
  ),
});

function entryToWire(entry: JournalEntry) {
  return {
    id: entry.entryId,
    kind: entry.kind,
    reference: entry.reference,
    description: entry.description,
    created_at: entry.createdAt.toISOString(),
    postings: entry.postings.map((p) => ({
      account: p.accountCode,
      direction: p.direction,
      amount_minor: p.amountMinor.toString(),
      currency: p.currency,
    })),
  };
}

/**
 * `GET /dashboard/api/payments/{id}/timeline`: what the API's own routes do not show of a payment — the PSP events
 * about it and its ledger entries with their postings. The page adds the order's history, risk decision, refunds,
 * disputes and webhooks from the API routes.
 */
export function timelineRoute(app: App, ctx: AppContext, sources: TimelineSources): void {
  app.get(
    '/dashboard/api/payments/:payment_order_id/timeline',
    {
      config: { auth: { operator: 'viewer' } },
      schema: {
        summary: 'A payment’s PSP events and ledger entries',
        description:
          'The PSP events about the payment order and every ledger entry booked about it, oldest first.',
        tags: ['dashboard'],
        params: z.object({ payment_order_id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/) }),
        response: { 200: TimelineWire, ...errorResponses() },
      },
    },
    async (request) => {
      const id = request.params.payment_order_id;
      const pspIds = await sources.pspIdsOf(ctx.pool, id);
      if (pspIds === undefined) throw new AppError('not_found', `no payment order ${id}`);
      const [events, entries] = await Promise.all([
        sources.pspEvents(ctx.pool, pspIds),
        sources.ledgerEntries(ctx.pool, id),
      ]);
      return {
        object: 'payment_timeline' as const,
        payment_order_id: id,
        psp_events: events.map((e) => ({
          id: e.eventId,
          type: e.type,
          received_at: e.receivedAt.toISOString(),
          processed_at: e.processedAt?.toISOString() ?? null,
          outcome: e.outcome,
        })),
        ledger_entries: entries.map(entryToWire),
      };
    },
  );
}
