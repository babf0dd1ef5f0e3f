import type { AppContext } from '../context.ts';
import type { PaymentServiceProvider } from '../psp/index.ts';
import type { ApplyDeps } from './apply.ts';
import type { DisputesConfig } from './config.ts';
import type { DisputesPorts } from './ports.ts';

/** What the disputes module's use cases run with. */
export interface DisputesRuntime {
  ctx: AppContext;
  psp: PaymentServiceProvider;
  ports: DisputesPorts;
  config: DisputesConfig;
  applyDeps: ApplyDeps;
}
