import net from 'node:net';

/**
 * A port for a child process to listen on. Ports a test picks, releases and hands to a child can be taken in
 * between; the usual taker is the kernel handing out ephemeral ports (32768–60999 on Linux) to outgoing
 * connections and `listen(0)` calls. So the port comes from below that range, from a slice of its own per
 * Vitest worker, and is checked free before it is handed out.
 */
const FIRST = 20_000;
const SLICE = 1_500;
const used = new Set<number>();

function slice(): { start: number; size: number } {
  const pool = Number.parseInt(process.env.VITEST_POOL_ID ?? '1', 10);
  const index = Number.isInteger(pool) && pool > 0 ? (pool - 1) % 8 : 0;
  return { start: FIRST + index * SLICE, size: SLICE };
}

async function isFree(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function testPort(): Promise<number> {
  const { start, size } = slice();
  for (let tries = 0; tries < size; tries++) {
    const port = start + Math.floor(Math.random() * size);
    if (used.has(port)) continue;
    used.add(port);
    if (await isFree(port)) return port;
  }
  throw new Error('no free test port left in this worker’s slice');
}
