import { z } from 'zod';
import type { App } from '../http/app.ts';
import { listQuery } from '../http/list-query.ts';
import { pageOf, pageRequestOf } from '../http/pagination.ts';
import { errorResponses, listOf } from '../http/schemas.ts';
import { PayoutWire } from './http-schemas.ts';
import { listPayouts } from './list-store.ts';
import type { PayoutsRuntime } from './runtime.ts';
import { payoutToWire } from './wire.ts';

/** A calendar date that exists (2026-02-30 does not). */
export const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date, YYYY-MM-DD')
  .refine((value) => isCalendarDate(value), 'no such date');

function isCalendarDate(value: string): boolean {
  const at = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(at.getTime()) && at.toISOString().startsWith(value);
}

const PayoutsQuery = listQuery({
  seller_account: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 of A-Z a-z 0-9 _ -')
    .optional(),
  status: z.enum(['pending', 'in_transit', 'paid', 'returned']).optional(),
  run_date: IsoDate.optional().describe("a scheduled payout run's date"),
});

/** `GET /v1/payouts`: every payout, newest first, by seller, status and run date. */
export function payoutListRoute(app: App, runtime: PayoutsRuntime): void {
  app.get(
    '/v1/payouts',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: 'List payouts',
        description: "Payouts newest first, filtered by seller, status and the scheduled run's date.",
        tags: ['payouts'],
        querystring: PayoutsQuery,
        response: { 200: listOf(PayoutWire), ...errorResponses() },
      },
    },
    async (request) => {
      const q = request.query;
      const page = pageRequestOf(q);
      const filter = { sellerAccount: q.seller_account, status: q.status, runDate: q.run_date };
      const { rows, backwards } = await listPayouts(runtime.ctx.pool, filter, page);
      return pageOf(rows, page, backwards, (payout) => payoutToWire(payout));
    },
  );
}
