import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import type { App, RouteModule } from '../http/app.ts';
import { parseTimestamp } from '../http/list-query.ts';
import { errorResponses } from '../http/schemas.ts';
import { assertCurrency } from '../money/index.ts';
import { getPayout } from '../payouts/index.ts';
import { getSellerOrThrow } from '../sellers/index.ts';
import { fxPositionsReport } from './fx-positions.ts';
import { fxPositionsCsv, fxPositionsToWire } from './fx-wire.ts';
import {
  FxPositionsWire,
  PayoutReconciliationWire,
  PlatformReportWire,
  StatementWire,
} from './http-schemas.ts';
import { payoutReport } from './payout-report.ts';
import { platformReport } from './platform.ts';
import { sellerStatement } from './statement.ts';
import {
  payoutCsv,
  payoutReportToWire,
  platformCsv,
  platformToWire,
  statementCsv,
  statementToWire,
} from './wire.ts';

const DAY_MS = 86_400_000;
/** The longest window one report covers (a year and a day: a leap year's statement). */
export const MAX_WINDOW_MS = 367 * DAY_MS;

const Format = z.enum(['json', 'csv']).optional().describe('csv: the same as Accept: text/csv');
const Bound = z
  .string()
  .min(1)
  .max(40)
  .optional()
  .describe('ISO 8601 time with a zone (or a date), or Unix seconds');

/** The report window (from, to]: `to` defaults to now, `from` to 30 days before `to`; at most MAX_WINDOW_MS. */
export function windowOf(query: { from?: string | undefined; to?: string | undefined }, now: Date) {
  const to = query.to === undefined ? now : parseTimestamp(query.to, 'to');
  const from =
    query.from === undefined ? new Date(to.getTime() - 30 * DAY_MS) : parseTimestamp(query.from, 'from');
  if (from.getTime() >= to.getTime()) {
    throw new AppError('validation_failed', 'from: must be before to', { field: 'from' });
  }
  if (to.getTime() - from.getTime() > MAX_WINDOW_MS) {
    throw new AppError('validation_failed', 'to: a report covers at most 367 days', { field: 'to' });
  }
  return { from, to };
}

function wantsCsv(request: {
  headers: { accept?: string | undefined };
  query: { format?: string | undefined };
}) {
  if (request.query.format !== undefined) return request.query.format === 'csv';
  return (request.headers.accept ?? '').toLowerCase().includes('text/csv');
}

const csvType = 'text/csv; charset=utf-8';

/** A 200 answered as JSON (the schema) or as CSV (text/csv, columns in docs/reports.md). */
function jsonOrCsv<T extends z.ZodType>(schema: T, description: string) {
  return {
    description,
    content: { 'application/json': { schema }, 'text/csv': { schema: z.string() } },
  };
}

/** A CSV text goes out as it is (Fastify sends a string with a non-JSON type without serializing it). */
function csvBody(text: string): never {
  return text as never;
}

/**
 * Report routes: the seller statement, a payout's transactions, the platform report and the FX positions
 * (docs/reports.md).
 */
export function reportRoutes(ctx: AppContext): RouteModule {
  return (app) => {
    statementRoute(app, ctx);
    payoutTransactionsRoute(app, ctx);
    platformRoute(app, ctx);
    fxPositionsRoute(app, ctx);
  };
}

function statementRoute(app: App, ctx: AppContext): void {
  app.get(
    '/v1/sellers/:seller_account/statement',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: "A seller's statement",
        description:
          'From the ledger: opening balance by bucket, every movement with its references, closing balance, over (from, to]. JSON, or CSV with Accept: text/csv or format=csv.',
        tags: ['reports'],
        params: z.object({ seller_account: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/) }),
        querystring: z
          .object({
            from: Bound,
            to: Bound,
            currency: z
              .string()
              .regex(/^[A-Z]{3}$/)
              .optional(),
            format: Format,
          })
          .strict(),
        response: { 200: jsonOrCsv(StatementWire, 'the statement'), ...errorResponses() },
      },
    },
    async (request, reply) => {
      const seller = await getSellerOrThrow(ctx.pool, request.params.seller_account);
      const currency = assertCurrency(request.query.currency ?? seller.currency);
      const window = windowOf(request.query, ctx.clock.now());
      const statement = await sellerStatement(ctx.pool, {
        sellerAccount: seller.sellerAccount,
        currency,
        ...window,
      });
      if (wantsCsv(request)) return reply.type(csvType).send(csvBody(statementCsv(statement)));
      return statementToWire(statement);
    },
  );
}

function payoutTransactionsRoute(app: App, ctx: AppContext): void {
  app.get(
    '/v1/payouts/:id/transactions',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: "A payout's transactions",
        description:
          "The payout reconciliation report: the ledger entries that make up the payout (released sales with gross and fee, refunds, disputes, reserves…) since the seller's previous payout. JSON, or CSV.",
        tags: ['reports', 'payouts'],
        params: z.object({ id: z.string().regex(/^po_[a-z0-9]{1,32}$/, 'must be a payout id (po_…)') }),
        querystring: z.object({ format: Format }).strict(),
        response: {
          200: jsonOrCsv(PayoutReconciliationWire, "the payout's transactions"),
          ...errorResponses(),
        },
      },
    },
    async (request, reply) => {
      const payout = await getPayout(ctx.pool, request.params.id);
      if (!payout) throw new AppError('payout_not_found', `no payout ${request.params.id}`);
      const report = await payoutReport(ctx.pool, payout);
      if (!report) throw new AppError('payout_not_found', `payout ${payout.id} has no ledger entry`);
      if (wantsCsv(request)) return reply.type(csvType).send(csvBody(payoutCsv([report])));
      return payoutReportToWire(report);
    },
  );
}

function platformRoute(app: App, ctx: AppContext): void {
  app.get(
    '/v1/reports/platform',
    {
      config: { auth: { scope: 'ops' } },
      schema: {
        summary: 'The platform report',
        description:
          "Per currency and UTC day, from the ledger's platform accounts: gross volume, refunds, disputes, platform fee revenue, PSP fees, FX revenue, losses, payouts, PSP clearing and bank balances. JSON, or CSV.",
        tags: ['reports'],
        querystring: z
          .object({
            from: Bound,
            to: Bound,
            currency: z
              .string()
              .regex(/^[A-Z]{3}$/)
              .optional(),
            format: Format,
          })
          .strict(),
        response: { 200: jsonOrCsv(PlatformReportWire, 'the platform report'), ...errorResponses() },
      },
    },
    async (request, reply) => {
      const window = windowOf(request.query, ctx.clock.now());
      const report = await platformReport(ctx.pool, { ...window, currency: request.query.currency });
      if (wantsCsv(request)) return reply.type(csvType).send(csvBody(platformCsv(report)));
      return platformToWire(report);
    },
  );
}

function fxPositionsRoute(app: App, ctx: AppContext): void {
  app.get(
    '/v1/reports/fx-positions',
    {
      config: { auth: { scope: 'ops' } },
      schema: {
        summary: 'FX positions',
        description:
          "Per currency pair, from the ledger's FX accounts over (from, to]: converted volume, FX revenue (the markup), gain or loss realised at the PSP's settlement, settlement differences booked by reconciliation, and the change of the open position in each currency; per currency, the FX accounts' opening, movement and closing. JSON, or CSV.",
        tags: ['reports'],
        querystring: z.object({ from: Bound, to: Bound, format: Format }).strict(),
        response: { 200: jsonOrCsv(FxPositionsWire, 'the FX positions'), ...errorResponses() },
      },
    },
    async (request, reply) => {
      const window = windowOf(request.query, ctx.clock.now());
      const report = await fxPositionsReport(ctx.pool, window);
      if (wantsCsv(request)) return reply.type(csvType).send(csvBody(fxPositionsCsv(report)));
      return fxPositionsToWire(report);
    },
  );
}
