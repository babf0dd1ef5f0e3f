import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { SandboxRuntime } from './http.ts';
import { loadSandboxPayoutProviderConfig, plannedOutcome } from './payout-provider-config.ts';
import { signPayload } from './signature.ts';

/**
 * The sandbox's payout-provider API (docs/sandbox.md, docs/payouts.md): `POST /v1/payout_provider/transfers`
 * accepts a payout (idempotent on `external_id`, the payout id), `GET /v1/payout_provider/transfers/{id}` shows it.
 * After `SANDBOX_PAYOUT_DELAY_MS` a background loop pays it or returns it (by the destination's last digits:
 * 0004 closed account, 0001 invalid account) and POSTs a signed event to the transfer's `notify_url`
 * (`Sandbox-Signature: t=…,v1=…`), retrying with backoff until it gets a 2xx.
 */

interface TransferRow {
  id: string;
  external_id: string;
  amount_minor: bigint;
  currency: string;
  status: string;
  reason: string | null;
  notify_url: string | null;
  event_id: string | null;
  attempts: number;
}

function transferToWire(row: TransferRow): Record<string, unknown> {
  return {
    object: 'payout_transfer',
    id: row.id,
    external_id: row.external_id,
    amount_minor: row.amount_minor.toString(),
    currency: row.currency,
    status: row.status,
    reason: row.reason,
  };
}

const COLUMNS = 'id, external_id, amount_minor, currency, status, reason, notify_url, event_id, attempts';

export function registerPayoutProviderRoutes(app: FastifyInstance, runtime: SandboxRuntime): void {
  const config = loadSandboxPayoutProviderConfig(runtime.config.payoutWebhookSecret);
  const pool = runtime.pool;

  app.post('/v1/payout_provider/transfers', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const externalId = body.external_id;
    const amount = body.amount_minor;
    const destination = body.destination;
    if (
      typeof externalId !== 'string' ||
      typeof amount !== 'string' ||
      !/^[1-9]\d{0,17}$/.test(amount) ||
      typeof body.currency !== 'string' ||
      typeof destination !== 'object' ||
      destination === null
    ) {
      return reply.code(400).send({
        error: {
          type: 'invalid_request_error',
          message: 'external_id, amount_minor, currency and destination are required',
        },
      });
    }
    const planned = plannedOutcome(destination as Record<string, unknown>);
    const delayMs =
      typeof body.complete_after_ms === 'number' ? body.complete_after_ms : config.completeAfterMs;
    const inserted = await pool.query<TransferRow>(
      `INSERT INTO sandbox.payout_transfers (id, external_id, amount_minor, currency, destination, status, planned_outcome,
         reason, complete_at, notify_url)
       VALUES ($1, $2, $3, $4, $5, 'processing', $6, $7, $8, $9)
       ON CONFLICT (external_id) DO NOTHING RETURNING ${COLUMNS}`,
      [
        `tr_${randomBytes(10).toString('hex')}`,
        externalId,
        BigInt(amount),
        body.currency,
        JSON.stringify(destination),
        planned.outcome,
        planned.reason,
        new Date(runtime.now().getTime() + delayMs),
        typeof body.notify_url === 'string' ? body.notify_url : null,
      ],
    );
    const row =
      inserted.rows[0] ??
      (
        await pool.query<TransferRow>(
          `SELECT ${COLUMNS} FROM sandbox.payout_transfers WHERE external_id = $1`,
          [externalId],
        )
      ).rows[0];
    if (!row) throw new Error(`sandbox transfer ${externalId} vanished`);
    return reply.code(inserted.rows[0] ? 201 : 200).send(transferToWire(row));
  });

  app.get('/v1/payout_provider/transfers/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    const found = await pool.query<TransferRow>(
      `SELECT ${COLUMNS} FROM sandbox.payout_transfers WHERE id = $1`,
      [id],
    );
    const row = found.rows[0];
    if (!row)
      return reply
        .code(404)
        .send({ error: { type: 'invalid_request_error', message: `No such transfer: ${id}` } });
    return transferToWire(row);
  });

  // One statement a tick: transfers whose time came are paid or returned, and the events due (those just
  // decided, and retries) are read. The second branch reads the tick's snapshot, where the transfers decided in
  // `done` are still processing, so none is read twice.
  const deliver = async () => {
    const due = await pool.query<TransferRow>(
      `WITH done AS (
         UPDATE sandbox.payout_transfers SET status = planned_outcome, event_id = 'evt_po_' || md5(id || planned_outcome),
           next_attempt_at = $1 WHERE status = 'processing' AND complete_at <= $1
         RETURNING ${COLUMNS}, notified_at, next_attempt_at)
       SELECT ${COLUMNS} FROM (
         SELECT ${COLUMNS}, next_attempt_at FROM done WHERE notified_at IS NULL AND notify_url IS NOT NULL
         UNION ALL
         SELECT ${COLUMNS}, next_attempt_at FROM sandbox.payout_transfers
          WHERE notified_at IS NULL AND status <> 'processing' AND notify_url IS NOT NULL AND next_attempt_at <= $1
       ) due ORDER BY next_attempt_at LIMIT 50`,
      [runtime.now()],
    );
    for (const row of due.rows) {
      const payload = JSON.stringify({
        id: row.event_id,
        type: row.status === 'paid' ? 'payout.paid' : 'payout.returned',
        data: {
          external_id: row.external_id,
          transfer_id: row.id,
          ...(row.reason === null ? {} : { reason: row.reason }),
        },
      });
      let ok = false;
      try {
        const response = await fetch(row.notify_url ?? '', {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'sandbox-signature': signPayload(payload, config.webhookSecret, Math.floor(Date.now() / 1000)),
          },
          body: payload,
          signal: AbortSignal.timeout(5_000),
        });
        ok = response.ok;
      } catch (error) {
        runtime.log.debug({ err: error, transfer: row.id }, 'sandbox payout webhook failed');
      }
      const backoffMs = Math.min(60_000, 100 * 2 ** row.attempts);
      await pool.query(
        `UPDATE sandbox.payout_transfers SET attempts = attempts + 1,
           notified_at = CASE WHEN $2 THEN now() ELSE NULL END,
           next_attempt_at = CASE WHEN $2 THEN next_attempt_at ELSE $3 END WHERE id = $1`,
        [row.id, ok, new Date(runtime.now().getTime() + backoffMs)],
      );
    }
  };

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const loop = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = deliver()
        .catch((error: unknown) => {
          if (!stopped) runtime.log.warn({ err: error }, 'sandbox payout provider: tick failed');
        })
        .finally(loop);
    }, config.tickMs);
    timer.unref();
  };
  app.addHook('onListen', async () => {
    stopped = false;
    loop();
  });
  app.addHook('onClose', async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await running;
  });
}
