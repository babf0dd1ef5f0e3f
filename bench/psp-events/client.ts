/**
 * The webhook sender of the PSP-event benchmark: a separate process (so that signing and sending do not share an
 * event loop with what is measured). It reads one event body per line from `file`, signs each as Stripe does
 * (`Stripe-Signature: t=<now>,v1=<HMAC-SHA256 of "t.body">`, signed when sent, so no signature is stale) and POSTs
 * them to the API's webhook route from `concurrency` clients in a closed loop (each sends its next event when the
 * previous one was answered) until every line was sent once. Spec as JSON in argv[2]; prints one JSON line.
 */
import fs from 'node:fs';
import http from 'node:http';
import { signPayload } from '../../src/webhooks/signature.ts';

export interface SenderSpec {
  url: string;
  secret: string;
  file: string;
  concurrency: number;
  timeoutMs?: number;
}

export interface SenderResult {
  sent: number;
  statuses: Record<string, number>;
  /** Answers `{ duplicate: true }`: the event id was stored already. */
  duplicates: number;
  firstSentAtMs: number;
  lastAnsweredAtMs: number;
  /** `[line, sentAtEpochMs, latencyMs, status]` per event. */
  samples: Array<[number, number, number, number]>;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as SenderSpec;
  const bodies = fs
    .readFileSync(spec.file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0);
  const url = new URL(spec.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const statuses: Record<string, number> = {};
  const samples: SenderResult['samples'] = [];
  let duplicates = 0;
  let next = 0;
  let firstSentAtMs = Number.POSITIVE_INFINITY;
  let lastAnsweredAtMs = 0;

  const post = (body: string): Promise<{ status: number; text: string }> =>
    new Promise((resolve) => {
      const payload = Buffer.from(body, 'utf8');
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': String(payload.length),
            'stripe-signature': signPayload(body, spec.secret, Math.floor(Date.now() / 1000)),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', () => resolve({ status: 0, text }));
        },
      );
      req.setTimeout(spec.timeoutMs ?? 30_000, () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve({ status: 0, text: '' }));
      req.end(payload);
    });

  const client = async () => {
    for (;;) {
      const line = next++;
      const body = bodies[line];
      if (body === undefined) return;
      const sentAt = Date.now();
      firstSentAtMs = Math.min(firstSentAtMs, sentAt);
      const t0 = performance.now();
      const answer = await post(body);
      const latency = performance.now() - t0;
      lastAnsweredAtMs = Math.max(lastAnsweredAtMs, Date.now());
      const key = answer.status === 0 ? 'error' : String(answer.status);
      statuses[key] = (statuses[key] ?? 0) + 1;
      if (answer.status === 200 && answer.text.includes('"duplicate":true')) duplicates++;
      samples.push([line, sentAt, Number(latency.toFixed(2)), answer.status]);
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, () => client()));
  agent.destroy();
  const result: SenderResult = {
    sent: samples.length,
    statuses,
    duplicates,
    firstSentAtMs,
    lastAnsweredAtMs,
    samples,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
