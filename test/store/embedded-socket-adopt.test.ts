import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.ts';
import { createPool } from '../../src/db/pool.ts';
import { createLogger } from '../../src/log.ts';

/**
 * A start that finds the embedded server already running uses it, over the Unix socket when the server has one
 * and over TCP when it has none (a server left running by a version from before the socket).
 */

let dataDir: string;
let server: EmbeddedPostgres;
const log = createLogger('silent');

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-socket-'));
  fs.chmodSync(dataDir, 0o755);
  server = await startEmbeddedPostgres({ dataDir, log, durability: 'relaxed' });
}, 120_000);

afterAll(async () => {
  await server.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function answers(url: string): Promise<boolean> {
  const pool = createPool(url, { max: 1 });
  try {
    const result = await pool.query<{ one: number }>('SELECT 1 AS one');
    return result.rows[0]?.one === 1;
  } finally {
    await pool.end();
  }
}

function socketDirOf(url: string): string {
  return new URL(url).searchParams.get('host') ?? '';
}

describe('a second start on a running embedded server', () => {
  it('uses the running server over its socket, and does not own it', async () => {
    const socketDir = socketDirOf(server.url);
    expect(socketDir).not.toBe('');
    expect(fs.existsSync(path.join(socketDir, `.s.PGSQL.${server.port}`))).toBe(true);
    const again = await startEmbeddedPostgres({ dataDir, log });
    expect(again.owned).toBe(false);
    expect(again.port).toBe(server.port);
    expect(socketDirOf(again.url)).toBe(socketDir);
    expect(await answers(again.url)).toBe(true);
  });

  it('falls back to TCP when the running server has no socket to reach', async () => {
    fs.unlinkSync(path.join(socketDirOf(server.url), `.s.PGSQL.${server.port}`));
    const again = await startEmbeddedPostgres({ dataDir, log });
    expect(again.owned).toBe(false);
    expect(socketDirOf(again.url)).toBe('');
    expect(again.url).toContain(`@127.0.0.1:${server.port}/`);
    expect(await answers(again.url)).toBe(true);
  });
});
