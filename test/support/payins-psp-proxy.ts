import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PspProxy {
  port: number;
  /** Resolves with the PSP's answer (status and body) to the first request `hold` picked, once the PSP answered. */
  held: Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

/**
 * An HTTP proxy on 127.0.0.1 in front of the PSP, for crash tests: every request goes through to the PSP, but the
 * answer to the first one `hold` picks is kept from the caller (its connection stays open and silent) and handed
 * to the test instead — the moment after the PSP acted and before the caller heard of it, when the test kills the
 * caller.
 */
export async function startPspProxy(
  targetPort: number,
  hold: (method: string, path: string) => boolean,
): Promise<PspProxy> {
  let holding = false;
  let resolveHeld: (answer: { status: number; body: string }) => void = () => undefined;
  const held = new Promise<{ status: number; body: string }>((resolve) => (resolveHeld = resolve));
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const method = request.method ?? 'GET';
      const path = request.url ?? '/';
      const keep = !holding && hold(method, path.split('?')[0] ?? path);
      if (keep) holding = true;
      const upstream = http.request(
        { host: '127.0.0.1', port: targetPort, method, path, headers: request.headers },
        (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => body.push(chunk));
          answer.on('end', () => {
            const text = Buffer.concat(body).toString('utf8');
            if (keep) {
              resolveHeld({ status: answer.statusCode ?? 0, body: text });
              return;
            }
            response.writeHead(answer.statusCode ?? 502, answer.headers).end(text);
          });
        },
      );
      upstream.on('error', () => response.destroy());
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    held,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
