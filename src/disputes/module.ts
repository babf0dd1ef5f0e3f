import type { AppContext } from '../context.ts';
import type { PoolClient } from '../db/pool.ts';
import type { RouteModule } from '../http/app.ts';
import type { PaymentServiceProvider, PspEventMeaning } from '../psp/index.ts';
import type { BackgroundService } from '../services.ts';
import { applyDisputeSnapshot } from './apply.ts';
import { loadDisputesConfig, type DisputesConfig } from './config.ts';
import { disputeRoutes } from './http.ts';
import { createDisputePoller } from './poller.ts';
import type { DisputesPorts } from './ports.ts';
import type { DisputesRuntime } from './runtime.ts';

export interface DisputesDeps {
  ctx: AppContext;
  psp: PaymentServiceProvider;
  ports: DisputesPorts;
  /** Settings over those of the environment (BURSAR_DISPUTE_*, BURSAR_DISPUTES_*). */
  config?: Partial<DisputesConfig>;
}

export interface DisputesModule {
  routes: RouteModule;
  services: BackgroundService[];
  runtime: DisputesRuntime;
  /**
   * The handler of PSP dispute events (registered as `pspEventHandlers.dispute` in src/compose.ts): runs in the
   * event's processing transaction and returns the outcome stored on the event.
   */
  onPspEvent(
    client: PoolClient,
    meaning: Extract<PspEventMeaning, { subject: 'dispute' }>,
    event: { id: string },
  ): Promise<string>;
}

/** Builds the disputes module: PSP dispute events booked in the ledger, the poller, and the dispute routes. */
export function createDisputes(deps: DisputesDeps): DisputesModule {
  const config = { ...loadDisputesConfig(), ...(deps.config ?? {}) };
  const runtime: DisputesRuntime = {
    ctx: deps.ctx,
    psp: deps.psp,
    ports: deps.ports,
    config,
    applyDeps: {
      psp: deps.psp.name,
      ports: deps.ports,
      defaultFeeBearer: config.feeBearer,
      firstPollAt: () => new Date(deps.ctx.clock.now().getTime() + config.pollEveryMs),
    },
  };
  return {
    routes: disputeRoutes(runtime),
    services: [createDisputePoller(runtime)],
    runtime,
    onPspEvent: async (client, meaning, event) => {
      if (meaning.dispute === undefined)
        return `ignored: dispute ${meaning.disputeId} event without amount, currency or status`;
      return await applyDisputeSnapshot(client, runtime.applyDeps, meaning.dispute, {
        kind: 'webhook',
        eventId: event.id,
      });
    },
  };
}
