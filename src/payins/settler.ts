import type { PoolClient } from '../db/pool.ts';
import { isRetryableTxError, withSavepoint, withTransaction } from '../db/tx.ts';
import type { PayinsRuntime } from './runtime.ts';
import { transitionDeps } from './service.ts';
import { settleOrder, settleOrders, type PspOutcome } from './settle.ts';
import type { ApplyResult } from './transitions.ts';
import { lockOrderRows } from './work-store.ts';

/** Most orders settled in one transaction (each under a savepoint; PostgreSQL caches 64 subtransactions). */
const SETTLE_BATCH = 32;

interface PendingSettlement {
  paymentOrderId: string;
  outcome: PspOutcome;
  resolve: (result: ApplyResult) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: ApplyResult } | { ok: false; error: unknown };

/**
 * Group commit of the executor's settlements: the PSP answers that arrive while a settling transaction runs are
 * settled together in the next one, each order under its own savepoint (one failing is rolled back and fails
 * alone; the others commit). The whole batch is first settled together, in a fixed number of statements
 * (`settleOrders`), under one savepoint; only if that fails are its orders settled one by one under their own
 * savepoints, so one bad order still fails alone. The batch locks all its orders first, in id order, before any
 * ledger account: it never holds the ledger's shared accounts while waiting for an order another transaction is
 * settling. One commit, and one hold of the ledger's shared accounts (the platform's, which every settlement
 * updates and keeps locked until its commit), serve the whole batch instead of one order. Each caller learns its
 * own order's result once the batch has committed. Should the batch fail as a whole (its commit, the connection),
 * every order is settled again in a transaction of its own.
 *
 * Gathering: while other PSP charges of this process are in flight (`whileCharging`), a batch smaller than the
 * most waits for their answers, up to `gatherMs`, before it starts: orders taken together are charged at the same
 * moment, and their answers, a few milliseconds apart, then share one transaction instead of one each.
 */
class Settler {
  private queue: PendingSettlement[] = [];
  private running = false;
  private charging = 0;
  private gathering: NodeJS.Timeout | undefined;

  constructor(
    private readonly runtime: PayinsRuntime,
    private readonly gatherMs: number,
  ) {}

  settle(paymentOrderId: string, outcome: PspOutcome): Promise<ApplyResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ paymentOrderId, outcome, resolve, reject });
      this.kick();
    });
  }

  /** Runs a PSP call whose answer is about to be settled here: batches waiting for answers count it. */
  async whileCharging<T>(call: () => Promise<T>): Promise<T> {
    this.charging++;
    try {
      return await call();
    } finally {
      this.charging--;
      // An answer that is not settled (a retry) must not keep a waiting batch waiting.
      if (this.charging === 0) queueMicrotask(() => this.kick());
    }
  }

  private kick(): void {
    if (this.running || this.queue.length === 0) return;
    const wait = this.charging > 0 && this.queue.length < SETTLE_BATCH && this.gatherMs > 0;
    if (wait) {
      this.gathering ??= setTimeout(() => this.start(), this.gatherMs);
      return;
    }
    this.start();
  }

  private start(): void {
    if (this.gathering) clearTimeout(this.gathering);
    this.gathering = undefined;
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    // The answers arriving in this turn of the event loop join the first batch.
    setImmediate(() => {
      void this.drain().finally(() => {
        this.running = false;
        this.kick();
      });
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) await this.run(this.queue.splice(0, SETTLE_BATCH));
  }

  private alone(item: PendingSettlement): Promise<void> {
    const deps = transitionDeps(this.runtime);
    return withTransaction(this.runtime.ctx.pool, (client) =>
      settleOrder(client, deps, item.paymentOrderId, item.outcome),
    ).then(item.resolve, item.reject);
  }

  private async run(batch: PendingSettlement[]): Promise<void> {
    const [single] = batch;
    if (batch.length === 1 && single !== undefined) return await this.alone(single);
    let results: Outcome[];
    try {
      results = await withTransaction(this.runtime.ctx.pool, (client) => this.settleBatch(client, batch));
    } catch (error) {
      this.runtime.ctx.log.warn(
        { err: error, orders: batch.length },
        'settling a batch failed as a whole; settling each order on its own',
      );
      for (const item of batch) await this.alone(item);
      return;
    }
    batch.forEach((item, index) => {
      const result = results[index];
      if (result?.ok === true) item.resolve(result.value);
      else item.reject(result?.error ?? new Error('not settled'));
    });
  }

  /** The batch in the caller's transaction: together if it can, else each order under its own savepoint. */
  private async settleBatch(client: PoolClient, batch: PendingSettlement[]): Promise<Outcome[]> {
    const ids = [...new Set(batch.map((item) => item.paymentOrderId))].sort();
    await lockOrderRows(client, ids);
    if (ids.length === batch.length) {
      const together = await this.settleTogether(client, batch);
      if (together !== undefined) return together.map((value) => ({ ok: true as const, value }));
    }
    const deps = transitionDeps(this.runtime);
    const out: Outcome[] = [];
    for (const item of batch) {
      try {
        const value = await withSavepoint(client, () =>
          settleOrder(client, deps, item.paymentOrderId, item.outcome),
        );
        out.push({ ok: true, value });
      } catch (error) {
        if (isRetryableTxError(error)) throw error;
        out.push({ ok: false, error });
      }
    }
    return out;
  }

  /**
   * The batch's orders settled together (`settleOrders`: a fixed number of statements for the batch) under one
   * savepoint; undefined when that failed (rolled back, logged), and the orders are to be settled one by one.
   */
  private async settleTogether(
    client: PoolClient,
    batch: PendingSettlement[],
  ): Promise<ApplyResult[] | undefined> {
    try {
      return await withSavepoint(client, () => settleOrders(client, transitionDeps(this.runtime), batch));
    } catch (error) {
      if (isRetryableTxError(error)) throw error;
      this.runtime.ctx.log.warn(
        { err: error, orders: batch.length },
        'settling a batch together failed; settling its orders one by one',
      );
      return undefined;
    }
  }
}

const settlers = new WeakMap<PayinsRuntime, Settler>();

function settlerOf(runtime: PayinsRuntime): Settler {
  let settler = settlers.get(runtime);
  if (settler === undefined) {
    settler = new Settler(runtime, runtime.config.gatherMs);
    settlers.set(runtime, settler);
  }
  return settler;
}

/** Settles one order's PSP answer with the others arriving meanwhile (see `Settler`); resolves after the commit. */
export function settleInBatch(
  runtime: PayinsRuntime,
  paymentOrderId: string,
  outcome: PspOutcome,
): Promise<ApplyResult> {
  return settlerOf(runtime).settle(paymentOrderId, outcome);
}

/** Runs the PSP call of an order whose answer will be settled by `settleInBatch` (batches wait for it a moment). */
export function chargingForSettlement<T>(runtime: PayinsRuntime, call: () => Promise<T>): Promise<T> {
  return settlerOf(runtime).whileCharging(call);
}
