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

/** Backoff after the n-th failed attempt (1-based): base · 2^(n-1), capped. No jitter, so runs are reproducible. */
export function retryDelayMs(attempt: number, retry: SandboxConfig['webhookRetry']): number {
  return Math.min(retry.baseDelayMs * 2 ** Math.max(0, attempt - 1), retry.maxDelayMs);
}

/**
 * Works off `sandbox.webhook_deliveries`: claims due rows with a lease (so no transaction stays open during the
 * HTTP call, and several processes may share the table), POSTs each event signed as Stripe signs it, and records
 * success or schedules a retry with exponential backoff. A 2xx answer is success; anything else, a timeout or a
 * refused connection is a failure.
 */
export class WebhookDispatcher {
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private readonly inFlight = new Set<AbortController>();

  constructor(
    private readonly pool: Pool,
    private readonly config: SandboxConfig,
    private readonly log: Logger,
    private readonly pollMs = 250,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Looks for work now (called after a transaction that queued deliveries). */
  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const controller of this.inFlight) controller.abort();
    this.wake();
    await this.loop;
    this.loop = undefined;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let worked = false;
      try {
        worked = await this.deliverDue();
      } catch (error) {
        if (this.running) this.log.warn({ err: error }, 'sandbox webhook dispatcher: pass failed');
      }
      if (!this.running) break;
      if (!worked) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.pollMs);
          this.wakeUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeUp = undefined;
      }
    }
  }

  /** One pass: claims up to 20 due deliveries and sends them concurrently. Returns whether there was any. */
  async deliverDue(): Promise<boolean> {
    const leaseMs = this.config.webhookRetry.timeoutMs + 5000;
    const claimed = await this.pool.query<DueDelivery>(
      `WITH due AS (
         SELECT id FROM sandbox.webhook_deliveries
          WHERE status = 'pending' AND next_attempt_at <= now()
          ORDER BY next_attempt_at, id LIMIT 20 FOR UPDATE SKIP LOCKED)
       UPDATE sandbox.webhook_deliveries d
          SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $1::double precision / 1000)
         FROM due, sandbox.objects o
        WHERE d.id = due.id AND o.id = d.event_id
       RETURNING d.id, d.event_id, d.url, d.secret, d.attempts, jsonb_pretty(o.data) AS payload`,
      [leaseMs],
    );
    if (claimed.rows.length === 0) return false;
    // Sent in the order they became due; the reorder fault works through the due times.
    const sorted = [...claimed.rows].sort((a, b) => (a.id < b.id ? -1 : 1));
    await Promise.all(sorted.map((delivery) => this.deliver(delivery)));
    return true;
  }

  private async deliver(delivery: DueDelivery): Promise<void> {
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(), this.config.webhookRetry.timeoutMs);
    let status: number | undefined;
    let error: string | undefined;
    try {
      // Signed with wall-clock time: receivers check freshness against their own clock.
      const signature = signPayload(delivery.payload, delivery.secret, Math.floor(Date.now() / 1000));
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'stripe-signature': signature,
          'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        },
        body: delivery.payload,
        signal: controller.signal,
      });
      status = response.status;
      await response.arrayBuffer().catch(() => undefined);
    } catch (caught) {
      error = caught instanceof Error ? caught.message : String(caught);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
    const ok = status !== undefined && status >= 200 && status < 300;
    if (ok) {
      await this.pool.query(
        "UPDATE sandbox.webhook_deliveries SET status = 'delivered', delivered_at = now(), last_status = $2, last_error = NULL WHERE id = $1",
        [delivery.id, status],
      );
      return;
    }
    const retry = this.config.webhookRetry;
    const giveUp = delivery.attempts >= retry.maxAttempts;
    await this.pool.query(
      `UPDATE sandbox.webhook_deliveries
          SET status = $2, last_status = $3, last_error = $4,
              next_attempt_at = now() + make_interval(secs => $5::double precision / 1000)
        WHERE id = $1`,
      [
        delivery.id,
        giveUp ? 'failed' : 'pending',
        status ?? null,
        error ?? `HTTP ${status}`,
        retryDelayMs(delivery.attempts, retry),
      ],
    );
    this.log.debug(
      { event: delivery.event_id, url: delivery.url, status, error, attempt: delivery.attempts },
      'sandbox webhook delivery failed',
    );
  }
}
