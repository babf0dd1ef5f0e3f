import type { AppContext } from '../context.ts';
import type { PoolClient } from '../db/pool.ts';
import type { RouteModule } from '../http/app.ts';
import type { PaymentServiceProvider, PspEventMeaning } from '../psp/index.ts';
import type { BackgroundService } from '../services.ts';
import { loadRefundsConfig, type RefundsConfig } from './config.ts';
import { refundRoutes } from './http.ts';
import { handleRefundEvent } from './psp-events.ts';
import type { RefundOrders, RefundsRuntime, RefundTerms } from './runtime.ts';
import { createRefundsWorker } from './worker.ts';

export interface RefundsDeps {
  ctx: AppContext;
  psp: PaymentServiceProvider;
  orders: RefundOrders;
  terms: RefundTerms;
  config?: Partial<RefundsConfig>;
}

export interface RefundsModule {
  routes: RouteModule;
  worker: BackgroundService;
  services: BackgroundService[];
  runtime: RefundsRuntime;
  /** The PSP event handler pay-ins dispatch refund events to (`pspEventHandlers.refund`). */
  handlePspEvent(
    client: PoolClient,
    meaning: Extract<PspEventMeaning, { subject: 'refund' }>,
  ): Promise<string>;
}

/** Builds the refunds module (docs/refunds.md). */
export function createRefunds(deps: RefundsDeps): RefundsModule {
  const runtime: RefundsRuntime = {
    ctx: deps.ctx,
    config: { ...loadRefundsConfig(), ...(deps.config ?? {}) },
    psp: deps.psp,
    orders: deps.orders,
    terms: deps.terms,
  };
  const worker = createRefundsWorker(runtime);
  return {
    routes: refundRoutes(runtime),
    worker,
    services: [worker],
    runtime,
    handlePspEvent: (client, meaning) => handleRefundEvent(client, runtime, meaning),
  };
}
