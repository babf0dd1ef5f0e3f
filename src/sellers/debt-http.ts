import { z } from 'zod';
import type { AppContext } from '../context.ts';
import type { Pool, Queryable } from '../db/pool.ts';
import { sqlState, withTransaction } from '../db/tx.ts';
import type { App } from '../http/app.ts';
import { moneyPostIdentity } from '../http/money-post.ts';
import { errorResponses } from '../http/schemas.ts';
import {
  answerFromRecord,
  beginIdempotentRequest,
  completeIdempotentRequest,
  findIdempotencyRecord,
  requestFingerprint,
  requestInProgress,
  type IdempotencyKeyRef,
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

interface Answer {
  status: number;
  body: unknown;
  replayed: boolean;
}

async function replayOf(
  db: Queryable,
  ref: IdempotencyKeyRef,
  fingerprint: Buffer,
): Promise<Answer | undefined> {
  const record = await findIdempotencyRecord(db, ref);
  if (!record) return undefined;
  const answer = answerFromRecord(
    record,
    fingerprint,
    'this Idempotency-Key was used with a different request',
  );
  if (answer.outcome !== 'replay') {
    throw requestInProgress(answer.outcome === 'in_progress' ? answer.retryAfterSeconds : 1);
  }
  return { status: answer.status, body: answer.body, replayed: true };
}

/**
 * One write-off request with its Idempotency-Key, in one transaction: replay, or claim the key, write off (or
 * preview), store the reply. Refusals are not stored, so a retry after the debt ages is decided afresh.
 */
export async function idempotentWriteOff(
  pool: Pool,
  ref: IdempotencyKeyRef,
  fingerprint: Buffer,
  input: WriteOffInput,
): Promise<Answer> {
  const attempt = async (): Promise<Answer> =>
    withTransaction(pool, async (client) => {
      const prior = await replayOf(client, ref, fingerprint);
      if (prior) return prior;
      if (!(await beginIdempotentRequest(client, ref, { fingerprint, ttlMs: null, leaseMs: 60_000 }))) {
        const winner = await replayOf(client, ref, fingerprint);
        if (winner) return winner;
        throw requestInProgress(1);
      }
      const reply = { status: 200, body: debtWriteOffToWire(await writeOffDebt(client, input)) };
      await completeIdempotentRequest(client, ref, reply);
      return { ...reply, replayed: false };
    });
  try {
    return await attempt();
  } catch (error) {
    // A concurrent request with the same key committed first: answer from its stored reply.
    if (sqlState(error) === '23505') return await attempt();
    throw error;
  }
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
