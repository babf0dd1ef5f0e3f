import { givenOrKeptSecret, isKnownDevelopmentSecret, KEPT_SECRET_FILES } from '../webhooks/kept-secret.ts';
import { normaliseBic, normaliseIban } from './bank.ts';
import type { PainVersion } from './iso20022/pain001.ts';

/** Pay-out settings from the environment (every variable is documented in docs/payouts.md and README.md). */
export interface PayoutsConfig {
  provider: 'iso20022' | 'sandbox';
  painVersion: PainVersion;
  debtor: { name: string; iban: string; bic: string };
  /** pg-boss cron (UTC) of the payout run; the run pays the sellers due that day. */
  runCron: string;
  /** pg-boss cron (UTC) of the availability job (holds due → available). */
  availabilityCron: string;
  /**
   * The sandbox payout-provider API's base URL and the secret of its webhooks. The secret is only resolved while
   * the sandbox is the provider (undefined otherwise, and then its webhook route does not exist): the operator's
   * BURSAR_PAYOUT_SANDBOX_WEBHOOK_SECRET, or one generated per installation and kept in the data dir.
   */
  sandboxUrl: string;
  sandboxWebhookSecret: string | undefined;
  /** Where the sandbox provider sends its events: this API's `/v1/webhooks/payouts/sandbox`. */
  webhookUrl: string;
}

/** A development debtor account (a well-known valid example IBAN); set real ones in production. */
export const DEFAULT_DEBTOR = {
  name: 'Bursar Marketplace',
  iban: 'DE89370400440532013000',
  bic: 'COBADEFFXXX',
};

/**
 * `dataDir` is where a generated webhook secret is kept (the sandbox provider only). A published development
 * secret in BURSAR_PAYOUT_SANDBOX_WEBHOOK_SECRET is refused unless the sandbox is the provider.
 */
export function loadPayoutsConfig(
  env: NodeJS.ProcessEnv,
  sandboxPort: number,
  apiPort: number,
  dataDir: string,
): PayoutsConfig {
  const provider = env.BURSAR_PAYOUT_PROVIDER ?? 'iso20022';
  if (provider !== 'iso20022' && provider !== 'sandbox') {
    throw new Error(`BURSAR_PAYOUT_PROVIDER must be iso20022 or sandbox, got "${provider}"`);
  }
  const givenSecret = env.BURSAR_PAYOUT_SANDBOX_WEBHOOK_SECRET;
  if (provider !== 'sandbox' && givenSecret !== undefined && isKnownDevelopmentSecret(givenSecret)) {
    throw new Error(
      'BURSAR_PAYOUT_SANDBOX_WEBHOOK_SECRET is a published development secret; it is accepted only with ' +
        'BURSAR_PAYOUT_PROVIDER=sandbox',
    );
  }
  const version = env.BURSAR_PAYOUT_PAIN_VERSION ?? 'pain.001.001.09';
  if (version !== 'pain.001.001.09' && version !== 'pain.001.001.03') {
    throw new Error(
      `BURSAR_PAYOUT_PAIN_VERSION must be pain.001.001.09 or pain.001.001.03, got "${version}"`,
    );
  }
  return {
    provider,
    painVersion: version,
    debtor: {
      name: env.BURSAR_PAYOUT_DEBTOR_NAME ?? DEFAULT_DEBTOR.name,
      iban: normaliseIban(env.BURSAR_PAYOUT_DEBTOR_IBAN ?? DEFAULT_DEBTOR.iban, 'BURSAR_PAYOUT_DEBTOR_IBAN'),
      bic: normaliseBic(env.BURSAR_PAYOUT_DEBTOR_BIC ?? DEFAULT_DEBTOR.bic, 'BURSAR_PAYOUT_DEBTOR_BIC'),
    },
    runCron: env.BURSAR_PAYOUT_RUN_CRON ?? '0 6 * * *',
    availabilityCron: env.BURSAR_PAYOUT_AVAILABILITY_CRON ?? '0 * * * *',
    sandboxUrl: env.BURSAR_PAYOUT_SANDBOX_URL ?? `http://127.0.0.1:${sandboxPort}`,
    sandboxWebhookSecret:
      provider === 'sandbox'
        ? givenOrKeptSecret(givenSecret, dataDir, KEPT_SECRET_FILES.payoutSandboxWebhook)
        : undefined,
    webhookUrl: env.BURSAR_PAYOUT_WEBHOOK_URL ?? `http://127.0.0.1:${apiPort}/v1/webhooks/payouts/sandbox`,
  };
}
