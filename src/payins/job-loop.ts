import pg from 'pg';
import type { Logger } from '../log.ts';
import { connectionStringOf } from '../jobs/queue.ts';
import { claimOrders, executeClaimed, type Claim } from './executor.ts';
import { EXECUTE_CHANNEL, EXECUTE_QUEUE, type PayinsRuntime } from './runtime.ts';

/** At most this many jobs are taken (and orders claimed in one transaction) at once. */
const MAX_BATCH = 32;

interface Job<T> {
  id: string;
  data: T;
}

/** What a loop runs: the jobs of `queue`, woken on `channel`; `prepare` turns a batch into one runner per job. */
export interface JobLoopSpec<T> {
  name: string;
  queue: string;
  channel: string;
  concurrency: number;
  /** Shared work for the batch (one transaction for all of it, say), then each job's own work. */
  prepare(jobs: Job<T>[]): Promise<Map<string, () => Promise<void>>>;
  /** What the job holds, for `inHand` (a stopping worker hands orders back). */
  holds?(job: Job<T>): string | undefined;
}

/**
 * A worker process's loop over one pg-boss queue, instead of one polling pg-boss worker per concurrent job. It
 * takes due jobs in batches (one fetch for up to the free slots), lets `prepare` do the batch's shared work (the
 * executor claims all the batch's orders in one transaction), then runs each job on its own, up to `concurrency`
 * at a time: a slow or failing job never holds the others, and a failed job is failed alone. Finished jobs are
 * completed together, one statement for all the jobs that finished meanwhile. It is woken by `LISTEN`/`NOTIFY`
 * (the transaction that queued the work notifies on commit), when a slot frees, and every `claimPollMs` (for
 * retries that became due, and for a lost notification or connection).
 */
export class JobLoop<T extends object> {
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
    private readonly spec: JobLoopSpec<T>,
    private readonly inHand: Map<string, string> = new Map(),
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
      application_name: `bursar-${this.spec.name}-wakeup`,
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
      await client.query(`LISTEN ${this.spec.channel}`);
    } catch (error) {
      this.log.warn({ err: error }, `${this.spec.name} loop: LISTEN failed; polling until it is back`);
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
      .catch((error: unknown) =>
        this.log.warn({ err: error }, `${this.spec.name} loop: taking jobs failed; will retry`),
      )
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
      const free = this.spec.concurrency - this.inflight;
      if (free <= 0 || this.stopped) return;
      const wanted = Math.min(free, MAX_BATCH);
      const jobs = await this.runtime.jobs.fetch<T>(this.spec.queue, wanted);
      if (jobs.length === 0) return;
      await this.startBatch(jobs);
      if (jobs.length < wanted) return;
    }
  }

  private async startBatch(jobs: Job<T>[]): Promise<void> {
    this.inflight += jobs.length;
    for (const job of jobs) {
      const held = this.spec.holds?.(job);
      if (held !== undefined) this.inHand.set(job.id, held);
    }
    let runners: Map<string, () => Promise<void>>;
    try {
      runners = await this.spec.prepare(jobs);
    } catch (error) {
      runners = new Map(jobs.map((job) => [job.id, () => Promise.reject(error)]));
    }
    for (const job of jobs)
      void this.run(job, runners.get(job.id) ?? (() => Promise.reject(new Error('not prepared'))));
  }

  private async run(job: Job<T>, runner: () => Promise<void>): Promise<void> {
    let ok = true;
    try {
      await runner();
    } catch (error) {
      ok = false;
      this.log.error({ err: error, job: job.id, data: job.data }, `${this.spec.name} job failed`);
    } finally {
      this.inHand.delete(job.id);
      this.inflight--;
    }
    if (ok) {
      this.toComplete.push(job.id);
      void this.completeFinished();
    } else {
      await this.runtime.jobs.fail(this.spec.queue, [job.id]).catch(() => undefined);
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
      await this.runtime.jobs.complete(this.spec.queue, ids);
    } catch (error) {
      // The orders are final or scheduled again; an active job left behind expires on its own.
      this.log.warn({ err: error, jobs: ids.length }, `${this.spec.name} loop: completing jobs failed`);
    } finally {
      this.completing = false;
    }
    if (this.toComplete.length > 0) void this.completeFinished();
  }
}

/**
 * The executor's loop: a batch's orders are claimed in one transaction (a savepoint each: one failing claim fails
 * only its order; the batch's transaction failing fails each job, and the sweeper finds their orders as after a
 * crash), then each order's PSP call and settlement runs on its own.
 */
export function executeLoop(runtime: PayinsRuntime, inHand: Map<string, string>): JobLoop<ExecuteJob> {
  return new JobLoop<ExecuteJob>(
    runtime,
    {
      name: 'payins-execute',
      queue: EXECUTE_QUEUE,
      channel: EXECUTE_CHANNEL,
      concurrency: runtime.config.workerConcurrency,
      holds: (job) => job.data.paymentOrderId,
      prepare: async (jobs) => {
        const claims = await claimOrders(
          runtime,
          jobs.map((job) => job.data.paymentOrderId),
        );
        const runners = new Map<string, () => Promise<void>>();
        const started = new Set<string>();
        for (const job of jobs) {
          const id = job.data.paymentOrderId;
          // Two jobs for one order in a batch (a hand-back and a sweep): the first executes, the other is done.
          const claim: Claim | Error | undefined = started.has(id)
            ? { skip: 'another job of this batch executes it' }
            : claims.get(id);
          started.add(id);
          runners.set(job.id, async () => {
            if (claim === undefined || claim instanceof Error) throw claim ?? new Error('not claimed');
            await executeClaimed(runtime, claim);
          });
        }
        return runners;
      },
    },
    inHand,
  );
}

interface ExecuteJob {
  paymentOrderId: string;
}
