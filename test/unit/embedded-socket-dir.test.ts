import { describe, expect, it } from 'vitest';
import { socketDirFor } from '../../src/db/embedded.ts';

/** The embedded server's Unix socket goes in its data dir only where PostgreSQL can create it there. */
describe('the embedded server socket directory', () => {
  it('is the data dir when the socket path fits a socket address', () => {
    expect(socketDirFor('/tmp/bursar-data/pg', 54321)).toBe('/tmp/bursar-data/pg');
  });

  it('is none (TCP only) when the socket path would not fit 107 bytes, or the path holds a space, comma or quote', () => {
    expect(socketDirFor(`/tmp/${'d'.repeat(90)}/pg`, 54321)).toBe('');
    expect(socketDirFor('/tmp/my data/pg', 54321)).toBe('');
    expect(socketDirFor('/tmp/a,b/pg', 54321)).toBe('');
    expect(socketDirFor('/tmp/a"b/pg', 54321)).toBe('');
  });
});
