import type { AppContext } from '../context.ts';
import type { PoolClient } from '../db/pool.ts';
import type { RouteModule } from '../http/app.ts';
import type { BackgroundService } from '../services.ts';
import type { PayoutsConfig } from './config.ts';
import { recordPayinHold, recordPayinHolds } from './holds.ts';
import { payoutRoutes } from './http.ts';
import type { PayoutProvider } from './port.ts';
import { buildPayoutsRuntime, type PayoutsRuntime } from './runtime.ts';
import { createPayoutsWorker } from './worker.ts';

export interface PayoutsDeps {
  ctx: AppContext;
  /** Settings over those of the environment (BURSAR_PAYOUT_*). */
  config?: Partial<PayoutsConfig>;
  /** The payout provider; by default the one the settings name (ISO 20022 files, or the sandbox provider). */
  provider?: PayoutProvider;
}

export interface PayoutsModule {
  routes: RouteModule;
  /** The pay-out schedules: the availability job and the payout run. */
  worker: BackgroundService;
  services: BackgroundService[];
  runtime: PayoutsRuntime;
  /**
   * A successful pay-in's hold of the seller's share, written in the pay-in's own transaction (wired to pay-ins'
   * `PayinEffects` port in src/compose.ts): released to available after the seller's hold days.
   */
  onPayinSucceeded(
    client: PoolClient,
    payin: {
      paymentOrderId: string;
      sellerAccount: string;
      currency: string;
      netMinor: bigint;
      holdDays: number;
    },
  ): Promise<void>;
  /** `onPayinSucceeded` of many pay-ins in one statement (a settle batch's). */
  onPayinsSucceeded(
    client: PoolClient,
    payins: Array<{
      paymentOrderId: string;
      sellerAccount: string;
      currency: string;
      netMinor: bigint;
      holdDays: number;
    }>,
  ): Promise<void>;
}

/** Builds the payouts module: holds, the payout run, manual payouts, payout files and providers. */
export function createPayouts(deps: PayoutsDeps): PayoutsModule {
  const runtime = buildPayoutsRuntime(deps.ctx, {
    ...(deps.config === undefined ? {} : { config: deps.config }),
    ...(deps.provider === undefined ? {} : { provider: deps.provider }),
  });
  const worker = createPayoutsWorker(runtime);
  return {
    routes: payoutRoutes(runtime),
    worker,
    services: [worker],
    runtime,
    onPayinSucceeded: (client, payin) =>
      recordPayinHold(client, {
        paymentOrderId: payin.paymentOrderId,
        sellerAccount: payin.sellerAccount,
        currency: payin.currency,
        amountMinor: payin.netMinor,
        holdDays: payin.holdDays,
      }),
    onPayinsSucceeded: (client, payins) =>
      recordPayinHolds(
        client,
        payins.map((payin) => ({
          paymentOrderId: payin.paymentOrderId,
          sellerAccount: payin.sellerAccount,
          currency: payin.currency,
          amountMinor: payin.netMinor,
          holdDays: payin.holdDays,
        })),
      ),
  };
}
