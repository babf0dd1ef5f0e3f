import PgBoss from 'pg-boss';
import { createHash } from 'node:crypto';
import { preparedQuery, type Pool, type Queryable } from '../db/pool.ts';

/** pg-boss keeps its tables in this schema of our database, so a job commits or rolls back with our data. */
export const PGBOSS_SCHEMA = 'pgboss';

export interface SendOptions {
  /** Run no earlier than this many milliseconds from now. */
  startAfterMs?: number;
  /** At most one queued (not yet started) job per key and queue: a second send is a no-op. */
  singletonKey?: string;
}

/** Enqueues jobs on the caller's connection, i.e. inside the caller's open transaction. */
export interface JobSender {
  send(
    db: Queryable,
    queue: string,
    data: Record<string, unknown>,
    options?: SendOptions,
  ): Promise<string | null>;
}

/**
 * pg-boss's statements on the caller's connection, each prepared under a name derived from its text: pg-boss sends
 * the same fixed text for every job (its schema name is the only thing put into it), so each connection plans its
 * insert once instead of on every send.
 */
function wrap(db: Queryable): PgBoss.Db {
  return {
    executeSql: async (text: string, values: unknown[]) => {
      const result = await preparedQuery(db, statementName(text), text, values);
      return { rows: result.rows };
    },
  };
}

const names = new Map<string, string>();

/** `pgboss_` and the first 24 hex digits of the text's SHA-256: one name per text, the same in every process. */
function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `pgboss_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    if (names.size < 100) names.set(text, name);
  }
  return name;
}

function sendOptions(db: Queryable, options: SendOptions): PgBoss.SendOptions {
  const result: PgBoss.SendOptions = {
    db: wrap(db),
    // Retries are ours (src/jobs/backoff.ts and the callers' policies): pg-boss only carries and expires jobs.
    retryLimit: 0,
  };
  if (options.startAfterMs !== undefined && options.startAfterMs > 0) {
    // Seconds relative to the database's clock (pg-boss adds them to now()), so app clock skew does not matter.
    result.startAfter = options.startAfterMs / 1000;
  }
  if (options.singletonKey !== undefined) result.singletonKey = options.singletonKey;
  return result;
}

/** The connection string of our pool, so pg-boss opens its own small pool to the same database. */
export function connectionStringOf(pool: Pool): string {
  const url = pool.options.connectionString;
  if (url === undefined) throw new Error('the pool has no connection string; pg-boss needs one');
  return url;
}

/**
 * A pg-boss instance on our database. pg-boss gets its own small connection pool (it parses rows with pg's
 * default types, which our bigint-returning pool would break), and sends go through the caller's connection.
 */
export class JobQueue implements JobSender {
  readonly boss: PgBoss;
  private users = 0;
  private starting: Promise<void> | undefined;
  private readonly queues: string[];

  constructor(pool: Pool, queues: string[], options: { supervise?: boolean; max?: number } = {}) {
    this.queues = queues;
    this.boss = new PgBoss({
      connectionString: connectionStringOf(pool),
      schema: PGBOSS_SCHEMA,
      max: options.max ?? 2,
      application_name: 'bursar-jobs',
      supervise: options.supervise ?? false,
      schedule: false,
      migrate: true,
    });
    // pg-boss reports worker and maintenance errors as events; without a listener Node would crash the process.
    this.boss.on('error', () => undefined);
  }

  /**
   * Creates pg-boss's schema when missing (under its advisory lock) and our queues. Safe to call in every process.
   * Each `start` is matched by a `stop`: the API and the workers of one process share the instance, and it stops
   * when the last of them lets go.
   */
  async start(): Promise<void> {
    this.users++;
    this.starting ??= (async () => {
      await this.boss.start();
      for (const name of this.queues) {
        const existing = await this.boss.getQueue(name);
        if (!existing) await this.boss.createQueue(name, { name, policy: 'standard', retryLimit: 0 });
      }
    })();
    try {
      await this.starting;
    } catch (error) {
      this.users--;
      this.starting = undefined;
      throw error;
    }
  }

  async stop(): Promise<void> {
    if (this.users === 0) return;
    this.users--;
    if (this.users > 0) return;
    this.starting = undefined;
    await this.boss.stop({ graceful: true, timeout: 10_000, wait: true });
  }

  async send(
    db: Queryable,
    queue: string,
    data: Record<string, unknown>,
    options: SendOptions = {},
  ): Promise<string | null> {
    return await this.boss.send(queue, data, sendOptions(db, options));
  }

  /**
   * Takes up to `batchSize` jobs of `queue` that are due (one statement, `FOR UPDATE SKIP LOCKED`): they are
   * active until `complete` or `fail`. For callers that run their own loop instead of `work`.
   */
  async fetch<T extends object>(queue: string, batchSize: number): Promise<{ id: string; data: T }[]> {
    const jobs = await this.boss.fetch<T>(queue, { batchSize });
    return jobs.map((job) => ({ id: job.id, data: job.data }));
  }

  /** Marks fetched jobs done (one statement for all of them). */
  async complete(queue: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.boss.complete(queue, ids);
  }

  /** Marks fetched jobs failed (no retry: retries are ours). */
  async fail(queue: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.boss.fail(queue, ids);
  }

  /** Stops the given workers (ids from `work`) from taking new jobs. */
  async offWork(ids: string[]): Promise<void> {
    for (const id of ids) await this.boss.offWork({ id });
  }

  /** Runs `handler` for each job of `queue`, `concurrency` at a time. A thrown error fails the job (no retry). */
  async work<T extends object>(
    queue: string,
    options: { concurrency?: number; pollingIntervalSeconds?: number },
    handler: (data: T, jobId: string) => Promise<void>,
  ): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < (options.concurrency ?? 1); i++) {
      // The worker's id is known once `work` returns; its first job may in principle start before that.
      const worker: { id?: string } = {};
      const id = await this.boss.work<T>(
        queue,
        { batchSize: 1, pollingIntervalSeconds: options.pollingIntervalSeconds ?? 1 },
        async (jobs) => {
          for (const job of jobs) await handler(job.data, job.id);
          // pg-boss waits a whole polling interval after every fetch, even one that found a job, which caps a
          // worker at one job per interval. While there is work, it asks again at once; an empty queue still waits.
          if (jobs.length > 0 && worker.id !== undefined) this.boss.notifyWorker(worker.id);
        },
      );
      worker.id = id;
      ids.push(id);
    }
    return ids;
  }
}
