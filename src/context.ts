import type { Registry } from 'prom-client';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { Pool } from './db/pool.ts';
import type { Logger } from './log.ts';

/** What every module's service and routes are given by the composition root. */
export interface AppContext {
  config: Config;
  pool: Pool;
  log: Logger;
  clock: Clock;
  metrics: Registry;
}
