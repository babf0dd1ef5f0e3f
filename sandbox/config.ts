import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { givenOrKeptSecret, KEPT_SECRET_FILES, sandboxSecretKey } from '../src/webhooks/kept-secret.ts';

/** Where the generated admin key is kept, in the data dir (mode 0600). */
export const SANDBOX_ADMIN_KEY_FILE = 'sandbox-admin-key';
const ADMIN_KEY_PATTERN = /^sbx_admin_[A-Za-z0-9_-]{16,200}$/;

/**
 * SANDBOX_ADMIN_KEY, or the key kept in `<dataDir>/sandbox-admin-key`, generated at first use (`sbx_admin_…`).
 * When two processes race to create it, the first file written wins and both return it.
 */
export function resolveSandboxAdminKey(env: NodeJS.ProcessEnv, dataDir: string): string {
  const given = env.SANDBOX_ADMIN_KEY;
  if (given !== undefined && given !== '') {
    if (!ADMIN_KEY_PATTERN.test(given))
      throw new Error(
        'SANDBOX_ADMIN_KEY must look like sbx_admin_ followed by 16 or more letters and digits',
      );
    return given;
  }
  const file = path.join(dataDir, SANDBOX_ADMIN_KEY_FILE);
  try {
    const kept = fs.readFileSync(file, 'utf8').trim();
    if (ADMIN_KEY_PATTERN.test(kept)) return kept;
  } catch {
    // Not there yet: create it below.
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = `sbx_admin_${randomBytes(24).toString('base64url')}`;
  try {
    fs.writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  } catch {
    return fs.readFileSync(file, 'utf8').trim();
  }
}
import { NO_FAULTS, parseFaults, type Faults } from './faults.ts';

export interface WebhookTarget {
  url: string;
  /** `whsec_…`: the key of the HMAC in `Stripe-Signature`. */
  secret: string;
  /** The event types it takes (a webhook endpoint's `enabled_events`); every type when absent. */
  enabledEvents?: readonly string[];
}

export interface SandboxConfig {
  port: number;
  host: string;
  /** The base URL the hosted page is served at (in session `url`s); defaults to the address it listens on. */
  publicUrl?: string;
  /**
   * When set, the only secret key accepted; otherwise any key starting with `sk_test_`. Loaded from the environment
   * it is always set: SANDBOX_SECRET_KEY, a test STRIPE_SECRET_KEY, or the key kept in `<dataDir>/sandbox-secret-key`.
   */
  secretKey?: string;
  /**
   * The key the admin endpoints (`/v1/sandbox/…`: faults, clock, settle, dispute, payouts, deliveries) require,
   * as `Authorization: Bearer <key>`; a secret key is not enough. Generated per installation and kept in
   * `<dataDir>/sandbox-admin-key`, or SANDBOX_ADMIN_KEY. Without one the admin endpoints refuse every request.
   */
  adminKey?: string;
  /** Destinations that receive every event, besides endpoints created through the API. */
  webhookTargets: WebhookTarget[];
  faults: Faults;
  seed: number;
  /** A payment in review settles by itself after this long; 0 means only the admin endpoint settles it. */
  reviewDelayMs: number;
  /** A refund settles (succeeds, or fails by its test card) this long after it was made. */
  refundDelayMs: number;
  /** How long a charge's funds stay pending before they are available (Stripe: about two days). */
  availableDelayMs: number;
  /** Checkout Sessions expire this long after creation unless `expires_at` says otherwise (Stripe: 24 h). */
  sessionTtlMs: number;
  /** How often the scheduler looks for work (reviews to settle, sessions to expire, the daily payout). */
  tickMs: number;
  /** Whether the daily automatic payout runs by itself. */
  automaticPayouts: boolean;
  /**
   * The secret the payout-provider API signs its events with (`Sandbox-Signature`); Bursar verifies them with the
   * same one (BURSAR_PAYOUT_SANDBOX_WEBHOOK_SECRET, or the one kept in the shared data dir). When not given, a
   * random one per process: then nobody can verify the events, which is right for a sandbox no Bursar listens to.
   */
  payoutWebhookSecret?: string;
  webhookRetry: { baseDelayMs: number; maxDelayMs: number; maxAttempts: number; timeoutMs: number };
  /**
   * The platform's settlement currency: a charge in another currency is settled in it (the balance transaction's
   * amount, fee and `exchange_rate`). Unset: every charge settles in its own currency.
   */
  settlementCurrency?: string;
  /** The sandbox's FX spread under the reference rate, in basis points. */
  fxSpreadBps: number;
}

export const DEFAULT_SANDBOX_CONFIG: Omit<SandboxConfig, 'port' | 'host'> = {
  webhookTargets: [],
  faults: NO_FAULTS,
  seed: 1,
  reviewDelayMs: 60_000,
  refundDelayMs: 5_000,
  availableDelayMs: 2 * 24 * 3600 * 1000,
  sessionTtlMs: 24 * 3600 * 1000,
  tickMs: 1000,
  automaticPayouts: true,
  webhookRetry: { baseDelayMs: 1000, maxDelayMs: 3600 * 1000, maxAttempts: 16, timeoutMs: 10_000 },
  fxSpreadBps: 50,
};

export const WEBHOOK_SECRET_FILE = KEPT_SECRET_FILES.stripeWebhook;

function intFromEnv(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,15}$/.test(raw)) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  const value = Number.parseInt(raw, 10);
  if (value > max) throw new Error(`${name} must be at most ${max}, got ${value}`);
  return value;
}

/**
 * The webhook signing secret shared by the sandbox and Bursar: STRIPE_WEBHOOK_SECRET when set, otherwise one
 * generated at first start and kept (mode 0600) in `<dataDir>/stripe-webhook-secret`, so restarts keep it.
 */
export function resolveWebhookSecret(env: NodeJS.ProcessEnv, dataDir: string): string {
  return givenOrKeptSecret(env.STRIPE_WEBHOOK_SECRET, dataDir, WEBHOOK_SECRET_FILE);
}

/**
 * The payout-provider API's signing secret: BURSAR_PAYOUT_SANDBOX_WEBHOOK_SECRET when set, otherwise the one
 * kept in `<dataDir>/payout-sandbox-webhook-secret` (generated at first use), shared with Bursar on that data dir.
 */
export function resolvePayoutWebhookSecret(env: NodeJS.ProcessEnv, dataDir: string): string {
  return givenOrKeptSecret(
    env.BURSAR_PAYOUT_SANDBOX_WEBHOOK_SECRET,
    dataDir,
    KEPT_SECRET_FILES.payoutSandboxWebhook,
  );
}

/**
 * Reads SANDBOX_PORT (8081), SANDBOX_HOST (127.0.0.1), SANDBOX_PUBLIC_URL, SANDBOX_SECRET_KEY, SANDBOX_FAULTS (JSON),
 * SANDBOX_ADMIN_KEY, SANDBOX_SEED, SANDBOX_REVIEW_DELAY_MS, SANDBOX_AVAILABLE_DELAY_MS, SANDBOX_TICK_MS, SANDBOX_AUTOMATIC_PAYOUTS,
 * STRIPE_WEBHOOK_SECRET and BURSAR_PAYOUT_SANDBOX_WEBHOOK_SECRET. Webhook targets are left empty: the launcher (sandbox/launch.ts) adds Bursar's own endpoint.
 */
export function loadSandboxConfig(
  env: NodeJS.ProcessEnv,
  dataDir: string,
): SandboxConfig & { webhookSecret: string } {
  let faults = NO_FAULTS;
  const rawFaults = env.SANDBOX_FAULTS;
  if (rawFaults !== undefined && rawFaults !== '') {
    try {
      faults = parseFaults(JSON.parse(rawFaults) as unknown);
    } catch (error) {
      throw new Error(`SANDBOX_FAULTS is not valid: ${(error as Error).message}`, { cause: error });
    }
  }
  const secretKey = env.SANDBOX_SECRET_KEY;
  if (secretKey !== undefined && secretKey !== '' && !secretKey.startsWith('sk_test_')) {
    throw new Error('SANDBOX_SECRET_KEY must start with sk_test_');
  }
  const config: SandboxConfig & { webhookSecret: string } = {
    ...DEFAULT_SANDBOX_CONFIG,
    port: intFromEnv(env, 'SANDBOX_PORT', 8081, 65535),
    host: env.SANDBOX_HOST || env.HOST || '127.0.0.1',
    faults,
    seed: intFromEnv(env, 'SANDBOX_SEED', 1, 0xffffffff),
    reviewDelayMs: intFromEnv(env, 'SANDBOX_REVIEW_DELAY_MS', DEFAULT_SANDBOX_CONFIG.reviewDelayMs),
    refundDelayMs: intFromEnv(env, 'SANDBOX_REFUND_DELAY_MS', DEFAULT_SANDBOX_CONFIG.refundDelayMs),
    availableDelayMs: intFromEnv(env, 'SANDBOX_AVAILABLE_DELAY_MS', DEFAULT_SANDBOX_CONFIG.availableDelayMs),
    tickMs: intFromEnv(env, 'SANDBOX_TICK_MS', DEFAULT_SANDBOX_CONFIG.tickMs),
    fxSpreadBps: intFromEnv(env, 'SANDBOX_FX_SPREAD_BPS', DEFAULT_SANDBOX_CONFIG.fxSpreadBps, 9999),
    automaticPayouts: env.SANDBOX_AUTOMATIC_PAYOUTS !== 'false',
    webhookSecret: resolveWebhookSecret(env, dataDir),
    payoutWebhookSecret: resolvePayoutWebhookSecret(env, dataDir),
    adminKey: resolveSandboxAdminKey(env, dataDir),
  };
  // The key Bursar on this data dir calls with: STRIPE_SECRET_KEY when it is a test key, else the kept one.
  const stripeKey =
    env.STRIPE_SECRET_KEY?.startsWith('sk_test_') === true ? env.STRIPE_SECRET_KEY : undefined;
  config.secretKey = secretKey || sandboxSecretKey({ STRIPE_SECRET_KEY: stripeKey }, dataDir);
  const settlement = env.SANDBOX_SETTLEMENT_CURRENCY || env.BURSAR_SETTLEMENT_CURRENCY;
  if (settlement) {
    if (!/^[A-Z]{3}$/.test(settlement))
      throw new Error('SANDBOX_SETTLEMENT_CURRENCY must be an ISO 4217 code');
    config.settlementCurrency = settlement;
  }
  if (env.SANDBOX_PUBLIC_URL) config.publicUrl = env.SANDBOX_PUBLIC_URL.replace(/\/+$/, '');
  return config;
}
