import fs from 'node:fs';

/** The p-th percentile (nearest rank) of ascending-sorted values; 0 for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? 0;
}

/** p50 and p99 of unsorted values, rounded to hundredths of a millisecond. */
export function latencySummary(values: readonly number[]): { p50Ms: number; p99Ms: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50Ms: Number(percentile(sorted, 50).toFixed(2)),
    p99Ms: Number(percentile(sorted, 99).toFixed(2)),
  };
}

/** Resident memory of a process in bytes, from /proc (Linux); 0 when it cannot be read (gone, or not Linux). */
export function rssBytesOf(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match?.[1] === undefined ? 0 : Number.parseInt(match[1], 10) * 1024;
  } catch {
    return 0;
  }
}

/**
 * Samples the resident memory of a set of processes every `intervalMs` and keeps the peak of each and of their
 * sum. Processes are added as they start; a process that exits keeps its peak.
 */
export class RssSampler {
  private readonly pids = new Set<number>();
  private readonly peaks = new Map<number, number>();
  private peakSum = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs = 200) {}

  track(pid: number | undefined): void {
    if (pid !== undefined) this.pids.add(pid);
  }

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
  }

  /** Starts a new measurement window (the peaks of earlier phases are forgotten). */
  reset(): void {
    this.peaks.clear();
    this.peakSum = 0;
    this.sample();
  }

  sample(): void {
    let sum = 0;
    for (const pid of this.pids) {
      const rss = rssBytesOf(pid);
      sum += rss;
      this.peaks.set(pid, Math.max(this.peaks.get(pid) ?? 0, rss));
    }
    this.peakSum = Math.max(this.peakSum, sum);
  }

  /** Peak of the sum of the tracked processes' memory, in MB. */
  peakTotalMb(): number {
    return Math.round(this.peakSum / 1024 / 1024);
  }

  /** Peak of the largest single tracked process, in MB. */
  peakLargestMb(): number {
    return Math.round(Math.max(0, ...this.peaks.values()) / 1024 / 1024);
  }
}
