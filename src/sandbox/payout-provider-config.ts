/**
 * Settings of the sandbox's payout-provider API. The webhook secret must equal Bursar's
 * BURSAR_PAYOUT_SANDBOX_WEBHOOK_SECRET; both default to the same development value.
 */
export interface SandboxPayoutProviderConfig {
  webhookSecret: string;
  /** How long a transfer stays "processing" before it is paid or returned. */
  completeAfterMs: number;
  /** How often the sandbox looks for transfers to complete and webhooks to deliver. */
  tickMs: number;
}

export function loadSandboxPayoutProviderConfig(
  env: NodeJS.ProcessEnv = process.env,
): SandboxPayoutProviderConfig {
  const delay = env.SANDBOX_PAYOUT_DELAY_MS;
  return {
    webhookSecret: env.BURSAR_PAYOUT_SANDBOX_WEBHOOK_SECRET ?? 'whsec_sandbox_payouts_development',
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
