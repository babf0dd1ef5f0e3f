/**
 * The shared shape of every benchmark under `bench/`. `npm run bench` (bench/run.ts) imports each
 * `bench/<name>/run.ts`, calls its `run(options)`, and prints and saves the rows it returns.
 */

/** One measured line of the table. */
export interface BenchRow {
  /** What was measured, short and unique within the run (`payins saved-method closed x32`). */
  name: string;
  /** The conditions: concurrency or arrival rate, sizes, durability settings, process layout. */
  conditions: string;
  /** Operations per second (0 when the row measures something that is not a rate). */
  throughputPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Peak resident memory of the processes doing the work (the server processes where there are some). */
  peakRssMb: number;
  /**
   * The reference this throughput is compared with, measured in the same run on the same database
   * (pgbench's TPC-B for end-to-end work). The aggregator prints `throughputPerSec / reference.perSec`.
   */
  reference?: { name: string; perSec: number };
  /** Why there is no reference (pgbench not installed, say). */
  referenceMissing?: string;
  /** Anything else worth printing: counts, missed deadlines, sizes. */
  extra?: Record<string, string | number>;
}

export interface BenchOptions {
  /** Shorter phases and smaller sizes: a smoke run, not figures to quote. */
  quick?: boolean;
  /** Where to put temporary clusters (a fresh directory under it). */
  tmpDir?: string;
  /** Progress lines (stderr by default). */
  log?: (line: string) => void;
}

/** What `bench/<name>/run.ts` exports. */
export interface BenchModule {
  run(options: BenchOptions): Promise<BenchRow[]>;
}
