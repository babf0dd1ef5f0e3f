import http from 'node:http';
import https from 'node:https';
import type { Pool } from '../src/db/pool.ts';
import type { Logger } from '../src/log.ts';
import type { SandboxConfig } from './config.ts';
import { signPayload } from './signature.ts';

interface DueDelivery {
  id: bigint;
  event_id: string;
  url: string;
  secret: string;
  attempts: number;
  payload: string;
}

/** What one attempt came to, recorded with the others that finished meanwhile. */
interface Outcome {
  delivery: DueDelivery;
  status: number | undefined;
  error: string | undefined;
}

/** Backoff after the n-th failed attempt (1-based): base · 2^(n-1), capped. No jitter, so runs are reproducible. */
export function retryDelayMs(attempt: number, retry: SandboxConfig['webhookRetry']): number {
  return Math.min(retry.baseDelayMs * 2 ** Math.max(0, attempt - 1), retry.maxDelayMs);
}

/** Deliveries in flight at once (and sockets kept open per destination host). */
const MAX_IN_FLIGHT = 64;
/** Deliveries claimed by one statement. */
const CLAIM_LIMIT = 50;
/** The longest the idle dispatcher sleeps before looking again (a delivery queued by another process). */
const MAX_IDLE_MS = 1_000;

const CLAIM_SQL = `
WITH due AS (
  SELECT id FROM sandbox.webhook_deliveries
   WHERE status = 'pending' AND next_attempt_at <= now()
   ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
UPDATE sandbox.webhook_deliveries d
   SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $1::double precision / 1000)
  FROM due, sandbox.objects o
 WHERE d.id = due.id AND o.id = d.event_id
RETURNING d.id, d.event_id, d.url, d.secret, d.attempts, jsonb_pretty(o.data) AS payload`;

/** Every finished attempt of a batch in one statement: delivered, or failed with its retry (or given up). */
const RECORD_SQL = `
UPDATE sandbox.webhook_deliveries d
   SET status = u.status, last_status = u.last_status, last_error = u.last_error,
       delivered_at = CASE WHEN u.status = 'delivered' THEN now() ELSE d.delivered_at END,
       next_attempt_at = CASE WHEN u.status = 'delivered' THEN d.next_attempt_at
                              ELSE now() + make_interval(secs => u.delay_ms / 1000) END
  FROM unnest($1::int8[], $2::text[], $3::int4[], $4::text[], $5::float8[]) AS u(id, status, last_status, last_error, delay_ms)
 WHERE d.id = u.id`;

/**
 * Works off `sandbox.webhook_deliveries`: claims due rows with a lease (so no transaction stays open during the
 * HTTP call, and several processes may share the table), POSTs each event signed as Stripe signs it, and records
 * success or schedules a retry with exponential backoff. A 2xx answer is success; anything else, a timeout or a
 * refused connection is a failure.
 *
 * Up to `MAX_IN_FLIGHT` deliveries run at once over kept-alive connections, each on its own (a slow receiver holds
 * only its own delivery, never the others); the outcomes that finished meanwhile are recorded together. The loop
 * is woken after every transaction that queued deliveries; idle, it sleeps until the next delivery falls due (a
 * retry, a delayed one), at most `MAX_IDLE_MS`.
 */
export class WebhookDispatcher {
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private readonly inFlight = new Set<AbortController>();
  private readonly sending = new Set<Promise<void>>();
  private finished: Outcome[] = [];
  private recording: Promise<void> | undefined;
  private readonly agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT }),
    https: new https.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT }),
  };

  constructor(
    private readonly pool: Pool,
    private readonly config: SandboxConfig,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Looks for work now (called after a transaction that queued deliveries). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const controller of this.inFlight) controller.abort();
    this.wake();
    await this.loop;
    this.loop = undefined;
    await Promise.allSettled([...this.sending]);
    await this.recording;
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let claimed = 0;
      this.woken = false;
      try {
        claimed = await this.claimAndStart();
      } catch (error) {
        if (this.running) this.log.warn({ err: error }, 'sandbox webhook dispatcher: pass failed');
      }
      if (!this.running) break;
      // A full claim with room left: there may be more due right now.
      if (claimed === CLAIM_LIMIT && this.inFlight.size < MAX_IN_FLIGHT) continue;
      if (this.woken) continue;
      const idleMs = claimed === 0 && this.inFlight.size === 0 ? await this.untilNextDue() : MAX_IDLE_MS;
      await this.sleep(idleMs);
    }
  }

  private async sleep(ms: number): Promise<void> {
    if (this.woken || !this.running) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeUp = undefined;
  }

  /** Milliseconds until the next pending delivery falls due (a retry, a delayed one), within `MAX_IDLE_MS`. */
  private async untilNextDue(): Promise<number> {
    try {
      const next = await this.pool.query<{ wait_ms: number | null }>(
        `SELECT (extract(epoch FROM min(next_attempt_at) - now()) * 1000)::float8 AS wait_ms
           FROM sandbox.webhook_deliveries WHERE status = 'pending'`,
      );
      const wait = next.rows[0]?.wait_ms;
      return wait === null || wait === undefined ? MAX_IDLE_MS : Math.min(MAX_IDLE_MS, Math.max(5, wait + 5));
    } catch {
      return MAX_IDLE_MS;
    }
  }

  /** Claims due deliveries (as many as there is room for) and starts each; returns how many it claimed. */
  private async claimAndStart(): Promise<number> {
    const room = Math.min(CLAIM_LIMIT, MAX_IN_FLIGHT - this.inFlight.size);
    if (room <= 0) return 0;
    const claimed = await this.claim(room);
    for (const delivery of claimed) {
      const started = this.deliver(delivery).then((outcome) => this.finish(outcome));
      this.sending.add(started);
      void started.finally(() => this.sending.delete(started));
    }
    return claimed.length;
  }

  private async claim(limit: number): Promise<DueDelivery[]> {
    const leaseMs = this.config.webhookRetry.timeoutMs + 5000;
    const claimed = await this.pool.query<DueDelivery>(CLAIM_SQL, [leaseMs, limit]);
    // Sent in the order they became due; the reorder fault works through the due times.
    return [...claimed.rows].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** One pass: claims due deliveries, sends them and records the outcomes. Returns whether there was any. */
  async deliverDue(): Promise<boolean> {
    const claimed = await this.claim(CLAIM_LIMIT);
    if (claimed.length === 0) return false;
    await this.record(await Promise.all(claimed.map((delivery) => this.deliver(delivery))));
    return true;
  }

  /** Queues an outcome for the next recording; one recording runs at a time and takes all that finished. */
  private finish(outcome: Outcome): void {
    this.finished.push(outcome);
    // A dispatcher that was full can claim again.
    if (this.inFlight.size === MAX_IN_FLIGHT - 1) this.wake();
    if (this.recording !== undefined) return;
    this.recording = (async () => {
      while (this.finished.length > 0) {
        const batch = this.finished;
        this.finished = [];
        try {
          await this.record(batch);
        } catch (error) {
          // The leases run out and the deliveries are tried again (a receiver must take a duplicate).
          if (this.running) this.log.warn({ err: error }, 'sandbox webhook dispatcher: recording failed');
        }
      }
      this.recording = undefined;
    })();
  }

  private async record(outcomes: Outcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    const retry = this.config.webhookRetry;
    const rows = outcomes.map(({ delivery, status, error }) => {
      const ok = status !== undefined && status >= 200 && status < 300;
      if (!ok) {
        this.log.debug(
          { event: delivery.event_id, url: delivery.url, status, error, attempt: delivery.attempts },
          'sandbox webhook delivery failed',
        );
      }
      return {
        id: delivery.id,
        status: ok ? 'delivered' : delivery.attempts >= retry.maxAttempts ? 'failed' : 'pending',
        lastStatus: status ?? null,
        lastError: ok ? null : (error ?? `HTTP ${status}`),
        delayMs: ok ? 0 : retryDelayMs(delivery.attempts, retry),
      };
    });
    await this.pool.query(RECORD_SQL, [
      rows.map((row) => row.id),
      rows.map((row) => row.status),
      rows.map((row) => row.lastStatus),
      rows.map((row) => row.lastError),
      rows.map((row) => row.delayMs),
    ]);
  }

  private async deliver(delivery: DueDelivery): Promise<Outcome> {
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(), this.config.webhookRetry.timeoutMs);
    try {
      // Signed with wall-clock time: receivers check freshness against their own clock.
      const signature = signPayload(delivery.payload, delivery.secret, Math.floor(Date.now() / 1000));
      const status = await this.post(delivery.url, delivery.payload, signature, controller.signal);
      return { delivery, status, error: undefined };
    } catch (caught) {
      return {
        delivery,
        status: undefined,
        error: caught instanceof Error ? caught.message : String(caught),
      };
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
  }

  /** POSTs the signed event as Stripe does (no redirect followed); resolves with the answer's status. */
  private post(url: string, payload: string, signature: string, signal: AbortSignal): Promise<number> {
    return new Promise((resolve, reject) => {
      const target = new URL(url);
      const secure = target.protocol === 'https:';
      const request = (secure ? https : http).request(
        target,
        {
          method: 'POST',
          agent: secure ? this.agents.https : this.agents.http,
          signal,
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'content-length': Buffer.byteLength(payload),
            'stripe-signature': signature,
            'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
            accept: '*/*; q=0.5, application/xml',
            'cache-control': 'no-cache',
          },
        },
        (response) => {
          // The answer's body is read and dropped, so the connection is kept for the next delivery.
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
          response.on('error', reject);
          response.on('close', () => {
            if (!response.complete) reject(new Error('the connection closed before the answer was complete'));
          });
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
  }
}
