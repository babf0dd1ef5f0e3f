import { randomBytes } from 'node:crypto';
import type { Pool } from '../db/pool.ts';
import { withTransaction } from '../db/tx.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { randomHexId } from '../random-id.ts';
import type { EventsConfig } from './config.ts';
import type { SecretBox } from './secret-box.ts';
import {
  getEndpoint,
  insertEndpoint,
  rollSecret,
  updateEndpoint,
  type EndpointChange,
  type EndpointRow,
} from './store.ts';
import { checkEndpointUrl } from './url-guard.ts';

export interface EndpointsDeps {
  pool: Pool;
  log: Logger;
  config: EventsConfig;
  box: SecretBox;
}

export function newSigningSecret(): string {
  return `whsec_${randomBytes(24).toString('base64url')}`;
}

/** Event types an endpoint may ask for: dotted lower-case names, or `*` for every type. */
export function checkEnabledEvents(types: string[]): string[] {
  const bad = types.find((t) => t !== '*' && !/^[a-z_]+(\.([a-z_]+|\*))+$/.test(t));
  if (bad !== undefined) {
    throw new AppError('validation_failed', `enabled_events: "${bad.slice(0, 60)}" is not an event type`, {
      field: 'enabled_events',
    });
  }
  return [...new Set(types)];
}

export async function createEndpoint(
  deps: EndpointsDeps,
  input: { url: string; enabledEvents: string[]; description?: string | undefined },
): Promise<{ endpoint: EndpointRow; secret: string }> {
  const url = await checkEndpointUrl(input.url, deps.config.allowPrivateUrls);
  const secret = newSigningSecret();
  const endpoint = await insertEndpoint(deps.pool, {
    id: randomHexId('we', 12),
    url,
    description: input.description ?? null,
    enabledEvents: checkEnabledEvents(input.enabledEvents),
    secretEnc: deps.box.seal(secret),
    source: 'api',
  });
  deps.log.info(
    { endpointId: endpoint.id, enabledEvents: endpoint.enabled_events },
    'webhook endpoint created',
  );
  return { endpoint, secret };
}

export async function changeEndpoint(
  deps: EndpointsDeps,
  id: string,
  change: {
    url?: string | undefined;
    description?: string | null | undefined;
    enabledEvents?: string[] | undefined;
    disabled?: boolean | undefined;
  },
): Promise<EndpointRow> {
  const existing = await getEndpoint(deps.pool, id);
  if (!existing) throw new AppError('webhook_endpoint_not_found', `no webhook endpoint ${id}`);
  if (existing.source === 'env' && (change.url !== undefined || change.enabledEvents !== undefined)) {
    throw new AppError(
      'validation_failed',
      'the endpoint of BURSAR_WEBHOOK_URL takes its url and events from the environment',
      { field: change.url !== undefined ? 'url' : 'enabled_events' },
    );
  }
  const patch: EndpointChange = {
    url:
      change.url === undefined ? undefined : await checkEndpointUrl(change.url, deps.config.allowPrivateUrls),
    description: change.description,
    enabledEvents: change.enabledEvents === undefined ? undefined : checkEnabledEvents(change.enabledEvents),
    status: change.disabled === undefined ? undefined : change.disabled ? 'disabled' : 'enabled',
    disabledReason: change.disabled === true ? 'disabled through the API' : null,
  };
  const updated = await updateEndpoint(deps.pool, id, patch);
  if (!updated) throw new AppError('webhook_endpoint_not_found', `no webhook endpoint ${id}`);
  return updated;
}

export async function rollEndpointSecret(
  deps: EndpointsDeps,
  id: string,
  graceSeconds: number | undefined,
): Promise<{ endpoint: EndpointRow; secret: string }> {
  const secret = newSigningSecret();
  const endpoint = await rollSecret(
    deps.pool,
    id,
    deps.box.seal(secret),
    graceSeconds ?? deps.config.defaultGraceSeconds,
  );
  if (!endpoint) throw new AppError('webhook_endpoint_not_found', `no webhook endpoint ${id}`);
  deps.log.info({ endpointId: id, graceSeconds }, 'webhook endpoint secret rolled');
  return { endpoint, secret };
}

/** BURSAR_WEBHOOK_URL as read by the pay-in module (its URL and its given or kept secret). */
export interface EnvWebhook {
  url: string;
  secret: string;
}

/**
 * Keeps the endpoint of BURSAR_WEBHOOK_URL in step with the environment at start: made (all events) when the
 * variable is first set, its URL and secret updated when they change, deleted when the variable is unset.
 */
export async function syncEnvEndpoint(deps: EndpointsDeps, env: EnvWebhook | undefined): Promise<void> {
  await withTransaction(deps.pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('events.env_endpoint'))");
    const found = await client.query<EndpointRow>(
      `SELECT id, url, secret_enc FROM events.webhook_endpoints WHERE source = 'env' AND deleted_at IS NULL`,
    );
    const current = found.rows[0];
    if (env === undefined) {
      if (current) {
        await client.query(
          `UPDATE events.webhook_endpoints SET deleted_at = now(), status = 'disabled' WHERE id = $1`,
          [current.id],
        );
      }
      return;
    }
    if (!current) {
      await insertEndpoint(client, {
        id: randomHexId('we', 12),
        url: env.url,
        description: 'BURSAR_WEBHOOK_URL',
        enabledEvents: ['*'],
        secretEnc: deps.box.seal(env.secret),
        source: 'env',
      });
      return;
    }
    if (current.url !== env.url || deps.box.open(current.secret_enc) !== env.secret) {
      await client.query(
        `UPDATE events.webhook_endpoints SET url = $2, secret_enc = $3, updated_at = now() WHERE id = $1`,
        [current.id, env.url, deps.box.seal(env.secret)],
      );
    }
  });
}
