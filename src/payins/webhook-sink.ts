import { keptWebhookSecret } from '../webhooks/kept-secret.ts';
import { signPayload } from '../webhooks/signature.ts';
import type { OutboxMessage, OutboxSink } from './outbox.ts';

/** The marketplace's webhook endpoint, where Bursar sends what happened to its payments. */
export interface MarketplaceWebhookConfig {
  url: string;
  /** `whsec_…`: the key of the HMAC in `Bursar-Signature`. */
  secret: string;
  timeoutMs: number;
}

export const MARKETPLACE_WEBHOOK_SECRET_FILE = 'marketplace-webhook-secret';

/**
 * BURSAR_WEBHOOK_URL turns outgoing webhooks on. BURSAR_WEBHOOK_SECRET signs them; when unset, a secret is
 * generated once and kept (mode 0600) in `<dataDir>/marketplace-webhook-secret`, and `npm start` prints where.
 */
export function loadMarketplaceWebhookConfig(
  env: NodeJS.ProcessEnv,
  dataDir: string,
): MarketplaceWebhookConfig | undefined {
  const url = env.BURSAR_WEBHOOK_URL;
  if (url === undefined || url === '') return undefined;
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`BURSAR_WEBHOOK_URL must be an http(s) URL, got "${url}"`);
  }
  const timeoutRaw = env.BURSAR_WEBHOOK_TIMEOUT_MS;
  const timeoutMs = timeoutRaw && /^\d{1,6}$/.test(timeoutRaw) ? Number.parseInt(timeoutRaw, 10) : 10_000;
  return {
    url,
    secret: env.BURSAR_WEBHOOK_SECRET || keptWebhookSecret(dataDir, MARKETPLACE_WEBHOOK_SECRET_FILE),
    timeoutMs,
  };
}

/** The event as the marketplace receives it; `id` is stable across redeliveries, so receivers can dedupe. */
export function webhookEventBody(message: OutboxMessage): string {
  return JSON.stringify({
    id: `evt_${message.id.toString()}`,
    object: 'event',
    type: message.topic,
    created: Math.floor(message.createdAt.getTime() / 1000),
    data: message.payload,
  });
}

/**
 * Sends each outbox message to the marketplace as a signed POST (`Bursar-Signature: t=…,v1=…`, the scheme of
 * Stripe's webhooks). Any 2xx is a delivery; anything else, a timeout or a refused connection is a failure that
 * the outbox retries with backoff.
 */
export function createWebhookSink(
  config: MarketplaceWebhookConfig,
  now: () => Date = () => new Date(),
): OutboxSink {
  return async (message) => {
    const body = webhookEventBody(message);
    const signature = signPayload(body, config.secret, Math.floor(now().getTime() / 1000));
    const response = await fetch(config.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'bursar-signature': signature,
        'user-agent': 'Bursar-Webhooks/1',
      },
      body,
      signal: AbortSignal.timeout(config.timeoutMs),
      redirect: 'manual',
    });
    await response.body?.cancel();
    if (response.status < 200 || response.status > 299) {
      throw new Error(`the webhook endpoint answered ${response.status}`);
    }
  };
}
