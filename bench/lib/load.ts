import { spawn } from 'node:child_process';
import path from 'node:path';
import { RssSampler } from './stats.ts';

/** What the load generator (bench/lib/load-client.ts, a separate process) sends. */
export interface LoadSpec {
  /** Requests go round-robin over these (several API processes, no load balancer). */
  baseUrls: string[];
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path, headers and body are templates: `{{seq}}` is the request's number, `{{seq%N}}` it modulo N. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
  mode: 'closed' | 'open';
  /** Closed loop: clients, each waiting for its answer before its next request. */
  concurrency?: number;
  /** Open loop: arrivals per second. */
  ratePerSec?: number;
  /** Open loop: a request not answered this long after its scheduled time missed its deadline. */
  deadlineMs?: number;
  /** Open loop: requests beyond this many in flight are not sent and count as missed. */
  maxInFlight?: number;
  durationMs: number;
  /** Per-request timeout (30 s by default). */
  timeoutMs?: number;
  /** First `{{seq}}` (so that phases do not reuse ids). */
  seqStart?: number;
  /** Return `[seq, sentAtEpochMs, latencyMs, status]` per request. */
  recordSamples?: boolean;
}

export interface LoadResult {
  sent: number;
  completed: number;
  /** Answers by HTTP status; `error` for a connection error or timeout. */
  statuses: Record<string, number>;
  missedDeadlines: number;
  elapsedMs: number;
  throughputPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** The `{{seq}}` after the last one used. */
  nextSeq: number;
  samples: Array<[seq: number, sentAtEpochMs: number, latencyMs: number, status: number]>;
  /** Peak memory of the load generator itself, MB. */
  peakRssMb?: number;
}

const CLIENT = path.join(import.meta.dirname, 'load-client.ts');

/** Runs the load generator in its own Node process and returns what it measured. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLIENT, JSON.stringify(spec)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const sampler = new RssSampler(250);
  sampler.track(child.pid);
  sampler.start();
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const timer = setTimeout(
    () => child.kill('SIGKILL'),
    spec.durationMs + (spec.timeoutMs ?? 30_000) + 30_000,
  );
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  sampler.stop();
  const line = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || line === '')
    throw new Error(`the load generator failed (exit ${String(code)}): ${err.slice(-2000)}`);
  const result = JSON.parse(line) as LoadResult;
  result.peakRssMb = sampler.peakTotalMb();
  return result;
}
