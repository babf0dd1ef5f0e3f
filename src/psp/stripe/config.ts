import {
  givenOrKeptSecret,
  isKnownDevelopmentSecret,
  KEPT_SECRET_FILES,
  sandboxSecretKey,
} from '../../webhooks/kept-secret.ts';

export interface StripePspConfig {
  secretKey: string;
  webhookSecret: string;
  /** Defaults to api.stripe.com:443 over https (real Stripe); the sandbox is http on 127.0.0.1:8081. */
  host?: string;
  port?: number;
  protocol?: 'http' | 'https';
  /** Per request; the SDK's default is 80 s, ours is shorter so a stuck call becomes `unknown` sooner. */
  timeoutMs?: number;
  /** The SDK's own retries; 0 by default because the payment executor retries with its own backoff. */
  maxNetworkRetries?: number;
  /** Kept-alive connections to the PSP at most (adapter.ts DEFAULT_PSP_MAX_SOCKETS, 128, by default). */
  maxSockets?: number;
}

/**
 * The webhook signing secret Bursar verifies PSP events with: STRIPE_WEBHOOK_SECRET when set, otherwise one
 * generated at first start and kept (mode 0600) in `<dataDir>/stripe-webhook-secret`, so restarts keep it. The
 * sandbox, when it runs on the same data dir, reads the same file to sign with.
 */
export function resolveWebhookSecret(env: NodeJS.ProcessEnv, dataDir: string): string {
  return givenOrKeptSecret(env.STRIPE_WEBHOOK_SECRET, dataDir, KEPT_SECRET_FILES.stripeWebhook);
}

/**
 * STRIPE_SECRET_KEY (for the sandbox, by default the `sk_test_…` key kept in `<dataDir>/sandbox-secret-key`), STRIPE_WEBHOOK_SECRET (else the one kept in the data dir,
 * shared with the sandbox), STRIPE_API_HOST / STRIPE_API_PORT / STRIPE_API_PROTOCOL. Without a host, the adapter
 * talks to the sandbox at `sandboxUrl`; with STRIPE_API_HOST=api.stripe.com (and a real key) to Stripe itself.
 * STRIPE_TIMEOUT_MS and STRIPE_MAX_NETWORK_RETRIES tune the SDK.
 */
export function loadStripeConfig(
  env: NodeJS.ProcessEnv,
  dataDir: string,
  sandboxUrl: string,
): StripePspConfig {
  const sandbox = new URL(sandboxUrl);
  const host = env.STRIPE_API_HOST || sandbox.hostname.replace(/^\[|\]$/g, '');
  const usingSandbox = !env.STRIPE_API_HOST;
  const protocolRaw = env.STRIPE_API_PROTOCOL || (usingSandbox ? sandbox.protocol.replace(':', '') : 'https');
  if (protocolRaw !== 'http' && protocolRaw !== 'https')
    throw new Error(`STRIPE_API_PROTOCOL must be http or https, got "${protocolRaw}"`);
  const portRaw =
    env.STRIPE_API_PORT || (usingSandbox ? sandbox.port || (protocolRaw === 'https' ? '443' : '80') : '443');
  if (!/^\d{1,5}$/.test(portRaw) || Number(portRaw) > 65535)
    throw new Error(`STRIPE_API_PORT must be a port number, got "${portRaw}"`);
  if (!usingSandbox && !env.STRIPE_SECRET_KEY) {
    throw new Error('STRIPE_API_HOST points away from the sandbox but STRIPE_SECRET_KEY is not set');
  }
  const config: StripePspConfig = {
    secretKey: sandboxSecretKey(env, dataDir),
    webhookSecret: resolveWebhookSecret(env, dataDir),
    host,
    port: Number(portRaw),
    protocol: protocolRaw,
  };
  if (env.STRIPE_TIMEOUT_MS) config.timeoutMs = Number.parseInt(env.STRIPE_TIMEOUT_MS, 10);
  if (env.STRIPE_MAX_NETWORK_RETRIES)
    config.maxNetworkRetries = Number.parseInt(env.STRIPE_MAX_NETWORK_RETRIES, 10);
  if (!usingSandbox && isKnownDevelopmentSecret(config.webhookSecret)) {
    throw new Error(
      'STRIPE_WEBHOOK_SECRET is a published development secret; give the one your PSP shows for the endpoint',
    );
  }
  return config;
}
