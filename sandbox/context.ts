import type { Queryable } from '../src/db/pool.ts';
import type { SandboxConfig } from './config.ts';
import type { FaultInjector } from './faults.ts';
import type { StoredObject } from './store.ts';

/** The API version the sandbox answers in and stamps on events (the one the stripe SDK 23.1.0 pins). */
export const SANDBOX_API_VERSION = '2026-10-28.endive';

/** What one unit of sandbox work (an API request, a page submit, a scheduler tick) runs with. */
export interface SandboxCtx {
  /** A connection inside the transaction of this unit of work. */
  db: Queryable;
  /** The sandbox's clock (system time, moved forward by the admin endpoint if asked). */
  now: Date;
  config: SandboxConfig;
  /** Where the sandbox is reachable, for hosted-page and 3-D Secure URLs. */
  baseUrl: string;
  faults: FaultInjector;
  /**
   * The fixed test PaymentMethods (`pm_card_visa`…) this server has stored, by id: they never change once made,
   * so they are read from the database once per server. Absent: read every time.
   */
  testMethods?: Map<string, StoredObject>;
}
