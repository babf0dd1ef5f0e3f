/**
 * A pay-in worker process for the kill -9 test. Like a real worker it takes the order from the executor's queue (the
 * claim takes it out of the queue, so no other worker runs it again), executes it against the sandbox PSP and,
 * once the PSP has charged, prints CHARGED and hangs before recording the result — so the parent can kill it at
 * the worst moment. Environment: DATABASE_URL, PSP_PORT, PSP_SECRET_KEY, ORDER_ID, and the BURSAR_PAYINS_*
 * settings (the sweep deadline the claim sets comes from BURSAR_PAYINS_SWEEP_AFTER_MS, as in a real worker).
 */
import { Registry } from 'prom-client';
import { systemClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { createPool } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';
import { claimDueOrders, executeClaimed } from '../../src/payins/executor.ts';
import { composeModules } from '../../src/compose.ts';
import { createStripePsp } from '../../src/psp/stripe/index.ts';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};

const pool = createPool(env('DATABASE_URL'), { max: 4 });
const real = createStripePsp({
  secretKey: env('PSP_SECRET_KEY'),
  webhookSecret: 'whsec_unused',
  host: '127.0.0.1',
  port: Number(env('PSP_PORT')),
  protocol: 'http',
});
const psp = {
  ...real,
  name: real.name,
  charge: async (request: Parameters<typeof real.charge>[0]) => {
    const charge = await real.charge(request);
    process.stdout.write(`CHARGED ${charge.paymentId}\n`);
    // Hold the result: the parent kills this process before the SUCCESS transaction can run.
    await new Promise(() => undefined);
    return charge;
  },
};
const ctx = {
  config: loadConfig({}),
  pool,
  log: createLogger('silent'),
  clock: systemClock,
  metrics: new Registry(),
};
const runtime = composeModules(ctx, { psp }).payins.runtime;
const claims = [...(await claimDueOrders(runtime, 1))];
const [taken] = claims;
if (claims.length !== 1 || taken?.[0] !== env('ORDER_ID'))
  throw new Error(`expected to take ${env('ORDER_ID')}, took ${claims.map(([id]) => id).join(', ')}`);
const [paymentOrderId, claim] = taken;
if (claim instanceof Error) throw claim;
process.stdout.write(`TOOK ORDER ${paymentOrderId}\n`);
await executeClaimed(runtime, claim);
