import type { AppContext } from '../context.ts';
import { debtorFor, loadPayoutsConfig, type PayoutsConfig } from './config.ts';
import { createIso20022Provider } from './iso20022/adapter.ts';
import { createNachaProvider } from './nacha/adapter.ts';
import { DEFAULT_ACH } from './nacha/config.ts';
import type { PayoutProvider, PayoutProviderName } from './port.ts';
import { createRoutedProvider } from './routed.ts';
import { createSandboxPayoutProvider } from './sandbox-provider/adapter.ts';

/** The payout module's configuration and provider, built once by `createPayouts`. */
export interface PayoutsRuntime {
  ctx: AppContext;
  readonly config: PayoutsConfig;
  readonly provider: PayoutProvider;
}

function oneProvider(config: PayoutsConfig, name: PayoutProviderName): PayoutProvider {
  if (name === 'sandbox')
    return createSandboxPayoutProvider({ baseUrl: config.sandboxUrl, notifyUrl: config.webhookUrl });
  if (name === 'nacha') return createNachaProvider(config.ach ?? DEFAULT_ACH);
  return createIso20022Provider({
    version: config.painVersion,
    debtorFor: (currency) => debtorFor(config, currency),
  });
}

/** The configured provider; with several enabled, one routing each payout by its bank details (routed.ts). */
export function providerFor(config: PayoutsConfig): PayoutProvider {
  const names = config.providers.length > 0 ? config.providers : [config.provider];
  if (names.length === 1) return oneProvider(config, names[0] ?? config.provider);
  return createRoutedProvider(names.map((name) => oneProvider(config, name)));
}

/**
 * The settings are read from the environment on first use (a process that never pays out never needs them to be
 * valid), over the overrides given; the provider follows the settings unless given.
 */
export function buildPayoutsRuntime(
  ctx: AppContext,
  overrides: { config?: Partial<PayoutsConfig>; provider?: PayoutProvider },
): PayoutsRuntime {
  let config: PayoutsConfig | undefined;
  let provider: PayoutProvider | undefined = overrides.provider;
  const settings = (): PayoutsConfig =>
    (config ??= {
      ...loadPayoutsConfig(process.env, ctx.config.sandboxPort, ctx.config.port, ctx.config.dataDir),
      ...(overrides.config ?? {}),
    });
  return {
    ctx,
    get config() {
      return settings();
    },
    get provider() {
      return (provider ??= providerFor(settings()));
    },
  };
}
