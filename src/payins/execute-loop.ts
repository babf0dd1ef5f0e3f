import { Wakeups } from '../jobs/wakeups.ts';
import type { Logger } from '../log.ts';
import { claimDueOrders, executeClaimed, type Claim } from './executor.ts';
import { EXECUTE_CHANNEL, type PayinsRuntime } from './runtime.ts';

/** At most this many orders are taken (and claimed in one transaction) at once. */
const MAX_BATCH = 32;

/**
 * A worker process's executor loop over the orders table itself (no job per order): it takes due orders in
 * batches (`claimDueOrders`: one transaction takes them with `FOR UPDATE SKIP LOCKED` and claims them, a
 * savepoint each should one fail), then runs each order's PSP call and settlement on its own, up to `concurrency`
 * at a time: a slow or failing order never holds the others. An order whose run fails is the sweeper's, as after
 * a crash (the claim set its sweep deadline). It is woken by `NOTIFY bursar_payins_execute` (the checkout's POST
 * and the hand-backs notify on commit), when a slot frees after a take that may have left due orders behind (it
 * filled every free slot), and every `claimPollMs` (retries that fell due, a lost notification or connection). A
 * take is a transaction even when nothing is due, so a finishing order does not wake the loop otherwise.
 */
export class ExecuteLoop {
  private inflight = 0;
  /** The last take filled every free slot: due orders may be waiting for one to free. */
  private full = false;
  private readonly wakeups: Wakeups;
  private readonly log: Logger;

  /** `inHand`: the orders being executed now (a stopping worker hands back those that do not finish). */
  constructor(
    private readonly runtime: PayinsRuntime,
    private readonly inHand: Set<string> = new Set(),
    private readonly concurrency: number = runtime.config.workerConcurrency,
  ) {
    this.log = runtime.ctx.log;
    this.wakeups = new Wakeups({
      pool: runtime.ctx.pool,
      channel: EXECUTE_CHANNEL,
      name: 'payins-execute',
      pollMs: runtime.config.claimPollMs,
      gatherMs: runtime.config.gatherMs,
      log: this.log,
      drain: () => this.drain(),
    });
  }

  async start(): Promise<void> {
    await this.wakeups.start();
  }

  /**
   * Stops taking orders, once a take in progress has returned: every order claimed is then in `inHand`, to finish
   * or be handed back.
   */
  async stop(): Promise<void> {
    await this.wakeups.stop();
    await this.wakeups.whenIdle();
  }

  /** Waits for a take in progress. */
  async flush(): Promise<void> {
    await this.wakeups.whenIdle();
  }

  private async drain(): Promise<void> {
    for (;;) {
      const free = this.concurrency - this.inflight;
      if (this.wakeups.isStopped) return;
      this.full = free <= 0;
      if (this.full) return;
      const wanted = Math.min(free, MAX_BATCH);
      const claims = await claimDueOrders(this.runtime, wanted);
      for (const [paymentOrderId, claim] of claims) this.begin(paymentOrderId, claim);
      if (claims.size < wanted) return;
    }
  }

  private begin(paymentOrderId: string, claim: Claim | Error): void {
    this.inflight++;
    this.inHand.add(paymentOrderId);
    void this.run(paymentOrderId, claim);
  }

  private async run(paymentOrderId: string, claim: Claim | Error): Promise<void> {
    try {
      if (claim instanceof Error) throw claim;
      await executeClaimed(this.runtime, claim);
    } catch (error) {
      // Out of the queue since the claim; its sweep deadline hands it to the sweeper, which asks the PSP first.
      this.log.error({ err: error, paymentOrderId }, 'payment order execution failed; the sweeper takes it');
    } finally {
      this.inHand.delete(paymentOrderId);
      this.inflight--;
    }
    if (this.full) this.wakeups.wake();
  }
}
