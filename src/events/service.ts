import type { PoolClient } from '../db/pool.ts';
import type { BackgroundService } from '../services.ts';
import { EVENTS_CHANNEL } from './record.ts';
import { sendDue, type SenderDeps } from './sender.ts';

/**
 * The webhook sender of a worker process: it LISTENs on `bursar_events`, so the NOTIFY sent right after an event's
 * transaction commits (db/notify.ts) wakes it at once (the first attempt follows the commit within milliseconds when idle); it also wakes
 * every `pollMs` for retries that came due and for events a lost connection kept it from hearing of.
 */
export function createSenderService(deps: SenderDeps, beforeStart: () => Promise<void>): BackgroundService {
  let stopped = true;
  let listener: PoolClient | undefined;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;
  let woken = false;
  let failing: string | undefined;

  const nudge = () => {
    woken = true;
    wake?.();
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken || stopped) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  const listen = async () => {
    if (listener !== undefined || stopped) return;
    listener = await listenFor(deps, nudge, () => {
      listener = undefined;
    });
  };

  const run = async () => {
    while (!stopped) {
      woken = false;
      await listen();
      try {
        const pass = await sendDue(deps);
        failing = undefined;
        if (pass.claimed >= deps.config.concurrency) continue;
      } catch (error) {
        failing = 'webhook deliveries could not be claimed';
        deps.log.error({ err: error }, 'webhook sender pass failed; trying again');
      }
      await sleep(deps.config.pollMs);
    }
  };

  return {
    name: 'webhook-sender',
    async start() {
      await beforeStart();
      stopped = false;
      loop = run();
    },
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      const client = listener;
      listener = undefined;
      if (client !== undefined) {
        await client.query(`UNLISTEN ${EVENTS_CHANNEL}`).catch(() => undefined);
        releaseOnce(client, false);
      }
    },
    describe: () => ['  Webhook sender: events to webhook endpoints (LISTEN/NOTIFY)'],
    health: () => failing,
  };
}

const released = new WeakSet<PoolClient>();

/** Releases the listening client once: its connection may also fail (a server shutting down) after `stop`. */
function releaseOnce(client: PoolClient, destroy: boolean): void {
  if (released.has(client)) return;
  released.add(client);
  client.release(destroy);
}

/** A pool client LISTENing on the events channel, or undefined when it could not (the sender polls meanwhile). */
async function listenFor(
  deps: SenderDeps,
  onNotify: () => void,
  onLost: () => void,
): Promise<PoolClient | undefined> {
  try {
    const client = await deps.pool.connect();
    client.on('notification', onNotify);
    client.on('error', () => {
      onLost();
      releaseOnce(client, true);
    });
    await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    return client;
  } catch (error) {
    deps.log.warn({ err: error }, 'webhook sender: LISTEN failed; polling until it comes back');
    return undefined;
  }
}
