import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A `whsec_…` signing secret generated at first use and kept (mode 0600) in `<dataDir>/<fileName>`, so restarts
 * and every process sharing the data dir use the same one. When two processes race to create it, the first
 * file written wins and both return it.
 */
export function keptWebhookSecret(dataDir: string, fileName: string): string {
  return keptSecret(dataDir, fileName, 'whsec_', 'base64url');
}

/** A random secret starting with `prefix`, generated at first use and kept as `keptWebhookSecret` keeps its own. */
export function keptSecret(
  dataDir: string,
  fileName: string,
  prefix: string,
  encoding: 'hex' | 'base64url' = 'hex',
): string {
  const file = path.join(dataDir, fileName);
  try {
    const kept = fs.readFileSync(file, 'utf8').trim();
    if (kept.startsWith(prefix)) return kept;
  } catch {
    // Not there yet: create it below.
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = `${prefix}${randomBytes(24).toString(encoding)}`;
  try {
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch {
    return fs.readFileSync(file, 'utf8').trim();
  }
}

/**
 * The files generated secrets are kept in, in the data dir. Bursar and the sandbox that signs for it read the same
 * file when they share a data dir, so neither needs a secret written in the code.
 */
export const KEPT_SECRET_FILES = {
  /** Signs the PSP's (Stripe's or the sandbox's) webhooks to `/v1/webhooks/psp/stripe`. */
  stripeWebhook: 'stripe-webhook-secret',
  /** Signs the sandbox payout provider's events to `/v1/webhooks/payouts/sandbox`. */
  payoutSandboxWebhook: 'payout-sandbox-webhook-secret',
  /** The `sk_test_…` API key Bursar calls the sandbox PSP with, and the only one that sandbox accepts. */
  sandboxSecretKey: 'sandbox-secret-key',
} as const;

/**
 * The sandbox PSP's API key: STRIPE_SECRET_KEY when given, otherwise the `sk_test_…` key generated per
 * installation and kept in `<dataDir>/sandbox-secret-key`, which the sandbox on the same data dir accepts.
 */
export function sandboxSecretKey(env: NodeJS.ProcessEnv, dataDir: string): string {
  const given = env.STRIPE_SECRET_KEY;
  if (given !== undefined && given !== '') return given;
  return keptSecret(dataDir, KEPT_SECRET_FILES.sandboxSecretKey, 'sk_test_');
}

/** The secret the operator gave (an environment variable), or else the one kept in `<dataDir>/<fileName>`. */
export function givenOrKeptSecret(given: string | undefined, dataDir: string, fileName: string): string {
  if (given !== undefined && given !== '') return given;
  return keptWebhookSecret(dataDir, fileName);
}

/**
 * SHA-256 digests of webhook secrets that were once published as development defaults (in this repository's
 * history and docs). Only digests are kept, so no secret is written here. A production configuration that gives
 * one of them is refused at start-up: anyone who read the docs could sign events with it.
 */
const KNOWN_DEVELOPMENT_SECRET_DIGESTS = new Set([
  // The old default of BURSAR_PAYOUT_SANDBOX_WEBHOOK_SECRET.
  'f49460adf068a0d6cd543120aceca7d7051e6a80cd504449fd5a483d519f3a09',
]);

export function isKnownDevelopmentSecret(secret: string): boolean {
  return KNOWN_DEVELOPMENT_SECRET_DIGESTS.has(createHash('sha256').update(secret, 'utf8').digest('hex'));
}
