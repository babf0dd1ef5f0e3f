import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { App, RouteModule } from '../http/app.ts';
import { formatAmount, assertCurrency } from '../money/index.ts';
import { moneyPostIdentity } from '../http/money-post.ts';
import { errorResponses, listOf } from '../http/schemas.ts';
import {
  PayoutFileDownload,
  PayoutFileWire,
  PayoutWire,
  SANDBOX_WEBHOOK_ROUTE,
  xmlStream,
} from './http-schemas.ts';
import { getSellerOrThrow } from '../sellers/index.ts';
import { getPayoutFile, listPayoutFiles, payoutFileStream, type PayoutFile } from './files.ts';
import { createManualPayout } from './manual.ts';
import type { PayoutsRuntime } from './runtime.ts';
import { processSandboxPayoutEvent, verifySandboxPayoutEvent } from './sandbox-provider/webhook.ts';
import { getHistory, getPayout, listSellerPayouts } from './store.ts';
import { payoutToWire } from './wire.ts';
import { payoutListRoute } from './list-http.ts';
import { providerNameFor } from './port.ts';
import { bankAccountRemovalRoute } from './bank-account-http.ts';

const SellerAccount = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 of A-Z a-z 0-9 _ -');
const PayoutId = z.string().regex(/^po_[a-z0-9]{1,32}$/, 'must be a payout id (po_…)');
const FileId = z.string().regex(/^pf_[a-z0-9]{1,32}$/, 'must be a payout file id (pf_…)');
const Page = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  starting_after: z.string().max(64).optional(),
});

const CreatePayoutBody = z
  .object({
    seller_account: SellerAccount,
    amount: z.unknown(),
    currency: z.string(),
    description: z.string().max(140).optional(),
  })
  .strict();

function fileToWire(file: PayoutFile): PayoutFileWire {
  const currency = assertCurrency(file.currency);
  return {
    object: 'payout_file',
    id: file.id,
    format: file.format,
    message_id: file.messageId,
    run_date: file.runDate,
    debtor_iban: file.debtorIban,
    currency,
    transactions: file.txCount,
    control_sum: formatAmount(file.ctrlSumMinor, currency),
    size_bytes: Number(file.sizeBytes),
    sha256: file.sha256,
    created_at: file.createdAt.toISOString(),
    download_url: `/v1/payout-files/${file.id}`,
  };
}

/**
 * Pay-out routes (docs/payouts.md): payouts, manual payouts, payout files, and the sandbox provider's webhook,
 * which exists only while the sandbox is the configured provider (a provider's webhook route is no wider an
 * opening than the provider in use). Reading the configuration here also makes a bad one fail at start-up.
 */
export function payoutRoutes(runtime: PayoutsRuntime): RouteModule {
  return (app) => registerPayoutRoutes(app, runtime);
}

function registerPayoutRoutes(app: App, runtime: PayoutsRuntime): void {
  const sandboxIsProvider =
    runtime.config.provider === 'sandbox' || runtime.config.providers.includes('sandbox');
  payoutReadRoutes(app, runtime);
  payoutListRoute(app, runtime);
  manualPayoutRoute(app, runtime);
  bankAccountRemovalRoute(app, runtime);
  payoutFileRoutes(app, runtime);
  if (sandboxIsProvider) sandboxWebhookRoute(app, runtime);
}

/** `GET /v1/sellers/{id}/payouts` and `GET /v1/payouts/{id}`. */
function payoutReadRoutes(app: App, runtime: PayoutsRuntime): void {
  const { ctx } = runtime;
  app.get(
    '/v1/sellers/:seller_account/payouts',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: "A seller's payouts",
        description: "The seller's payouts, newest first.",
        tags: ['payouts'],
        params: z.object({ seller_account: SellerAccount }),
        querystring: Page,
        response: { 200: listOf(PayoutWire), ...errorResponses() },
      },
    },
    async (request) => {
      const seller = await getSellerOrThrow(ctx.pool, request.params.seller_account);
      const payouts = await listSellerPayouts(ctx.pool, seller.sellerAccount, {
        limit: request.query.limit + 1,
        ...(request.query.starting_after === undefined
          ? {}
          : { startingAfter: request.query.starting_after }),
      });
      return {
        object: 'list' as const,
        data: payouts.slice(0, request.query.limit).map((payout) => payoutToWire(payout)),
        has_more: payouts.length > request.query.limit,
      };
    },
  );

  app.get(
    '/v1/payouts/:id',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: 'A payout',
        description: 'One payout with its status history.',
        tags: ['payouts'],
        params: z.object({ id: PayoutId }),
        response: { 200: PayoutWire, ...errorResponses() },
      },
    },
    async (request) => {
      const payout = await getPayout(ctx.pool, request.params.id);
      if (!payout) throw new AppError('payout_not_found', `no payout ${request.params.id}`);
      return payoutToWire(payout, await getHistory(ctx.pool, payout.id));
    },
  );
}

/** `POST /v1/payouts`: a manual payout. */
function manualPayoutRoute(app: App, runtime: PayoutsRuntime): void {
  const { ctx } = runtime;
  app.post(
    '/v1/payouts',
    {
      config: { auth: { scope: 'payments:write', moneyMoving: true } },
      schema: {
        summary: 'Pay a seller out now',
        description:
          "A manual payout of the seller's available balance (or of an amount); Idempotency-Key required.",
        tags: ['payouts'],
        body: CreatePayoutBody,
        response: { 201: PayoutWire, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { apiKey, idempotencyKey } = moneyPostIdentity(request);
      const result = await createManualPayout(ctx.pool, {
        apiKeyId: apiKey.id,
        idempotencyKey,
        body: request.body,
        provider: (bank) => providerNameFor(runtime.provider, bank),
        path: '/v1/payouts',
      });
      if (result.replayed) void reply.header('idempotent-replayed', 'true');
      // A stored (replayed) answer is the payout's wire body; the response schema checks it on the way out.
      return reply.code(result.status as 201).send(result.body as PayoutWire);
    },
  );
}

/** `GET /v1/payout-files` and `GET /v1/payout-files/{id}` (the pain.001 download). */
function payoutFileRoutes(app: App, runtime: PayoutsRuntime): void {
  const { ctx } = runtime;
  app.get(
    '/v1/payout-files',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: 'List payout files',
        description: 'The payment files (pain.001) of payout runs, newest first.',
        tags: ['payouts'],
        querystring: Page,
        response: { 200: listOf(PayoutFileWire), ...errorResponses() },
      },
    },
    async (request) => {
      const files = await listPayoutFiles(ctx.pool, {
        limit: request.query.limit + 1,
        ...(request.query.starting_after === undefined
          ? {}
          : { startingAfter: request.query.starting_after }),
      });
      return {
        object: 'list' as const,
        data: files.slice(0, request.query.limit).map(fileToWire),
        has_more: files.length > request.query.limit,
      };
    },
  );

  app.get(
    '/v1/payout-files/:id',
    {
      config: { auth: { scope: 'payments:read' } },
      schema: {
        summary: 'A payout file',
        description: 'One payout file with its payouts; the XML with Accept: application/xml.',
        tags: ['payouts'],
        params: z.object({ id: FileId }),
        response: { 200: PayoutFileDownload, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const file = await getPayoutFile(ctx.pool, request.params.id);
      if (!file) throw new AppError('payout_file_not_found', `no payout file ${request.params.id}`);
      const ach = file.format === 'nacha';
      return reply
        .type(ach ? 'text/plain; charset=us-ascii' : 'application/xml')
        .header('content-disposition', `attachment; filename="${file.id}.${ach ? 'ach' : 'xml'}"`)
        .header('content-length', String(file.sizeBytes))
        .send(xmlStream(payoutFileStream(ctx.pool, file.id)));
    },
  );
}

/** `POST /v1/webhooks/payouts/sandbox`: registered only while the sandbox is the payout provider. */
function sandboxWebhookRoute(app: App, runtime: PayoutsRuntime): void {
  const { ctx } = runtime;
  app.post('/v1/webhooks/payouts/sandbox', SANDBOX_WEBHOOK_ROUTE, async (request, reply) => {
    const raw = request.rawBody;
    if (raw === undefined || raw.length === 0) {
      throw new AppError('webhook_signature_invalid', 'the webhook has no body to verify');
    }
    const { sandboxWebhookSecret } = runtime.config;
    if (sandboxWebhookSecret === undefined)
      throw new AppError('webhook_signature_invalid', 'the sandbox is not the payout provider');
    const header = request.headers['sandbox-signature'];
    const event = verifySandboxPayoutEvent(
      raw,
      typeof header === 'string' ? header : undefined,
      sandboxWebhookSecret,
      Date.now(),
    );
    const result = await processSandboxPayoutEvent(ctx.pool, event, ctx.log);
    return reply.code(200).send({ received: true, duplicate: result === undefined });
  });
}
