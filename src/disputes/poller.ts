import { withTransaction } from '../db/tx.ts';
import { forEachIsolated, loopGuard, nextTickDelayMs, runSteps } from '../jobs/loops.ts';
import { PspError } from '../psp/index.ts';
import type { BackgroundService } from '../services.ts';
import { applyDisputeSnapshot } from './apply.ts';
import type { DisputesRuntime } from './runtime.ts';
import { disputesDueForPoll, knownPspDisputes, schedulePoll } from './store.ts';

/**
 * The dispute poller: every open dispute is looked up at the PSP once per `pollEveryMs` (outside any transaction),
 * and what the PSP says is applied as a webhook would be, so a dispute whose closing webhook never came still
 * closes, and is booked once. A PSP failure leaves the dispute for the next look.
 */
export async function pollDisputesOnce(
  runtime: DisputesRuntime,
  limit = 50,
): Promise<{ examined: number; failed: number }> {
  const { ctx } = runtime;
  const due = await disputesDueForPoll(ctx.pool, limit);
  const failed = await forEachIsolated(
    loopGuard(ctx),
    'dispute_poll',
    due,
    (dispute) => ({ disputeId: dispute.id }),
    async (dispute) => {
      const next = new Date(ctx.clock.now().getTime() + runtime.config.pollEveryMs);
      try {
        const snapshot = await runtime.psp.retrieveDispute(dispute.pspDisputeId);
        await withTransaction(ctx.pool, async (client) => {
          await applyDisputeSnapshot(client, runtime.applyDeps, snapshot, { kind: 'poll' });
          await schedulePoll(client, dispute.id, next);
        });
      } catch (error) {
        await schedulePoll(ctx.pool, dispute.id, next);
        if (!(error instanceof PspError)) throw error;
        ctx.log.warn(
          { disputeId: dispute.id, failureClass: error.failureClass },
          'dispute poll: the PSP did not answer; looked at again later',
        );
      }
    },
  );
  return { examined: due.length, failed };
}

/** How far back discovery looks: a dispute opened longer ago has had many ticks to be found. */
const DISCOVERY_WINDOW_MS = 72 * 3600 * 1000;
const DISCOVERY_MAX_PAGES = 20;

/**
 * Discovery: the disputes the PSP opened in the last 72 hours that Bursar does not know (every webhook of theirs
 * lost) are applied as their `dispute.created` webhook would have been, so each is booked once all the same.
 */
export async function discoverDisputesOnce(runtime: DisputesRuntime): Promise<{ found: number }> {
  const { ctx, psp } = runtime;
  if (psp.listDisputes === undefined) return { found: 0 };
  const since = new Date(ctx.clock.now().getTime() - DISCOVERY_WINDOW_MS);
  let found = 0;
  let after: string | undefined;
  for (let page = 0; page < DISCOVERY_MAX_PAGES; page++) {
    const listed = await psp.listDisputes(since, after);
    const known = await knownPspDisputes(
      ctx.pool,
      listed.disputes.map((d) => d.disputeId),
    );
    for (const snapshot of listed.disputes.filter((d) => !known.has(d.disputeId))) {
      await withTransaction(ctx.pool, (client) =>
        applyDisputeSnapshot(client, runtime.applyDeps, snapshot, { kind: 'poll' }),
      );
      ctx.log.warn(
        { pspDisputeId: snapshot.disputeId },
        'dispute discovered by polling: its webhooks never came',
      );
      found += 1;
    }
    after = listed.disputes.at(-1)?.disputeId;
    if (!listed.hasMore || after === undefined) break;
  }
  return { found };
}

/** The poller as a background service of the worker role. */
export function createDisputePoller(runtime: DisputesRuntime): BackgroundService {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;
  let failedTicks = 0;
  const tick = async () => {
    const { failed } = await runSteps(loopGuard(runtime.ctx), [
      { name: 'dispute_discover', run: () => discoverDisputesOnce(runtime) },
      { name: 'dispute_poll', run: () => pollDisputesOnce(runtime) },
    ]);
    failedTicks = failed.length > 0 ? failedTicks + 1 : 0;
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(
      () => {
        running = tick().finally(() => {
          running = undefined;
          schedule();
        });
      },
      nextTickDelayMs(runtime.config.tickMs, failedTicks),
    );
  };
  return {
    name: 'disputes-poller',
    async start() {
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
    health: () => (failedTicks > 0 ? `dispute poller failing (${failedTicks} ticks in a row)` : undefined),
  };
}
