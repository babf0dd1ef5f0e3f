/**
 * The load generator: a separate process so that the load does not share an event loop (or a core's time slice)
 * with the code it measures. Started by bench/lib/load.ts with the spec as JSON in argv[2]; prints one JSON line
 * with the result on stdout.
 *
 * closed loop: `concurrency` clients, each sending its next request when the previous one answered.
 * open loop: requests at a fixed arrival rate whatever the answers; a request that has not answered within
 * `deadlineMs` of its scheduled time missed its deadline (as has one never sent because `maxInFlight` was reached).
 * Latency in open loop is counted from the scheduled time, so a slow server cannot hide its queue.
 */
import http from 'node:http';
import type { LoadResult, LoadSpec } from './load.ts';

function fill(template: string, seq: number): string {
  return template.replace(/\{\{seq(?:%(\d+))?\}\}/g, (_match, mod: string | undefined) =>
    String(mod === undefined ? seq : seq % Number.parseInt(mod, 10)),
  );
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: Math.max(64, spec.concurrency ?? 0, spec.maxInFlight ?? 0),
  });
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  const samples: Array<[number, number, number, number]> = [];
  let sent = 0;
  let completed = 0;
  let missedDeadlines = 0;
  let seq = spec.seqStart ?? 0;
  let inFlight = 0;
  const urls = spec.baseUrls.map((base) => new URL(base));

  const request = (n: number): Promise<number> =>
    new Promise((resolve) => {
      const base = urls[n % urls.length] ?? urls[0];
      if (base === undefined) return resolve(0);
      const body = spec.body === undefined ? undefined : Buffer.from(fill(spec.body, n));
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(spec.headers ?? {})) headers[name] = fill(value, n);
      if (body !== undefined) {
        headers['content-type'] ??= 'application/json';
        headers['content-length'] = String(body.length);
      }
      const req = http.request(
        {
          host: base.hostname,
          port: base.port,
          method: spec.method,
          path: fill(spec.path, n),
          headers,
          agent,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', () => resolve(0));
        },
      );
      req.setTimeout(spec.timeoutMs ?? 30_000, () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(0));
      if (body !== undefined) req.write(body);
      req.end();
    });

  const record = (n: number, startedEpochMs: number, latencyMs: number, status: number) => {
    completed++;
    const key = status === 0 ? 'error' : String(status);
    statuses[key] = (statuses[key] ?? 0) + 1;
    latencies.push(latencyMs);
    if (spec.recordSamples)
      samples.push([n, Math.round(startedEpochMs), Number(latencyMs.toFixed(2)), status]);
  };

  const started = performance.now();
  const epochAtStart = Date.now();
  const deadline = started + spec.durationMs;
  const wallOf = (t: number) => epochAtStart + (t - started);

  if (spec.mode === 'closed') {
    const client = async () => {
      while (performance.now() < deadline) {
        const n = seq++;
        sent++;
        const t0 = performance.now();
        const status = await request(n);
        record(n, wallOf(t0), performance.now() - t0, status);
      }
    };
    await Promise.all(Array.from({ length: spec.concurrency ?? 1 }, () => client()));
  } else {
    const rate = spec.ratePerSec ?? 1;
    const deadlineMs = spec.deadlineMs ?? 1000;
    const maxInFlight = spec.maxInFlight ?? 1000;
    const pending: Promise<void>[] = [];
    let i = 0;
    for (;;) {
      const scheduled = started + (i * 1000) / rate;
      if (scheduled >= deadline) break;
      const wait = scheduled - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      i++;
      const n = seq++;
      if (inFlight >= maxInFlight) {
        missedDeadlines++;
        continue;
      }
      sent++;
      inFlight++;
      pending.push(
        request(n).then((status) => {
          inFlight--;
          const latency = performance.now() - scheduled;
          if (latency > deadlineMs || status === 0 || status >= 500) missedDeadlines++;
          record(n, wallOf(scheduled), latency, status);
        }),
      );
    }
    await Promise.all(pending);
  }
  const elapsedMs = performance.now() - started;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (p: number) =>
    latencies.length === 0
      ? 0
      : (latencies[
          Math.min(latencies.length - 1, Math.max(0, Math.ceil((p / 100) * latencies.length) - 1))
        ] ?? 0);
  const result: LoadResult = {
    sent,
    completed,
    statuses,
    missedDeadlines,
    elapsedMs: Math.round(elapsedMs),
    throughputPerSec: Math.round((completed / elapsedMs) * 1000),
    p50Ms: Number(at(50).toFixed(2)),
    p99Ms: Number(at(99).toFixed(2)),
    nextSeq: seq,
    samples,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
