import pg from 'pg';
import type { Logger } from '../log.ts';
import { connectionStringOf } from '../jobs/queue.ts';
import { claimOrders, executeClaimed, type Claim } from './executor.ts';
import { EXECUTE_QUEUE, type PayinsRuntime } from './runtime.ts';

/** The channel `POST /v1/payments` notifies (in its transaction, so on commit) when it queued orders to execute. */
export const EXECUTE_CHANNEL = 'bursar_payins_execute';

/** At most this many orders are claimed in one transaction. */
const MAX_BATCH = 32;

interface Job {
  id: string;
  data: { paymentOrderId: string };
}

/**
 * The executor's loop in a worker process. It takes due execution jobs in batches (one pg-boss fetch for up to
 * the free slots), claims their orders in one transaction (a savepoint each: one failing claim fails only its
 * order), then runs each order's PSP call and settlement on its own, up to `workerConcurrency` at a time: a slow
 * or failing order never holds the others. Finished jobs are completed together, one statement for all the
 * jobs that finished meanwhile. It is woken by `LISTEN`/`NOTIFY` when a checkout is created, when a slot frees,
 * and every `claimPollMs` (for retries that became due, and for a lost notification or connection).
 */
export class ExecuteLoop {
  private inflight = 0;
  private draining = false;
  private again = false;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private listener: pg.Client | undefined;
  private toComplete: string[] = [];
  private completing = false;
  private readonly log: Logger;

  /** `inHand`: the orders held now, by job id (a stopping worker hands them back). */
  constructor(
    private readonly runtime: PayinsRuntime,
    private readonly inHand: Map<string, string>,
  ) {
    this.log = runtime.ctx.log;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.listen();
    this.timer = setInterval(() => this.wake(), this.runtime.config.claimPollMs);
    this.timer.unref();
    this.wake();
  }

  /** Stops taking jobs; the orders in hand finish (or are handed back) through `inHand`. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
  }

  /** Jobs finished and not yet marked complete (for a stop to flush). */
  async flush(): Promise<void> {
    while (this.completing || this.toComplete.length > 0) {
      if (!this.completing) await this.completeFinished();
      else await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: connectionStringOf(this.runtime.ctx.pool),
      application_name: 'bursar-payins-wakeup',
    });
    const retry = () => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => undefined);
      // Until it is back, the poll still finds the work.
      setTimeout(() => void this.listen().catch(() => undefined), 1_000).unref();
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', () => this.wake());
    this.listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${EXECUTE_CHANNEL}`);
    } catch (error) {
      this.log.warn({ err: error }, 'execute loop: LISTEN failed; polling until it is back');
      retry();
    }
  }

  /** Runs a drain now, or right after the one running. */
  wake(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = true;
    this.drain()
      .catch((error: unknown) => this.log.warn({ err: error }, 'execute loop: taking jobs failed; will retry'))
      .finally(() => {
        this.draining = false;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async drain(): Promise<void> {
    for (;;) {
      const free = this.runtime.config.workerConcurrency - this.inflight;
      if (free <= 0 || this.stopped) return;
      const wanted = Math.min(free, MAX_BATCH);
      const jobs = await this.runtime.jobs.fetch<Job['data']>(EXECUTE_QUEUE, wanted);
      if (jobs.length === 0) return;
      await this.startBatch(jobs);
      if (jobs.length < wanted) return;
    }
  }

  private async startBatch(jobs: Job[]): Promise<void> {
    this.inflight += jobs.length;
    for (const job of jobs) this.inHand.set(job.id, job.data.paymentOrderId);
    let claims: Map<string, Claim | Error>;
    try {
      claims = await claimOrders(
        this.runtime,
        jobs.map((job) => job.data.paymentOrderId),
      );
    } catch (error) {
      // The batch's transaction itself failed (the database went away): no order was claimed. Each job fails;
      // the sweeper finds their orders, as after a crash.
      const failure = error instanceof Error ? error : new Error(String(error));
      claims = new Map(jobs.map((job) => [job.data.paymentOrderId, failure]));
    }
    const started = new Set<string>();
    for (const job of jobs) {
      const id = job.data.paymentOrderId;
      // Two jobs for one order in a batch (a hand-back and a sweep): the first executes, the other is done.
      const claim: Claim | Error | undefined = started.has(id)
        ? { skip: 'another job of this batch executes it' }
        : claims.get(id);
      started.add(id);
      void this.run(job, claim ?? new Error('not claimed'));
    }
  }

  private async run(job: Job, claim: Claim | Error): Promise<void> {
    const paymentOrderId = job.data.paymentOrderId;
    let ok = true;
    try {
      if (claim instanceof Error) throw claim;
      await executeClaimed(this.runtime, claim);
    } catch (error) {
      ok = false;
      this.log.error({ err: error, paymentOrderId }, 'payment order execution failed; the sweeper will see it');
    } finally {
      this.inHand.delete(job.id);
      this.inflight--;
    }
    if (ok) {
      this.toComplete.push(job.id);
      void this.completeFinished();
    } else {
      await this.runtime.jobs.fail(EXECUTE_QUEUE, [job.id]).catch(() => undefined);
    }
    this.wake();
  }

  /** Marks every finished job complete in one statement; those finishing meanwhile go in the next one. */
  private async completeFinished(): Promise<void> {
    if (this.completing || this.toComplete.length === 0) return;
    this.completing = true;
    const ids = this.toComplete;
    this.toComplete = [];
    try {
      await this.runtime.jobs.complete(EXECUTE_QUEUE, ids);
    } catch (error) {
      // The orders are final or scheduled again; an active job left behind expires on its own.
      this.log.warn({ err: error, jobs: ids.length }, 'execute loop: completing jobs failed');
    } finally {
      this.completing = false;
    }
    if (this.toComplete.length > 0) void this.completeFinished();
  }
}
