import { Registry, collectDefaultMetrics } from 'prom-client';
import { systemClock, type Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { AppContext } from './context.ts';
import type { Pool } from './db/pool.ts';
import type { RouteModule } from './http/app.ts';
import type { Logger } from './log.ts';
import { registerSellerRoutes } from './sellers/http.ts';

/**
 * The composition root: the one place where modules are wired together. Every HTTP route module and every
 * background service of the process is listed here.
 */
export const routeModules: RouteModule[] = [registerSellerRoutes];

/** Something that runs in the background of a process role (workers, schedulers, the sandbox PSP). */
export interface BackgroundService {
  name: string;
  start(): Promise<void>;
  /** Stops taking new work and waits for the work in hand. */
  stop(): Promise<void>;
  /** Lines to print at start, such as a URL. */
  describe?(): string[];
}

export type Role = 'all' | 'api' | 'worker' | 'sandbox';

/** The background services a process of `role` runs. */
export function backgroundServices(_ctx: AppContext, _role: Role): BackgroundService[] {
  return [];
}

export function createContext(
  config: Config,
  pool: Pool,
  log: Logger,
  clock: Clock = systemClock,
): AppContext {
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  return { config, pool, log, clock, metrics };
}
