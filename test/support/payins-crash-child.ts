/**
 * A pay-in worker process for the kill -9 test: it executes one payment order against the sandbox PSP and, once
 * the PSP has charged, prints CHARGED and hangs before recording the result — so the parent can kill it at the
 * worst moment. Environment: DATABASE_URL, PSP_PORT, PSP_SECRET_KEY, ORDER_ID.
 */
import { Registry } from 'prom-client';
import { systemClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { createPool } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';
import { executeOrder } from '../../src/payins/executor.ts';
import { configurePayins } from '../../src/payins/runtime.ts';
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
const runtime = configurePayins(ctx, { psp });
process.stdout.write('READY\n');
await executeOrder(runtime, env('ORDER_ID'));
