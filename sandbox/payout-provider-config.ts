import { randomBytes } from 'node:crypto';

/**
 * Settings of the sandbox's payout-provider API. The webhook secret must equal the one Bursar verifies with
 * (BURSAR_PAYOUT_SANDBOX_WEBHOOK_SECRET, or the one both keep in the shared data dir): it comes from the
 * sandbox's configuration, never from a constant.
 */
export interface SandboxPayoutProviderConfig {
  webhookSecret: string;
  /** How long a transfer stays "processing" before it is paid or returned. */
  completeAfterMs: number;
  /** How often the sandbox looks for transfers to complete and webhooks to deliver. */
  tickMs: number;
}

export function loadSandboxPayoutProviderConfig(
  webhookSecret: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): SandboxPayoutProviderConfig {
  const delay = env.SANDBOX_PAYOUT_DELAY_MS;
  return {
    webhookSecret: webhookSecret ?? `whsec_${randomBytes(24).toString('base64url')}`,
    completeAfterMs: delay !== undefined && /^\d{1,9}$/.test(delay) ? Number(delay) : 2_000,
    tickMs: 100,
  };
}

/**
 * The outcome a destination asks for, by its last four digits (IBAN or account number): `0004` is a closed
 * account (AC04), `0001` an invalid account number (AC01); anything else is paid.
 */
export function plannedOutcome(destination: Record<string, unknown>): {
  outcome: 'paid' | 'returned';
  reason: string | null;
} {
  const account = String(destination.iban ?? destination.accountNumber ?? '');
  if (account.endsWith('0004')) return { outcome: 'returned', reason: 'AC04 closed account' };
  if (account.endsWith('0001'))
    return { outcome: 'returned', reason: 'AC01 incorrect account number (invalid IBAN)' };
  return { outcome: 'paid', reason: null };
}
