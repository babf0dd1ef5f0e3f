import { givenOrKeptSecret, isKnownDevelopmentSecret, KEPT_SECRET_FILES } from '../webhooks/kept-secret.ts';
import { assertCurrency } from '../money/index.ts';
import { normaliseBic, normaliseIban } from './bank.ts';
import type { PainVersion } from './iso20022/pain001.ts';
import { loadAchSettings, type AchSettings } from './nacha/config.ts';
import type { PayoutProviderName } from './port.ts';

/** Pay-out settings from the environment (every variable is documented in docs/payouts.md and README.md). */
export interface PayoutsConfig {
  /** The provider of payouts whose bank details no other enabled provider carries (the first one enabled). */
  provider: PayoutProviderName;
  /**
   * Every enabled provider (BURSAR_PAYOUT_PROVIDERS, or the one BURSAR_PAYOUT_PROVIDER names). With several, each
   * payout goes by its bank details' kind: IBAN → iso20022 (pain.001), account + routing number → nacha.
   */
  providers: PayoutProviderName[];
  /** The BURSAR_ACH_* settings (read only while nacha is enabled). */
  ach: AchSettings | undefined;
  painVersion: PainVersion;
  debtor: { name: string; iban: string; bic: string };
  /**
   * The platform's debtor account per payout currency (BURSAR_PAYOUT_DEBTOR_ACCOUNTS=CUR:IBAN:BIC,…); a currency
   * not listed leaves from `debtor`.
   */
  debtorAccounts: Readonly<Record<string, { iban: string; bic: string }>>;
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

const PROVIDER_NAMES: Readonly<Record<string, PayoutProviderName>> = {
  iso20022: 'iso20022',
  pain001: 'iso20022',
  sandbox: 'sandbox',
  nacha: 'nacha',
};

/**
 * BURSAR_PAYOUT_PROVIDERS (a comma-separated list, e.g. `iso20022,nacha`; `pain001` names iso20022) or, when it
 * is unset, BURSAR_PAYOUT_PROVIDER (one name; iso20022 by default).
 */
function enabledProviders(env: NodeJS.ProcessEnv): PayoutProviderName[] {
  const list = env.BURSAR_PAYOUT_PROVIDERS;
  const variable = list === undefined ? 'BURSAR_PAYOUT_PROVIDER' : 'BURSAR_PAYOUT_PROVIDERS';
  const names = (list ?? env.BURSAR_PAYOUT_PROVIDER ?? 'iso20022').split(',').map((name) => name.trim());
  const providers: PayoutProviderName[] = [];
  for (const name of names) {
    const provider = PROVIDER_NAMES[name];
    if (provider === undefined || (list === undefined && names.length > 1)) {
      throw new Error(`${variable} must name iso20022 (or pain001), sandbox or nacha, got "${name}"`);
    }
    if (!providers.includes(provider)) providers.push(provider);
  }
  if (providers.includes('iso20022') && providers.includes('sandbox')) {
    throw new Error(`${variable}: iso20022 and sandbox both carry IBAN payouts; enable one of them`);
  }
  return providers;
}

/**
 * BURSAR_PAYOUT_DEBTOR_ACCOUNTS: `CUR:IBAN:BIC` entries, comma-separated (spaces allowed, as in a printed
 * IBAN). Each currency once, an active ISO 4217 code; each IBAN and BIC checked as sellers' are.
 */
export function parseDebtorAccounts(raw: string | undefined): Record<string, { iban: string; bic: string }> {
  const accounts: Record<string, { iban: string; bic: string }> = {};
  if (raw === undefined || raw.trim() === '') return accounts;
  for (const [index, entry] of raw.split(',').entries()) {
    const name = `BURSAR_PAYOUT_DEBTOR_ACCOUNTS entry ${index + 1}`;
    const parts = entry.trim().split(':');
    const [currencyText, iban, bic] = parts;
    if (parts.length !== 3 || currencyText === undefined || iban === undefined || bic === undefined) {
      throw new Error(`${name}: "${entry.trim()}" is not CUR:IBAN:BIC`);
    }
    let currency: string;
    try {
      currency = assertCurrency(currencyText);
    } catch {
      throw new Error(`${name}: "${currencyText}" is not an ISO 4217 currency code in upper case`);
    }
    if (accounts[currency] !== undefined) throw new Error(`${name}: ${currency} is listed twice`);
    accounts[currency] = { iban: normaliseIban(iban, name), bic: normaliseBic(bic, name) };
  }
  return accounts;
}

/** The account payouts in `currency` leave from: its BURSAR_PAYOUT_DEBTOR_ACCOUNTS entry, else the default. */
export function debtorFor(
  config: Pick<PayoutsConfig, 'debtor' | 'debtorAccounts'>,
  currency: string,
): { name: string; iban: string; bic: string } {
  const account = config.debtorAccounts[currency];
  return account === undefined ? config.debtor : { name: config.debtor.name, ...account };
}

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
  const providers = enabledProviders(env);
  const provider = providers[0] ?? 'iso20022';
  const givenSecret = env.BURSAR_PAYOUT_SANDBOX_WEBHOOK_SECRET;
  if (!providers.includes('sandbox') && givenSecret !== undefined && isKnownDevelopmentSecret(givenSecret)) {
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
    providers,
    ach: providers.includes('nacha') ? loadAchSettings(env) : undefined,
    painVersion: version,
    debtor: {
      name: env.BURSAR_PAYOUT_DEBTOR_NAME ?? DEFAULT_DEBTOR.name,
      iban: normaliseIban(env.BURSAR_PAYOUT_DEBTOR_IBAN ?? DEFAULT_DEBTOR.iban, 'BURSAR_PAYOUT_DEBTOR_IBAN'),
      bic: normaliseBic(env.BURSAR_PAYOUT_DEBTOR_BIC ?? DEFAULT_DEBTOR.bic, 'BURSAR_PAYOUT_DEBTOR_BIC'),
    },
    debtorAccounts: parseDebtorAccounts(env.BURSAR_PAYOUT_DEBTOR_ACCOUNTS),
    runCron: env.BURSAR_PAYOUT_RUN_CRON ?? '0 6 * * *',
    availabilityCron: env.BURSAR_PAYOUT_AVAILABILITY_CRON ?? '0 * * * *',
    sandboxUrl: env.BURSAR_PAYOUT_SANDBOX_URL ?? `http://127.0.0.1:${sandboxPort}`,
    sandboxWebhookSecret: providers.includes('sandbox')
      ? givenOrKeptSecret(givenSecret, dataDir, KEPT_SECRET_FILES.payoutSandboxWebhook)
      : undefined,
    webhookUrl: env.BURSAR_PAYOUT_WEBHOOK_URL ?? `http://127.0.0.1:${apiPort}/v1/webhooks/payouts/sandbox`,
  };
}
