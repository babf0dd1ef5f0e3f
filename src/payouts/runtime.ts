import type { AppContext } from '../context.ts';
import { loadPayoutsConfig, type PayoutsConfig } from './config.ts';
import { createIso20022Provider } from './iso20022/adapter.ts';
import type { PayoutProvider } from './port.ts';
import { createSandboxPayoutProvider } from './sandbox-provider/adapter.ts';

/** The payout module's configuration and provider for one process context (tests may override either). */
export interface PayoutsRuntime {
  config: PayoutsConfig;
  provider: PayoutProvider;
}

const runtimes = new WeakMap<AppContext, PayoutsRuntime>();

export function providerFor(config: PayoutsConfig): PayoutProvider {
  if (config.provider === 'sandbox')
    return createSandboxPayoutProvider({ baseUrl: config.sandboxUrl, notifyUrl: config.webhookUrl });
  return createIso20022Provider({ version: config.painVersion, debtorFor: () => config.debtor });
}

export function payoutsRuntime(ctx: AppContext): PayoutsRuntime {
  let runtime = runtimes.get(ctx);
  if (!runtime) {
    const config = loadPayoutsConfig(
      process.env,
      ctx.config.sandboxPort,
      ctx.config.port,
      ctx.config.dataDir,
    );
    runtime = { config, provider: providerFor(config) };
    runtimes.set(ctx, runtime);
  }
  return runtime;
}

/** Tests: replace the configuration (the provider follows it unless given). */
export function configurePayouts(
  ctx: AppContext,
  overrides: { config?: Partial<PayoutsConfig>; provider?: PayoutProvider },
): PayoutsRuntime {
  const base = payoutsRuntime(ctx);
  const config = { ...base.config, ...(overrides.config ?? {}) };
  const runtime = { config, provider: overrides.provider ?? providerFor(config) };
  runtimes.set(ctx, runtime);
  return runtime;
}
