import type { Pool, PoolClient } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { canRetry, retryDelayMs } from '../jobs/backoff.ts';
import type { Logger } from '../log.ts';
import { randomHexId } from '../random-id.ts';
import { signPayload } from '../webhooks/signature.ts';
import type { EventsConfig } from './config.ts';
import { postJson, type PostResult } from './post.ts';
import { recordEvent } from './record.ts';
import type { SecretBox } from './secret-box.ts';
import { endpointToWire } from './wire.ts';
import { getEndpoint } from './store.ts';

export interface SenderDeps {
  pool: Pool;
  log: Logger;
  config: EventsConfig;
  box: SecretBox;
  /** Sends one request; node:http(s) with the SSRF guard by default (a test may stand in). */
  post?: typeof postJson;
}

interface Claimed {
  id: string;
  event_id: string;
  endpoint_id: string;
  attempts: number;
  type: string;
  api_version: string;
  data: { object: Record<string, unknown> };
  event_created: Date;
  url: string;
  source: 'api' | 'env';
  secret_enc: string;
  previous_secret_enc: string | null;
  previous_signing: boolean;
}

const LEASE_MS = 120_000;

/** The event exactly as an endpoint receives it (Stripe's envelope). */
export function eventBody(row: {
  event_id: string;
  type: string;
  api_version: string;
  data: { object: Record<string, unknown> };
  event_created: Date;
}): string {
  return JSON.stringify({
    id: row.event_id,
    object: 'event',
    type: row.type,
    api_version: row.api_version,
    created: Math.floor(row.event_created.getTime() / 1000),
    data: row.data,
  });
}

/** `t=…,v1=…` signed by the current secret, and by the previous one too while its grace period lasts. */
export function signatureHeader(body: string, secrets: string[], timestampSeconds: number): string {
  const parts = [`t=${timestampSeconds}`];
  for (const secret of secrets) parts.push(signPayload(body, secret, timestampSeconds).split(',')[1] ?? '');
  return parts.join(',');
}

async function claim(pool: Pool, limit: number): Promise<Claimed[]> {
  const result = await pool.query<Claimed>(
    `UPDATE events.deliveries d
        SET lease_until = now() + make_interval(secs => $2::float8 / 1000), attempts = d.attempts + 1
       FROM events.events ev, events.webhook_endpoints w
      WHERE ev.id = d.event_id AND w.id = d.endpoint_id
        AND d.id IN (SELECT d2.id FROM events.deliveries d2
                       JOIN events.webhook_endpoints w2 ON w2.id = d2.endpoint_id
                      WHERE d2.status = 'pending' AND d2.next_attempt_at <= now()
                        AND (d2.lease_until IS NULL OR d2.lease_until < now())
                        AND w2.status = 'enabled' AND w2.deleted_at IS NULL
                      ORDER BY d2.next_attempt_at, d2.id
                      LIMIT $1
                      FOR UPDATE OF d2 SKIP LOCKED)
      RETURNING d.id, d.event_id, d.endpoint_id, d.attempts, ev.type, ev.api_version, ev.data,
                ev.created_at AS event_created, w.url, w.source, w.secret_enc, w.previous_secret_enc,
                (w.previous_secret_until IS NOT NULL AND w.previous_secret_until > now()) AS previous_signing`,
    [limit, LEASE_MS],
  );
  return result.rows;
}

export interface PassResult {
  claimed: number;
  delivered: number;
  failed: number;
}

/** One pass: claims the due deliveries (up to `limit`), sends them at once, and records each outcome. */
export async function sendDue(deps: SenderDeps, limit = deps.config.concurrency): Promise<PassResult> {
  const rows = await claim(deps.pool, limit);
  const outcomes = await Promise.all(rows.map((row) => sendOne(deps, row)));
  return {
    claimed: rows.length,
    delivered: outcomes.filter((ok) => ok).length,
    failed: outcomes.filter((ok) => !ok).length,
  };
}

async function sendOne(deps: SenderDeps, row: Claimed): Promise<boolean> {
  const started = new Date();
  let result: PostResult | undefined;
  let failure: string | undefined;
  try {
    const secrets = [deps.box.open(row.secret_enc)];
    if (row.previous_signing && row.previous_secret_enc !== null)
      secrets.push(deps.box.open(row.previous_secret_enc));
    const body = eventBody(row);
    const headers = {
      'bursar-signature': signatureHeader(body, secrets, Math.floor(started.getTime() / 1000)),
      'user-agent': 'Bursar-Webhooks/1',
    };
    const allowPrivate = deps.config.allowPrivateUrls || row.source === 'env';
    result = await (deps.post ?? postJson)(row.url, body, headers, {
      timeoutMs: deps.config.timeoutMs,
      allowPrivate,
    });
    if (result.statusCode < 200 || result.statusCode > 299)
      failure = `the endpoint answered ${result.statusCode}`;
  } catch (error) {
    failure = (error instanceof Error ? error.message : String(error)).slice(0, 500) || 'delivery failed';
  }
  const latencyMs = Date.now() - started.getTime();
  try {
    await recordOutcome(deps, row, { started, latencyMs, statusCode: result?.statusCode, failure });
  } catch (error) {
    // The lease runs out and the delivery is tried again.
    deps.log.error({ err: error, deliveryId: row.id }, 'webhook delivery outcome not recorded');
  }
  return failure === undefined;
}

interface Outcome {
  started: Date;
  latencyMs: number;
  statusCode: number | undefined;
  failure: string | undefined;
}

async function recordOutcome(deps: SenderDeps, row: Claimed, outcome: Outcome): Promise<void> {
  const disabled = await withTransaction(deps.pool, async (client) => {
    await client.query(
      `INSERT INTO events.delivery_attempts
         (id, delivery_id, endpoint_id, event_id, attempt, succeeded, status_code, error, latency_ms, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        randomHexId('wha', 12),
        row.id,
        row.endpoint_id,
        row.event_id,
        row.attempts,
        outcome.failure === undefined,
        outcome.statusCode ?? null,
        outcome.failure ?? null,
        outcome.latencyMs,
        outcome.started,
      ],
    );
    if (outcome.failure === undefined) {
      await client.query(
        `UPDATE events.deliveries SET status = 'succeeded', finished_at = now(), lease_until = NULL, last_error = NULL
          WHERE id = $1`,
        [row.id],
      );
      await client.query('UPDATE events.webhook_endpoints SET consecutive_failures = 0 WHERE id = $1', [
        row.endpoint_id,
      ]);
      return false;
    }
    return await recordFailure(deps, client, row, outcome.failure);
  });
  if (disabled) {
    deps.log.error(
      { endpointId: row.endpoint_id, failures: deps.config.disableAfterFailures },
      'webhook endpoint disabled after consecutive failed deliveries; re-enable it with PATCH /v1/webhook_endpoints/{id}',
    );
  }
}

/** A failed try: retried with backoff, or failed for good; the endpoint disabled after its run of failures. */
async function recordFailure(
  deps: SenderDeps,
  client: PoolClient,
  row: Claimed,
  failure: string,
): Promise<boolean> {
  const retry = canRetry(row.attempts, deps.config.retry);
  await client.query(
    `UPDATE events.deliveries
        SET lease_until = NULL, last_error = $2,
            status = CASE WHEN $3::boolean THEN 'pending' ELSE 'failed' END,
            finished_at = CASE WHEN $3::boolean THEN NULL ELSE now() END,
            next_attempt_at = now() + make_interval(secs => $4::float8 / 1000)
      WHERE id = $1`,
    [row.id, failure, retry, retry ? retryDelayMs(row.attempts, deps.config.retry) : 0],
  );
  const counted = await client.query<{ consecutive_failures: number; status: string }>(
    `UPDATE events.webhook_endpoints SET consecutive_failures = consecutive_failures + 1
      WHERE id = $1 RETURNING consecutive_failures, status`,
    [row.endpoint_id],
  );
  const endpoint = counted.rows[0];
  if (endpoint?.status !== 'enabled' || endpoint.consecutive_failures < deps.config.disableAfterFailures)
    return false;
  await client.query(
    `UPDATE events.webhook_endpoints SET status = 'disabled', updated_at = now(),
            disabled_reason = $2 WHERE id = $1`,
    [row.endpoint_id, `disabled after ${endpoint.consecutive_failures} consecutive failed deliveries`],
  );
  const after = await getEndpoint(client, row.endpoint_id);
  if (after) await recordEvent(client, 'webhook_endpoint.disabled', { ...endpointToWire(after) });
  return true;
}
