import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { canUse, resolveRunAs } from '../../src/db/os-user.ts';

const asRoot = process.getuid?.() === 0;

describe('the account the embedded PostgreSQL runs as', () => {
  it('is this process itself when not root', (context) => {
    if (asRoot) return context.skip();
    expect(resolveRunAs({})).toMatchObject({ uid: undefined, gid: undefined });
  });

  it('is never root, and a named account that does not exist is refused', (context) => {
    if (!asRoot) return context.skip();
    const runAs = resolveRunAs({});
    expect(runAs.uid).toBeGreaterThan(0);
    expect(() => resolveRunAs({ BURSAR_PG_OS_USER: 'no_such_account_bursar' })).toThrow(/BURSAR_PG_OS_USER/);
  });

  it('is found unable to use a data dir it cannot enter, so start-up can say so plainly', (context) => {
    if (!asRoot) return context.skip();
    const runAs = resolveRunAs({});
    const closed = fs.mkdtempSync(path.join(os.tmpdir(), 'bursar-closed-'));
    const inner = path.join(closed, 'pg');
    fs.mkdirSync(inner);
    fs.chmodSync(closed, 0o700);
    try {
      expect(canUse(runAs, inner, process.execPath)).toBe(false);
      fs.chmodSync(closed, 0o711);
      fs.chownSync(inner, runAs.uid ?? 0, runAs.gid ?? 0);
      expect(canUse(runAs, inner, process.execPath)).toBe(true);
    } finally {
      fs.rmSync(closed, { recursive: true, force: true });
    }
  });
});
