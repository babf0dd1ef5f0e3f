import { forEachIsolated, loopGuard, nextTickDelayMs, runSteps } from '../jobs/loops.ts';
import type { BackgroundService } from '../services.ts';
import { discoverRefundsOnce } from './discovery.ts';
import { claimDueRefunds, executeRefund } from './executor.ts';
import { pollPendingRefunds } from './poller.ts';
import { followUpRefundFx } from './fx-settle.ts';
import { followUpRefundPspFees } from './psp-fee.ts';
import type { RefundsRuntime } from './runtime.ts';

/**
 * One tick: execute (and sweep) due refunds, discover refunds whose webhooks were lost (when `discover` says so:
 * the worker asks every `discoverEveryMs`), poll refunds pending at the PSP, book PSP fees passed on.
 */
export async function refundTick(
  rt: RefundsRuntime,
  options: { discover?: boolean } = {},
): Promise<{ failed: string[] }> {
  const guard = loopGuard(rt.ctx);
  return await runSteps(guard, [
    {
      name: 'refund_execute',
      run: async () => {
        const claimed = await claimDueRefunds(rt, rt.config.batchSize);
        await forEachIsolated(
          guard,
          'refund_execute',
          claimed,
          (refund) => ({ refundId: refund.id }),
          async (refund) => {
            await executeRefund(rt, refund);
          },
        );
      },
    },
    ...(options.discover === true ? [{ name: 'refund_discover', run: () => discoverRefundsOnce(rt) }] : []),
    { name: 'refund_poll', run: () => pollPendingRefunds(rt) },
    { name: 'refund_psp_fees', run: () => followUpRefundPspFees(rt) },
    { name: 'refund_fx', run: () => followUpRefundFx(rt) },
  ]);
}

/**
 * The refund worker: a loop over the refunds table (no job queue: a refund due for an attempt is a row whose
 * `next_attempt_at` has come, claimed with `FOR UPDATE SKIP LOCKED` and a lease), so any number of workers share
 * the work and a dead worker's refund is taken again when its lease runs out.
 */
export function createRefundsWorker(rt: RefundsRuntime): BackgroundService {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;
  let failing: string[] = [];
  let failedTicks = 0;
  let nextDiscoverAt = 0;
  const discoverNow = (): boolean => {
    const every = rt.config.discoverEveryMs;
    if (every <= 0 || Date.now() < nextDiscoverAt) return false;
    nextDiscoverAt = Date.now() + every;
    return true;
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(
      () => {
        running = refundTick(rt, { discover: discoverNow() })
          .then(({ failed }) => {
            failing = failed;
            failedTicks = failed.length > 0 ? failedTicks + 1 : 0;
          })
          .finally(schedule);
      },
      nextTickDelayMs(rt.config.tickIntervalMs, failedTicks),
    );
    timer.unref();
  };
  return {
    name: 'refunds-worker',
    async start() {
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
    health: () => (failing.length > 0 ? `refund loop steps failing: ${failing.join(', ')}` : undefined),
  };
}
