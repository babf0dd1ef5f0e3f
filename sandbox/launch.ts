import type { Clock } from '../src/clock.ts';
import type { Config } from '../src/config.ts';
import { createPool, type Pool } from '../src/db/pool.ts';
import { STRIPE_EVENT_TYPES } from '../src/psp/index.ts';
import type { Logger } from '../src/log.ts';
import type { BackgroundService } from '../src/services.ts';
import path from 'node:path';
import { loadSandboxConfig, SANDBOX_ADMIN_KEY_FILE } from './config.ts';
import { createSandboxServer } from './server.ts';

/** What the sandbox needs from the process that hosts it: Bursar's configuration, its pool, log and clock. */
export interface SandboxHost {
  config: Pick<Config, 'dataDir' | 'host' | 'port' | 'sandboxPort'>;
  pool: Pool;
  log: Logger;
  clock: Clock;
}

/**
 * The sandbox PSP as a background service of a Bursar process (`bursar start`, roles `all` and `sandbox`), its
 * webhooks wired to Bursar's own endpoint. The launcher (bin/bursar.mjs) loads this file only for those roles and
 * hands the service to the product's start function: the product never imports the sandbox.
 */
export function sandboxService(host: SandboxHost): BackgroundService {
  const loaded = loadSandboxConfig(process.env, host.config.dataDir);
  const apiHost =
    host.config.host === '0.0.0.0' || host.config.host === '::' ? '127.0.0.1' : host.config.host;
  // The sandbox's own connections commit without waiting for the WAL flush. A commit of Bursar's that depends on a
  // sandbox write (an order settled with a charge, a stored PSP event) comes after that write in the one WAL
  // stream, so flushing Bursar's commit flushes the sandbox's write too: a database crash can only lose sandbox
  // writes nothing of Bursar's has acted on yet — a charge Bursar never heard of, which its retry, with the same
  // Idempotency-Key, makes again, once. The sandbox stands for a PSP; its fsyncs are not what Bursar measures.
  const url = host.pool.options.connectionString;
  if (url === undefined) throw new Error('the sandbox needs the host pool to have a connection string');
  const pool = createPool(url, {
    max: host.pool.options.max ?? 10,
    applicationName: 'bursar-sandbox',
    asyncCommit: true,
  });
  const server = createSandboxServer({
    pool,
    log: host.log.child({ module: 'sandbox' }),
    clock: host.clock,
    config: {
      ...loaded,
      port: host.config.sandboxPort,
      webhookTargets: [
        ...loaded.webhookTargets,
        // Bursar's own endpoint takes the events Bursar acts on, as its Stripe endpoint would be set up.
        {
          url: `http://${apiHost}:${host.config.port}/v1/webhooks/psp/stripe`,
          secret: loaded.webhookSecret,
          enabledEvents: STRIPE_EVENT_TYPES,
        },
      ],
    },
  });
  return {
    name: 'sandbox-psp',
    start: async () => {
      await server.start();
    },
    stop: async () => {
      try {
        await server.stop();
      } finally {
        await pool.end();
      }
    },
    describe: () => [
      `  Sandbox PSP:  ${server.baseUrl()}   (Stripe-compatible; docs/sandbox.md)`,
      `  Sandbox admin key: ${
        process.env.SANDBOX_ADMIN_KEY
          ? 'SANDBOX_ADMIN_KEY'
          : path.join(host.config.dataDir, SANDBOX_ADMIN_KEY_FILE)
      }   (for /v1/sandbox/…)`,
    ],
  };
}
