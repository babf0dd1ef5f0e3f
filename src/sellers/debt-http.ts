import { z } from 'zod';
import type { AppContext } from '../context.ts';
import type { Pool } from '../db/pool.ts';
import type { App } from '../http/app.ts';
import { moneyPostIdentity } from '../http/money-post.ts';
import { errorResponses } from '../http/schemas.ts';
import {
  idempotentOnce,
  requestFingerprint,
  type IdempotencyKeyRef,
  type OnceAnswer,
} from '../idempotency/index.ts';
import { debtWriteOffToWire, writeOffDebt, type WriteOffInput } from './debt.ts';
import { loadDebtWriteOffDays } from './debt-config.ts';
import { DebtWriteOffWire } from './http-schemas.ts';

/** The Idempotency-Keys of `POST /v1/sellers/{seller_account}/debt/write_off`, kept without expiry. */
export const DEBT_WRITE_OFF_IDEMPOTENCY_SCOPE = 'seller_debt';

const WriteOffParams = z.object({
  seller_account: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 of A-Z a-z 0-9 _ -'),
});

const WriteOffBody = z
  .object({
    currency: z.string(),
    reason: z.string().trim().min(1).max(500).optional(),
    older_than_days: z.number().int().min(0).max(36500).optional(),
    dry_run: z.boolean().optional(),
  })
  .strict();

/**
 * One write-off request with its Idempotency-Key, in one transaction (`idempotentOnce`): replay, or claim the key,
 * write off (or preview), store the reply. Refusals are not stored, so a retry after the debt ages is decided afresh.
 */
export async function idempotentWriteOff(
  pool: Pool,
  ref: IdempotencyKeyRef,
  fingerprint: Buffer,
  input: WriteOffInput,
): Promise<OnceAnswer> {
  return await idempotentOnce(
    pool,
    ref,
    fingerprint,
    { ttlMs: null, leaseMs: 60_000, reusedMessage: 'this Idempotency-Key was used with a different request' },
    async (client) => ({ status: 200, body: debtWriteOffToWire(await writeOffDebt(client, input)) }),
  );
}

/** `POST /v1/sellers/{seller_account}/debt/write_off` (scope `ops`, Idempotency-Key). */
export function debtWriteOffRoute(app: App, ctx: AppContext): void {
  const defaultDays = loadDebtWriteOffDays();
  app.post(
    '/v1/sellers/:seller_account/debt/write_off',
    {
      config: { auth: { scope: 'ops', moneyMoving: true } },
      schema: {
        summary: "Write off a seller's old debt",
        description:
          "Writes off, as the platform's chargeback loss, the part of what the seller owes in `currency` that is older than `older_than_days` (default BURSAR_DEBT_WRITE_OFF_DAYS, 90). Audited (the API key, before and after). `dry_run` only says what would be written off. Refused when nothing is owed (`seller_has_no_debt`) or nothing is old enough (`debt_too_recent`).",
        tags: ['sellers'],
        params: WriteOffParams,
        body: WriteOffBody,
        response: { 200: DebtWriteOffWire, ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { apiKey, idempotencyKey } = moneyPostIdentity(request);
      const path = `/v1/sellers/${request.params.seller_account}/debt/write_off`;
      const body = request.body;
      const answer = await idempotentWriteOff(
        ctx.pool,
        { apiKeyId: apiKey.id, scope: DEBT_WRITE_OFF_IDEMPOTENCY_SCOPE, key: idempotencyKey },
        requestFingerprint('POST', path, body),
        {
          sellerAccount: request.params.seller_account,
          currency: body.currency,
          reason: body.reason ?? null,
          olderThanDays: body.older_than_days ?? defaultDays,
          dryRun: body.dry_run ?? false,
          actor: apiKey.id,
          now: ctx.clock.now(),
        },
      );
      if (answer.replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(answer.status as 200).send(answer.body as DebtWriteOffWire);
    },
  );
}
